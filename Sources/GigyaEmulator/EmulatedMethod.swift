/// The REST methods the emulator serves, with the parameters each requires (checked before the signature, as 400002).
enum EmulatedMethod: String, CaseIterable {
    case getSessionInfo = "socialize.getSessionInfo"
    case setUID = "socialize.setUID"
    case notifyRegistration = "socialize.notifyRegistration"
    case getUserInfo = "socialize.getUserInfo"
    case getAccountInfo = "accounts.getAccountInfo"
    case setAccountInfo = "accounts.setAccountInfo"
    case getJWTPublicKey = "accounts.getJWTPublicKey"
    case getJWT = "accounts.getJWT"
    case search = "accounts.search"

    /// Method parameters that must be present and non-empty.
    var requiredParameters: [String] {
        switch self {
        case .getSessionInfo: ["UID", "provider"]
        case .setUID, .notifyRegistration: ["UID", "siteUID"]
        case .getUserInfo, .getAccountInfo, .setAccountInfo: ["UID"]
        case .getJWTPublicKey: []
        // `query` or `cursorId`: which one is checked by the method itself (docs/gigya-protocol.md §13).
        case .search: []
        case .getJWT: ["targetUID"]
        }
    }

    /// Whether the call must be signed (or carry a secret); the public keys need only the API key (docs/gigya-protocol.md §10).
    var needsAuthentication: Bool {
        self != .getJWTPublicKey
    }
}
