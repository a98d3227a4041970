/// One user of `POST /_emulator/users`: an account as a login would have left it, made without a login.
public struct EmulatorNewUser: Sendable, Codable, Equatable {
    /// The Gigya UID; a random one when nil.
    public var uid: String?
    /// The login provider, given a provider session; the first of `providers` when nil.
    public var provider: String?
    /// More providers with a session; without any provider the account is a site account (`loginProvider: site`, no session).
    public var providers: [String]?
    /// A site UID the account answers to instead of the Gigya UID (the same rules as setUID).
    public var siteUID: String?
    /// Profile email.
    public var email: String?

    /// Creates a user description.
    public init(uid: String? = nil, provider: String? = nil, providers: [String]? = nil, siteUID: String? = nil, email: String? = nil) {
        self.uid = uid
        self.provider = provider
        self.providers = providers
        self.siteUID = siteUID
        self.email = email
    }
}
