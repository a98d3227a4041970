import Foundation
import HTTPTypes
public import Hummingbird
import Logging
public import VaultStore

/// The permissions an access key can hold; `admin` implies every other one but `sessions:read`: reading provider tokens
/// takes that scope itself, so the key people sign in to the admin page with is not also a key to every token.
public enum AccessScope: String, CaseIterable, Sendable {
    case sessionsRead = "sessions:read"
    case sessionsMetadata = "sessions:metadata"
    case sessionsRefresh = "sessions:refresh"
    case sessionsDelete = "sessions:delete"
    case eventsRead = "events:read"
    case linksRead = "links:read"
    case linksWrite = "links:write"
    case metricsRead = "metrics:read"
    case admin

    /// Whether a key holding `scopes` may do what `self` allows.
    func isGranted(by scopes: some Sequence<String>) -> Bool {
        scopes.contains { $0 == rawValue || ($0 == AccessScope.admin.rawValue && self != .sessionsRead) }
    }

    /// Parses a comma- or space-separated scope list, naming the first unknown scope.
    public static func parseList(_ text: String) throws(AccessScopeError) -> [AccessScope] {
        let names = text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        guard !names.isEmpty else { throw .empty }
        var scopes: [AccessScope] = []
        for name in names {
            guard let scope = AccessScope(rawValue: name) else { throw .unknown(name) }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        return scopes
    }
}

/// A scope list that could not be parsed.
public enum AccessScopeError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case unknown(String)

    public var description: String {
        let known = AccessScope.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case .empty: return "at least one scope is required (\(known))"
        case .unknown(let name): return "unknown scope '\(name)'; known scopes: \(known)"
        }
    }
}

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
