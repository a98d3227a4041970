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

    private struct Report: Encodable {
        let run: ReconciliationRun
        let items: [ReconciliationItem]
        let nextCursor: String?
    }

    /// The newest run (of `?site=` when given) with its counts, and its findings (`?category=`, `?limit=`, `?after=`).
    private func latest(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.require(.admin)
        let query = request.uri.queryParameters
        let site = query.get("site")
        if let site { try context.requireSite(site) }
        var category: ReconciliationCategory?
        if let name = query.get("category") {
            guard let parsed = ReconciliationCategory(rawValue: name) else {
                throw APIError.badRequest(
                    "invalid_query", "category must be one of \(ReconciliationCategory.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "category")
            }
            category = parsed
        }
        var limit = 100
        if let text = query.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError.badRequest("invalid_query", "limit must be 1-1000", field: "limit")
            }
            limit = value
        }
        guard let run = try await store.latestRun(site: site) else {
            throw APIError(.notFound, code: "no_reconciliation", message: "no reconciliation has run yet")
        }
        try context.requireSite(run.site)
        let items = try await store.items(runID: run.id, category: category, limit: limit + 1, after: query.get("after"))
        let page = Array(items.prefix(limit))
        return try JSONResponse.make(Report(run: run, items: page, nextCursor: items.count > limit ? page.last?.key : nil), status: .ok)
    }
}
