public import GigyaKit

/// The state of one emulated user, as `GET /_emulator/users/{uid}` shows it.
public struct EmulatorUserState: Sendable, Codable, Equatable {
    /// The Gigya UID given at creation (32 hex digits unless the login named one).
    public var gigyaUID: String
    /// The site UID set by setUID / notifyRegistration, if any; it then replaces the Gigya UID in every answer.
    public var siteUID: String?
    /// The id the user answers to now: the site UID when set, else the Gigya UID.
    public var UID: String
    /// The site the user belongs to.
    public var apiKey: String
    /// The provider of the latest login.
    public var loginProvider: String
    /// Provider sessions keyed by provider name.
    public var sessions: [String: EmulatorProviderSession]
    /// Profile fields given at login.
    public var email: String?
    /// First name given at login.
    public var firstName: String?
    /// Last name given at login.
    public var lastName: String?
    /// The custom `data` object, as merged by setAccountInfo.
    public var data: [String: GigyaJSON]
    /// Whether notifyRegistration was called.
    public var isRegistered: Bool
    /// Unix seconds of creation.
    public var created: Int64
    /// Unix seconds of the latest login.
    public var lastLogin: Int64
    /// Whether the account was deleted (it then answers to nothing).
    public var deleted: Bool
}
