import Foundation
import HTTPTypes
import Hummingbird
import VaultCore
import VaultStore

/// Account links: `POST /v1/links`, `GET /v1/links[/{siteUID}]`, `DELETE /v1/links/{siteUID}`.
struct LinksController: Sendable {
    let links: AccountLinkService
    let metrics: VaultMetrics

    static let maxBodyBytes = 4096

    func addRoutes(to router: Router<VaultRequestContext>, authenticator: AccessKeyAuthenticator) {
        let group = router.group("/v1/links")
            .add(middleware: AccessRefusalCounter(metrics: metrics))
            .add(middleware: authenticator)
            .add(middleware: BodyLimitMiddleware(bytes: Self.maxBodyBytes))
        group.post { request, context in try await self.create(request, context: context) }
        group.get { request, context in try await self.list(request, context: context) }
        group.get("{siteUID}") { request, context in try await self.show(request, context: context) }
        group.delete("{siteUID}") { request, context in try await self.forget(request, context: context) }
    }

    /// The request body of `POST /v1/links`.
    private struct LinkRequest: Decodable, NamedFields {
        let uid: String?
        let siteUID: String?
        let via: String?
        let site: String?

        static let fieldNames: Set<String> = ["uid", "siteUID", "via", "site"]
    }

    /// A link as the API shows it.
    struct LinkBody: ResponseEncodable {
        let id: String
        let site: String
        let uid: String
        let siteUID: String
        let via: String
        let status: String
        let attempts: Int
        let lastErrorCode: Int?
        let lastErrorMessage: String?
        let requestedBy: String
        let createdAt: Date
        let updatedAt: Date
        let linkedAt: Date?

        init(_ link: AccountLink) {
            id = link.id.uuidString.lowercased()
            site = link.site
            uid = link.uid
            siteUID = link.siteUID
            via = link.via.rawValue
            status = link.status.rawValue
            attempts = link.attempts
            lastErrorCode = link.lastErrorCode
            lastErrorMessage = link.lastErrorMessage
            requestedBy = link.requestedBy
            createdAt = link.createdAt
            updatedAt = link.updatedAt
            linkedAt = link.linkedAt
        }
    }

    private struct LinkList: ResponseEncodable {
        let links: [LinkBody]
        let nextCursor: String?
    }

    private func create(_ request: Request, context: VaultRequestContext) async throws -> EditedResponse<LinkBody> {
        try context.require(.linksWrite)
        let body = try await request.decode(as: LinkRequest.self, context: context)
        guard let uid = body.uid else { throw APIError.badRequest("missing_field", "the field 'uid' is required", field: "uid") }
        guard let siteUID = body.siteUID else { throw APIError.badRequest("missing_field", "the field 'siteUID' is required", field: "siteUID") }
        let via: LinkMethod
        if let name = body.via {
            guard let parsed = LinkMethod(rawValue: name) else {
                throw APIError.badRequest("invalid_field", "the field 'via' must be notifyRegistration or setUID", field: "via")
            }
            via = parsed
        } else {
            via = .notifyRegistration
        }
        let site = try links.site(apiKey: body.site ?? request.site)
        try context.requireSite(site.apiKey)
        let (link, created) = try await links.request(site: site, uid: uid, siteUID: siteUID, via: via, actor: actor(context))
        return EditedResponse(
            status: created ? .accepted : .ok, headers: [.location: "/v1/links/\(Self.pathEscaped(link.siteUID))"], response: LinkBody(link))
    }

    private func show(_ request: Request, context: VaultRequestContext) async throws -> LinkBody {
        try context.requireAny([.linksRead, .linksWrite])
        let (site, siteUID) = try target(request, context)
        guard let link = try await links.link(site: site, siteUID: siteUID) else { throw APIError.linkNotFound }
        return LinkBody(link)
    }

    private func list(_ request: Request, context: VaultRequestContext) async throws -> LinkList {
        try context.requireAny([.linksRead, .linksWrite])
        // Pending includes the links a worker is sending now.
        let statuses = try request.query("status", rule: "status must be pending, linked or failed") { name -> [LinkStatus]? in
            switch LinkStatus(rawValue: name) {
            case .pending: [.pending, .processing]
            case .processing, nil: nil
            case let status?: [status]
            }
        }
        let limit = try request.limit()
        let after = try request.query("after", rule: "the cursor is not one this server gave", LinkCursor.init)
        var sites: [String]?
        if let site = request.site {
            try context.requireSite(site)
            sites = [site]
        } else if case .only(let granted)? = context.accessKey?.sites {
            sites = granted
        }
        let page = try await links.links(sites: sites, statuses: statuses, limit: limit, after: after)
        return LinkList(links: page.links.map(LinkBody.init), nextCursor: page.nextCursor)
    }

    private func forget(_ request: Request, context: VaultRequestContext) async throws -> LinkBody {
        try context.require(.linksWrite)
        let (site, siteUID) = try target(request, context)
        guard let link = try await links.forget(site: site, siteUID: siteUID, actor: actor(context)) else { throw APIError.linkNotFound }
        return LinkBody(link)
    }

    /// The site (from `?site=`, required when several are configured, and granted to the key) and the `{siteUID}`,
    /// decoded and checked with Gigya's siteUID rules.
    private func target(_ request: Request, _ context: VaultRequestContext) throws -> (site: String, siteUID: String) {
        let siteUID = try context.pathParameter("siteUID") { siteUID in
            try AccountLinkService.validateSiteUID(siteUID)
            return siteUID
        }
        let site = try links.site(apiKey: request.site)
        try context.requireSite(site.apiKey)
        return (site.apiKey, siteUID)
    }

    private func actor(_ context: VaultRequestContext) -> AccessActor {
        AccessActor(keyID: context.accessKey?.id, name: context.accessKey?.name ?? "unknown")
    }

    /// A siteUID as a path segment.
    static func pathEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}
