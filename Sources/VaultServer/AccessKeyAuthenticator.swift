import Foundation
import HTTPTypes
public import Hummingbird
import Logging
public import VaultCore
public import VaultStore

/// Authenticates `Authorization: Bearer <key>` against the stored key hashes; 401 when absent, unknown or revoked.
public struct AccessKeyAuthenticator: RouterMiddleware {
    public typealias Context = VaultRequestContext

    let keys: any AccessKeyRepository

    public init(keys: any AccessKeyRepository) {
        self.keys = keys
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { throw APIError.unauthenticated }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthenticated }
        let presented = parts[1].trimmingCharacters(in: .whitespaces)
        let record: AccessKeyRecord?
        do {
            record = try await keys.authenticate(presented)
        } catch {
            context.logger.error("access key lookup failed", metadata: ["error": "\(String(reflecting: error))"])
            throw APIError.storeUnavailable
        }
        guard let record else { throw APIError.unauthenticated }
        var context = context
        context.accessKey = record
        context.logger[metadataKey: "access_key"] = "\(record.name)"
        return try await next(request, context)
    }
}

extension VaultRequestContext {
    /// Throws 403 unless the authenticated key is granted `scope` (see `AccessScope.isGranted`); 401 if no key
    /// authenticated the request.
    func require(_ scope: AccessScope) throws {
        try requireAny([scope])
    }

    /// Throws 403 `site_not_allowed` unless the authenticated key is granted `site` (a site API key).
    func requireSite(_ site: String) throws {
        guard let accessKey else { throw APIError.unauthenticated }
        guard accessKey.sites.allows(site) else { throw APIError.siteNotAllowed }
    }

    /// Throws 403 unless the key is granted at least one of `scopes`.
    func requireAny(_ scopes: [AccessScope]) throws {
        guard let accessKey else { throw APIError.unauthenticated }
        guard scopes.contains(where: { $0.isGranted(by: accessKey.scopes) }) else {
            throw APIError.insufficientScope(scopes.map(\.rawValue).joined(separator: " or "))
        }
    }
}
