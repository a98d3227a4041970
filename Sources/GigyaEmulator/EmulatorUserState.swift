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
    /// Every change of the UID it answers to, oldest first; empty for accounts saved before histories were kept.
    public var history: [EmulatorUIDChange]
    /// The UID of the account this one was merged into; a merged account answers to nothing, like a deleted one.
    public var mergedInto: String?
    /// The UIDs of the accounts merged into this one, oldest first.
    public var mergedFrom: [String]

    /// Whether the account still answers: neither deleted nor merged into another.
    public var isLive: Bool {
        !deleted && mergedInto == nil
    }

    /// Creates a user state.
    init(
        gigyaUID: String, siteUID: String?, UID: String, apiKey: String, loginProvider: String,
        sessions: [String: EmulatorProviderSession], email: String?, firstName: String?, lastName: String?, data: [String: GigyaJSON],
        isRegistered: Bool, created: Int64, lastLogin: Int64, deleted: Bool, history: [EmulatorUIDChange] = [],
        mergedInto: String? = nil, mergedFrom: [String] = []
    ) {
        self.gigyaUID = gigyaUID
        self.siteUID = siteUID
        self.UID = UID
        self.apiKey = apiKey
        self.loginProvider = loginProvider
        self.sessions = sessions
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.data = data
        self.isRegistered = isRegistered
        self.created = created
        self.lastLogin = lastLogin
        self.deleted = deleted
        self.history = history
        self.mergedInto = mergedInto
        self.mergedFrom = mergedFrom
    }

    /// Decodes with `history`, `mergedInto` and `mergedFrom` optional, so JSON written before they existed still reads.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        gigyaUID = try container.decode(String.self, forKey: .gigyaUID)
        siteUID = try container.decodeIfPresent(String.self, forKey: .siteUID)
        UID = try container.decode(String.self, forKey: .UID)
        apiKey = try container.decode(String.self, forKey: .apiKey)
        loginProvider = try container.decode(String.self, forKey: .loginProvider)
        sessions = try container.decode([String: EmulatorProviderSession].self, forKey: .sessions)
        email = try container.decodeIfPresent(String.self, forKey: .email)
        firstName = try container.decodeIfPresent(String.self, forKey: .firstName)
        lastName = try container.decodeIfPresent(String.self, forKey: .lastName)
        data = try container.decode([String: GigyaJSON].self, forKey: .data)
        isRegistered = try container.decode(Bool.self, forKey: .isRegistered)
        created = try container.decode(Int64.self, forKey: .created)
        lastLogin = try container.decode(Int64.self, forKey: .lastLogin)
        deleted = try container.decode(Bool.self, forKey: .deleted)
        history = try container.decodeIfPresent([EmulatorUIDChange].self, forKey: .history) ?? []
        mergedInto = try container.decodeIfPresent(String.self, forKey: .mergedInto)
        mergedFrom = try container.decodeIfPresent([String].self, forKey: .mergedFrom) ?? []
    }

    /// The coded fields: every stored property.
    enum CodingKeys: String, CodingKey {
        case gigyaUID, siteUID, UID, apiKey, loginProvider, sessions, email, firstName, lastName, data, isRegistered, created
        case lastLogin, deleted, history, mergedInto, mergedFrom
    }
}
