public import GigyaKit

/// The one Gigya capability the login pipeline needs: a user's provider session, tokens decrypted.
public protocol GigyaSessionSource: Sendable {
    /// `socialize.getSessionInfo` for one provider, tokens decrypted (docs/gigya-protocol.md §4).
    func getSessionInfo(uid: String, provider: String) async throws(GigyaCallError) -> ProviderSession
}

/// What account linking and reconciliation need from Gigya: the signed link calls and a user lookup.
public protocol GigyaAccountDirectory: Sendable {
    /// `socialize.setUID`: links the Gigya UID to the site's own user id (docs/gigya-protocol.md §3). On Gigya, a siteUID
    /// that is another account's UID merges the two accounts (§11): callers check first.
    func setUID(uid: String, siteUID: String) async throws(GigyaCallError)
    /// `socialize.notifyRegistration`: the recommended way to link a new user's site id (docs/gigya-protocol.md §3).
    func notifyRegistration(uid: String, siteUID: String) async throws(GigyaCallError)
    /// `socialize.getUserInfo` for a Gigya UID or a linked site UID.
    func getUserInfo(uid: String) async throws(GigyaCallError) -> GigyaUserInfo
    /// `accounts.search` on an accounts (RaaS) site: one page (docs/gigya-protocol.md §13).
    func searchAccounts(_ request: GigyaAccountSearch) async throws(GigyaCallError) -> GigyaAccountPage
}

/// Every Gigya REST call session-vault makes; tools use it whole, the domain depends on the capabilities it needs.
public protocol GigyaAPI: GigyaSessionSource, GigyaAccountDirectory {
    /// Any REST method with string params; the body when `errorCode` means success, else `.gigya`.
    func call(method: String, params: [String: String]) async throws(GigyaCallError) -> GigyaJSON
}

extension GigyaCallError {
    /// Gigya does not know the UID: "Unauthorized user" (403005) or "UID not found" (404003), docs/gigya-protocol.md §5.
    public var isUnknownUser: Bool {
        gigyaCode == 403_005 || gigyaCode == 404_003
    }
}

/// A user's live session at one identity provider, tokens in plaintext; `description` never shows them.
public struct ProviderSession: Sendable, Equatable, CustomStringConvertible {
    /// The provider name, such as `facebook` or `oidc-acme`.
    public var provider: String
    /// The provider's access token.
    public var authToken: String?
    /// The provider token secret (OAuth 1 providers), decrypted.
    public var tokenSecret: String?
    /// The provider session handle, decrypted.
    public var sessionHandle: String?
    /// When the token expires, as Gigya sent it (`tokenExpirationUTC`).
    public var tokenExpiration: String?
    /// When the session expires, as Gigya sent it.
    public var sessionExpiration: String?
    /// The user's id at the provider.
    public var providerUID: String?

    /// Creates a provider session.
    public init(
        provider: String,
        authToken: String? = nil,
        tokenSecret: String? = nil,
        sessionHandle: String? = nil,
        tokenExpiration: String? = nil,
        sessionExpiration: String? = nil,
        providerUID: String? = nil
    ) {
        self.provider = provider
        self.authToken = authToken
        self.tokenSecret = tokenSecret
        self.sessionHandle = sessionHandle
        self.tokenExpiration = tokenExpiration
        self.sessionExpiration = sessionExpiration
        self.providerUID = providerUID
    }

    public var description: String {
        /// Says whether a token is there, never what it is.
        func presence(_ value: String?) -> String { value == nil ? "nil" : "<redacted>" }
        return "ProviderSession(provider: \(provider), providerUID: \(providerUID ?? "nil"), authToken: \(presence(authToken)), "
            + "tokenSecret: \(presence(tokenSecret)), sessionHandle: \(presence(sessionHandle)), "
            + "tokenExpiration: \(tokenExpiration ?? "nil"), sessionExpiration: \(sessionExpiration ?? "nil"))"
    }
}

/// The parts of `socialize.getUserInfo` session-vault reads; the whole body stays in `raw`.
public struct GigyaUserInfo: Sendable, Equatable {
    /// The UID the answer is about: the site UID when the call was made with a linked one.
    public var uid: String
    /// Whether `uid` is a site UID set by setUID/notifyRegistration rather than Gigya's own.
    public var isSiteUID: Bool
    /// The provider of the latest login.
    public var loginProvider: String?
    /// The providers the user is connected with.
    public var providers: [String]
    /// The e-mail address, when Gigya has one.
    public var email: String?
    /// The display name.
    public var nickname: String?
    /// The whole response body.
    public var raw: GigyaJSON

    /// Creates user info.
    public init(
        uid: String,
        isSiteUID: Bool,
        loginProvider: String? = nil,
        providers: [String] = [],
        email: String? = nil,
        nickname: String? = nil,
        raw: GigyaJSON = .null
    ) {
        self.uid = uid
        self.isSiteUID = isSiteUID
        self.loginProvider = loginProvider
        self.providers = providers
        self.email = email
        self.nickname = nickname
        self.raw = raw
    }

    /// Reads a getUserInfo body; `providers` may be a comma-separated string (Gigya's User object) or an array.
    public init?(response body: GigyaJSON) {
        guard let uid = body["UID"]?.stringValue else {
            return nil
        }
        let providers: [String] =
            if let list = body["providers"]?.stringValue {
                list.split(separator: ",").map { String($0).trimmed() }.filter { !$0.isEmpty }
            } else if let array = body["providers"]?.arrayValue {
                array.compactMap(\.stringValue)
            } else {
                body["identities"]?.arrayValue?.compactMap { $0["provider"]?.stringValue } ?? []
            }
        self.init(
            uid: uid,
            isSiteUID: body["isSiteUID"]?.boolValue ?? (body["isSiteUID"]?.stringValue == "true"),
            loginProvider: body["loginProvider"]?.stringValue,
            providers: providers,
            email: body["email"]?.stringValue,
            nickname: body["nickname"]?.stringValue,
            raw: body
        )
    }
}

extension String {
    /// The string without leading and trailing spaces.
    fileprivate func trimmed() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
