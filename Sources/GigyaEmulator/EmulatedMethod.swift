/// The REST methods the emulator serves, with the parameters each requires (checked before the signature, as 400002).
enum EmulatedMethod: String, CaseIterable {
    case getSessionInfo = "socialize.getSessionInfo"
    case setUID = "socialize.setUID"
    case notifyRegistration = "socialize.notifyRegistration"
    case getUserInfo = "socialize.getUserInfo"
    case getAccountInfo = "accounts.getAccountInfo"
    case setAccountInfo = "accounts.setAccountInfo"

    /// Method parameters that must be present and non-empty.
    var requiredParameters: [String] {
        switch self {
        case .getSessionInfo: ["UID", "provider"]
        case .setUID, .notifyRegistration: ["UID", "siteUID"]
        case .getUserInfo, .getAccountInfo, .setAccountInfo: ["UID"]
        }
    }
}
