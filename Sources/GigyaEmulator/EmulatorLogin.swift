import Foundation

/// The body of `POST /_emulator/login`: what a browser login through the Web SDK would have decided.
public struct EmulatorLoginRequest: Sendable, Codable, Equatable {
    /// Log this user in again (Gigya UID or current site UID); a new user is created when absent or unknown.
    public var uid: String?
    /// The provider (`facebook`, `google`, `oidc-…`).
    public var provider: String
    /// The site; required when the emulator serves several.
    public var apiKey: String?
    /// The user's id at the provider; kept from the previous session, or random.
    public var providerUID: String?
    /// Profile email.
    public var email: String?
    /// Profile first name.
    public var firstName: String?
    /// Profile last name.
    public var lastName: String?
    /// `id_token` to also return an id_token, as the Web SDK's `include: 'id_token'` does (docs/gigya-protocol.md §10).
    public var include: String?
    /// The id_token's `aud`, when one is asked for.
    public var audience: String?

    /// Creates a login request.
    public init(
        uid: String? = nil, provider: String, apiKey: String? = nil, providerUID: String? = nil, email: String? = nil,
        firstName: String? = nil, lastName: String? = nil, include: String? = nil, audience: String? = nil
    ) {
        self.uid = uid
        self.provider = provider
        self.apiKey = apiKey
        self.providerUID = providerUID
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.include = include
        self.audience = audience
    }

    /// Whether the login asked for an id_token.
    var wantsIDToken: Bool {
        (include ?? "").split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "id_token" }
    }
}

/// The user object of a login result (the Web SDK's `response.user`, trimmed).
public struct EmulatorLoginUser: Sendable, Codable, Equatable {
    public var UID: String
    public var isSiteUID: Bool
    public var isSiteUser: Bool
    public var isConnected: Bool
    public var loginProvider: String
    public var loginProviderUID: String
    /// Connected providers, comma-separated as the Web SDK gives them.
    public var providers: String
    public var email: String?
    public var firstName: String?
    public var lastName: String?
}

/// What `POST /_emulator/login` returns: the login result a browser would get from the Web SDK.
public struct EmulatorLoginResult: Sendable, Codable, Equatable {
    /// The user's id: the site UID when one is set (as Gigya returns it), else the Gigya UID.
    public var UID: String
    /// base64 HMAC-SHA1 over `signatureTimestamp_UID` with the partner secret (docs/gigya-protocol.md §2).
    public var UIDSignature: String
    /// Unix seconds on the emulator clock, as a string.
    public var signatureTimestamp: String
    /// The provider of this login.
    public var provider: String
    /// The same as `provider`.
    public var loginProvider: String
    /// Whether the login created the user.
    public var isNewUser: Bool
    /// The user object.
    public var user: EmulatorLoginUser?
    /// An RS256 id_token for the UID, when the login asked for one with `include: "id_token"`.
    public var idToken: String?

    enum CodingKeys: String, CodingKey {
        case UID, UIDSignature, signatureTimestamp, provider, loginProvider, isNewUser, user
        case idToken = "id_token"
    }
}
