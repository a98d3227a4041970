import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat
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
        group.post { request, context in try await self.create(request, context: context) }
        group.get { request, context in try await self.list(request, context: context) }
        group.get("{siteUID}") { request, context in try await self.show(request, context: context) }
        group.delete("{siteUID}") { request, context in try await self.forget(request, context: context) }
    }

    /// The request body of `POST /v1/links`.
    private struct LinkRequest: Decodable {
        let uid: String?
        let siteUID: String?
        let via: String?
        let site: String?
    }

    /// A link as the API shows it.
    struct LinkBody: Encodable {
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

    private struct LinkList: Encodable {
        let links: [LinkBody]
        let nextCursor: String?
    }

    private func create(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.require(.linksWrite)
        var request = request
        let bytes = try await request.collectBody(
            upTo: Self.maxBodyBytes,
            refusing: APIError(.contentTooLarge, code: "payload_too_large", message: "link requests are limited to \(Self.maxBodyBytes) bytes"))
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard mediaType == "application/json" else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send application/json")
        }
        let data = Data(buffer: bytes)
        let body: LinkRequest
        do {
            body = try JSONDecoder().decode(LinkRequest.self, from: data)
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            let field = context.codingPath[0].stringValue
            throw APIError.badRequest("invalid_field", "the field '\(field)' must be a string", field: field)
        } catch {
            throw APIError.badRequest("malformed_body", "the body must be a JSON object")
        }
        if let repeated = LoginCallbackController.repeatedTopLevelKey(data) {
            throw APIError.badRequest("duplicate_field", "a field appears more than once in the body", field: repeated)
        }
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
        do {
            let site = try links.site(apiKey: body.site ?? request.uri.queryParameters.get("site"))
            try context.requireSite(site.apiKey)
            let (link, created) = try await links.request(site: site, uid: uid, siteUID: siteUID, via: via, actor: actor(context))
            return try JSONResponse.make(
                LinkBody(link), status: created ? .accepted : .ok, headers: [.location: "/v1/links/\(Self.pathEscaped(link.siteUID))"])
        } catch let error as LinkRequestError {
            throw APIError(error)
        }
    }

    private func show(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.requireAny([.linksRead, .linksWrite])
        let (site, siteUID) = try target(request, context)
        guard let link = try await links.link(site: site, siteUID: siteUID) else { throw APIError.linkNotFound }
        return try JSONResponse.make(LinkBody(link), status: .ok)
    }

    private func list(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.requireAny([.linksRead, .linksWrite])
        let query = request.uri.queryParameters
        var status: LinkStatus?
        if let name = query.get("status") {
            guard let parsed = LinkStatus(rawValue: name), parsed != .processing else {
                throw APIError.badRequest("invalid_query", "status must be pending, linked or failed", field: "status")
            }
            status = parsed
        }
        var limit = 100
        if let text = query.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError.badRequest("invalid_query", "limit must be 1-1000", field: "limit")
            }
            limit = value
        }
        var sites: [String]?
        if let site = query.get("site") {
            try context.requireSite(site)
            sites = [site]
        } else if case .only(let granted)? = context.accessKey?.sites {
            sites = granted
        }
        do {
            // Pending includes the links a worker is sending now.
            let statuses: [LinkStatus]? = status.map { $0 == .pending ? [.pending, .processing] : [$0] }
            let page = try await links.links(sites: sites, statuses: statuses, limit: limit, after: query.get("after"))
            return try JSONResponse.make(LinkList(links: page.links.map(LinkBody.init), nextCursor: page.nextCursor), status: .ok)
        } catch let error as VaultStoreError {
            throw APIError.badRequest("invalid_query", error.description, field: "after")
        }
    }

    private func forget(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.require(.linksWrite)
        let (site, siteUID) = try target(request, context)
        guard let link = try await links.forget(site: site, siteUID: siteUID, actor: actor(context)) else { throw APIError.linkNotFound }
        return try JSONResponse.make(LinkBody(link), status: .ok)
    }

    /// The site (from `?site=`, required when several are configured, and granted to the key) and the `{siteUID}`.
    private func target(_ request: Request, _ context: VaultRequestContext) throws -> (site: String, siteUID: String) {
        let siteUID = try context.decodedParameter("siteUID")
        do {
            let site = try links.site(apiKey: request.uri.queryParameters.get("site"))
            try context.requireSite(site.apiKey)
            try AccountLinkService.validateSiteUID(siteUID)
            return (site.apiKey, siteUID)
        } catch let error as LinkRequestError {
            if case .invalidField(_, let rule) = error {
                throw APIError.badRequest("invalid_path_parameter", "the path parameter 'siteUID' \(rule)", field: "siteUID")
            }
            throw APIError(error)
        }
    }

    private func actor(_ context: VaultRequestContext) -> AccessActor {
        AccessActor(keyID: context.accessKey?.id, name: context.accessKey?.name ?? "unknown")
    }

    /// A siteUID as a path segment.
    static func pathEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}
