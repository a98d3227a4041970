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
    public func isGranted(by scopes: some Sequence<String>) -> Bool {
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
