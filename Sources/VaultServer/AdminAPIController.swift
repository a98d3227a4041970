import Foundation
import HTTPTypes
import Hummingbird
import VaultCore
import VaultStore

/// The admins' API: `GET /v1/admin/reconciliations/latest` (scope `admin`).
struct AdminAPIController: Sendable {
    let store: any ReconciliationStore
    let metrics: VaultMetrics

    func addRoutes(to router: Router<VaultRequestContext>, authenticator: AccessKeyAuthenticator) {
        router.group("/v1/admin")
            .add(middleware: AccessRefusalCounter(metrics: metrics))
            .add(middleware: authenticator)
            .get("reconciliations/latest") { request, context in try await self.latest(request, context: context) }
    }

    private struct Report: ResponseEncodable {
        let run: ReconciliationRun
        let items: [ReconciliationItem]
        let nextCursor: String?
    }

    /// The newest run (of `?site=` when given) with its counts, and its findings (`?category=`, `?limit=`, `?after=`).
    private func latest(_ request: Request, context: VaultRequestContext) async throws -> Report {
        try context.require(.admin)
        let site = request.site
        if let site { try context.requireSite(site) }
        let category = try request.query(
            "category", rule: "category must be one of \(ReconciliationCategory.allCases.map(\.rawValue).joined(separator: ", "))",
            ReconciliationCategory.init(rawValue:))
        let limit = try request.limit()
        guard let run = try await store.latestRun(site: site) else {
            throw APIError(.notFound, code: "no_reconciliation", message: "no reconciliation has run yet")
        }
        try context.requireSite(run.site)
        let items = try await store.items(runID: run.id, category: category, limit: limit + 1, after: request.uri.queryParameters.get("after"))
        let page = Array(items.prefix(limit))
        return Report(run: run, items: page, nextCursor: items.count > limit ? page.last?.key : nil)
    }
}
