import Foundation
import HTTPTypes
import Hummingbird
import Logging
import VaultCore
import VaultStore

/// The read API for the site's backends: `/v1/users/{uid}/sessions[/{provider}[/refresh]]`.
struct SessionsController: Sendable {
    let service: SessionService
    let metrics: VaultMetrics

    func addRoutes(to router: Router<VaultRequestContext>, authenticator: AccessKeyAuthenticator) {
        let group = router.group("/v1/users/{uid}/sessions")
            .add(middleware: AccessRefusalCounter(metrics: metrics))
            .add(middleware: authenticator)
        group.get { request, context in try await self.list(request, context: context) }
        group.delete { request, context in try await self.delete(request, context: context, provider: nil) }
        group.get("{provider}") { request, context in try await self.read(request, context: context) }
        group.delete("{provider}") { request, context in
            try await self.delete(request, context: context, provider: try Self.provider(context))
        }
        group.post("{provider}/refresh") { request, context in try await self.refresh(request, context: context) }
    }

    private struct MetadataList: ResponseEncodable {
        let site: String
        let uid: String
        let sessions: [SessionMetadata]
    }

    private struct Tokens: ResponseEncodable {
        let site: String
        let uid: String
        let provider: String
        let providerUID: String?
        let authToken: String?
        let tokenSecret: String?
        let sessionHandle: String?
        let tokenExpiration: String?
        let sessionExpiration: String?
        let fetchedAt: Date
    }

    private struct Deleted: ResponseEncodable {
        let deleted: Int
        let cancelledEvents: Int
    }

    private func list(_ request: Request, context: VaultRequestContext) async throws -> MetadataList {
        try context.requireAny([.sessionsMetadata, .sessionsRead])
        let (site, uid) = try target(request, context)
        let sessions = try await service.metadata(site: site.apiKey, uid: uid)
        return MetadataList(site: site.apiKey, uid: uid, sessions: sessions)
    }

    private func read(_ request: Request, context: VaultRequestContext) async throws -> EditedResponse<Tokens> {
        try context.require(.sessionsRead)
        let (site, uid) = try target(request, context)
        let provider = try Self.provider(context)
        let record = try await service.tokens(site: site.apiKey, uid: uid, provider: provider, actor: actor(context))
        let body = Tokens(
            site: site.apiKey,
            uid: uid,
            provider: provider,
            providerUID: record.providerUID,
            authToken: record.authToken,
            tokenSecret: record.tokenSecret,
            sessionHandle: record.sessionHandle,
            tokenExpiration: record.tokenExpiration,
            sessionExpiration: record.sessionExpiration,
            fetchedAt: record.fetchedAt
        )
        // Tokens must not linger in shared caches.
        return EditedResponse(headers: [.cacheControl: "no-store"], response: body)
    }

    private func delete(_ request: Request, context: VaultRequestContext, provider: String?) async throws -> Deleted {
        try context.require(.sessionsDelete)
        let (site, uid) = try target(request, context)
        let outcome = try await service.delete(site: site.apiKey, uid: uid, provider: provider, actor: actor(context))
        if provider != nil && outcome.deleted == 0 && outcome.cancelledEvents == 0 { throw APIError.notFound }
        return Deleted(deleted: outcome.deleted, cancelledEvents: outcome.cancelledEvents)
    }

    private func refresh(_ request: Request, context: VaultRequestContext) async throws -> SessionMetadata {
        try context.require(.sessionsRefresh)
        let (site, uid) = try target(request, context)
        return try await service.refresh(site: site, uid: uid, provider: try Self.provider(context), actor: actor(context))
    }

    /// The site (from `?site=`, required when several are configured, and granted to the key) and the user, decoded and
    /// checked with intake's rules.
    private func target(_ request: Request, _ context: VaultRequestContext) throws -> (site: GigyaSite, uid: String) {
        let uid = try context.pathParameter("uid") { uid in
            try LoginIntake.validateUID(uid)
            return uid
        }
        let site = try service.site(apiKey: request.site)
        try context.requireSite(site.apiKey)
        return (site, uid)
    }

    /// The `{provider}` path parameter, decoded and checked with intake's rules, in its one spelling.
    private static func provider(_ context: VaultRequestContext) throws -> String {
        try context.pathParameter("provider", LoginIntake.canonicalProvider)
    }

    private func actor(_ context: VaultRequestContext) -> AccessActor {
        AccessActor(keyID: context.accessKey?.id, name: context.accessKey?.name ?? "unknown")
    }
}

/// Counts 401 and 403 answers on the token routes, so a key being guessed or misused shows in metrics.
struct AccessRefusalCounter: RouterMiddleware {
    typealias Context = VaultRequestContext

    let metrics: VaultMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let answer = APIError(answering: error), answer.status == .unauthorized || answer.status == .forbidden {
                metrics.tokenRouteRefused(status: Int(answer.status.code), code: answer.code)
            }
            throw error
        }
    }
}
