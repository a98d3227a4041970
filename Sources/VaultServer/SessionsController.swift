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

    private struct MetadataList: Encodable {
        let site: String
        let uid: String
        let sessions: [SessionMetadata]
    }

    private struct Tokens: Encodable {
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

    private func list(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.requireAny([.sessionsMetadata, .sessionsRead])
        let (site, uid) = try target(request, context)
        let sessions = try await service.metadata(site: site.apiKey, uid: uid)
        return try JSONResponse.make(MetadataList(site: site.apiKey, uid: uid, sessions: sessions), status: .ok)
    }

    private func read(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.require(.sessionsRead)
        let (site, uid) = try target(request, context)
        let provider = try Self.provider(context)
        do {
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
            return try JSONResponse.make(body, status: .ok, headers: [.cacheControl: "no-store"])
        } catch SessionServiceError.unreadable {
            context.logger.error("a stored session did not open with the data-key ring", metadata: ["provider": "\(provider)"])
            throw APIError.unreadable
        } catch let error as SessionServiceError {
            throw APIError(error)
        }
    }

    private func delete(_ request: Request, context: VaultRequestContext, provider: String?) async throws -> Response {
        try context.require(.sessionsDelete)
        let (site, uid) = try target(request, context)
        let outcome = try await service.delete(site: site.apiKey, uid: uid, provider: provider, actor: actor(context))
        if provider != nil && outcome.deleted == 0 && outcome.cancelledEvents == 0 { throw APIError.notFound }
        return try JSONResponse.make(["deleted": outcome.deleted, "cancelledEvents": outcome.cancelledEvents], status: .ok)
    }

    private func refresh(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.require(.sessionsRefresh)
        let (site, uid) = try target(request, context)
        let provider = try Self.provider(context)
        do {
            let metadata = try await service.refresh(site: site, uid: uid, provider: provider, actor: actor(context))
            return try JSONResponse.make(metadata, status: .ok)
        } catch let error as SessionServiceError {
            throw APIError(error)
        }
    }

    /// The site (from `?site=`, required when several are configured, and granted to the key) and the user, decoded and
    /// checked with intake's rules.
    private func target(_ request: Request, _ context: VaultRequestContext) throws -> (site: GigyaSite, uid: String) {
        let uid = try context.decodedParameter("uid")
        let site: GigyaSite
        do {
            site = try service.site(apiKey: request.uri.queryParameters.get("site"))
        } catch {
            throw APIError(error)
        }
        try context.requireSite(site.apiKey)
        do {
            try LoginIntake.validateUID(uid)
        } catch {
            throw Self.pathError(error, field: "uid")
        }
        return (site, uid)
    }

    /// The `{provider}` path parameter, decoded and checked with intake's rules.
    private static func provider(_ context: VaultRequestContext) throws -> String {
        do {
            return try LoginIntake.canonicalProvider(try context.decodedParameter("provider"))
        } catch let error as IntakeError {
            throw pathError(error, field: "provider")
        }
    }

    /// An intake refusal of a path parameter, named by the parameter.
    private static func pathError(_ error: IntakeError, field: String) -> APIError {
        switch error {
        case .invalidField(_, let reason):
            APIError.badRequest("invalid_path_parameter", "the path parameter '\(field)' is invalid: \(reason)", field: field)
        default:
            APIError.badRequest("invalid_path_parameter", "the path parameter '\(field)' is required", field: field)
        }
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
        } catch let error as APIError where error.status == .unauthorized || error.status == .forbidden {
            metrics.tokenRouteRefused(status: Int(error.status.code), code: error.code)
            throw error
        }
    }
}
