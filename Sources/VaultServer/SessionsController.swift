import Foundation
import HTTPTypes
import Hummingbird
import Logging
import VaultCore
import VaultStore

/// The read API for the site's backends: `/v1/users/{uid}/sessions[/{provider}[/refresh]]`.
struct SessionsController: Sendable {
    let service: SessionService

    func addRoutes(to router: Router<VaultRequestContext>, authenticator: AccessKeyAuthenticator) {
        let group = router.group("/v1/users/{uid}/sessions").add(middleware: authenticator)
        group.get { request, context in try await self.list(request, context: context) }
        group.delete { request, context in try await self.delete(request, context: context, provider: nil) }
        group.get("{provider}") { request, context in try await self.read(request, context: context) }
        group.delete("{provider}") { request, context in
            try await self.delete(request, context: context, provider: try context.parameters.require("provider"))
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
        let sessions = try await service.metadata(site: site, uid: uid)
        return try JSONResponse.make(MetadataList(site: site, uid: uid, sessions: sessions), status: .ok)
    }

    private func read(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.require(.sessionsRead)
        let (site, uid) = try target(request, context)
        let provider = try context.parameters.require("provider")
        do {
            let record = try await service.tokens(site: site, uid: uid, provider: provider, actor: actor(context))
            let body = Tokens(
                site: site,
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
        } catch let error as SessionServiceError {
            throw APIError(error)
        }
    }

    private func delete(_ request: Request, context: VaultRequestContext, provider: String?) async throws -> Response {
        try context.require(.sessionsDelete)
        let (site, uid) = try target(request, context)
        let deleted = try await service.delete(site: site, uid: uid, provider: provider, actor: actor(context))
        if provider != nil && deleted == 0 { throw APIError.notFound }
        return try JSONResponse.make(["deleted": deleted], status: .ok)
    }

    private func refresh(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.require(.sessionsRefresh)
        let uid = try context.parameters.require("uid")
        let provider = try context.parameters.require("provider")
        do {
            let site = try service.site(apiKey: request.uri.queryParameters.get("site"))
            let metadata = try await service.refresh(site: site, uid: uid, provider: provider, actor: actor(context))
            return try JSONResponse.make(metadata, status: .ok)
        } catch let error as SessionServiceError {
            throw APIError(error)
        }
    }

    /// The site (from `?site=`, required when several are configured) and the user a request is about.
    private func target(_ request: Request, _ context: VaultRequestContext) throws -> (site: String, uid: String) {
        let uid = try context.parameters.require("uid")
        do {
            return (try service.site(apiKey: request.uri.queryParameters.get("site")).apiKey, uid)
        } catch {
            throw APIError(error)
        }
    }

    private func actor(_ context: VaultRequestContext) -> AccessActor {
        AccessActor(keyID: context.accessKey?.id, name: context.accessKey?.name ?? "unknown")
    }
}
