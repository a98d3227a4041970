/// One emulated Gigya site: its API key, partner secret, data centre and optional user (application) keys.
public struct EmulatorSite: Sendable, Codable, Equatable {
    /// The site API key, such as `3_abc…`.
    public var apiKey: String
    /// The partner secret, standard base64 (24 bytes for a real-looking site).
    public var partnerSecret: String
    /// The data centre name (`us1`, `eu1`, …); informational, the emulator answers on every host.
    public var dataCenter: String
    /// User or application keys: `userKey` → base64 secret.
    public var userKeys: [String: String]

    /// Creates a site.
    public init(apiKey: String, partnerSecret: String, dataCenter: String = "us1", userKeys: [String: String] = [:]) {
        self.apiKey = apiKey
        self.partnerSecret = partnerSecret
        self.dataCenter = dataCenter
        self.userKeys = userKeys
    }

    /// Decodes with `dataCenter` and `userKeys` optional, so a sites file can be terse.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiKey = try container.decode(String.self, forKey: .apiKey)
        partnerSecret = try container.decode(String.self, forKey: .partnerSecret)
        dataCenter = try container.decodeIfPresent(String.self, forKey: .dataCenter) ?? "us1"
        userKeys = try container.decodeIfPresent([String: String].self, forKey: .userKeys) ?? [:]
    }
}

/// Why a site definition was refused; carries the API key or field, never a secret.
public enum EmulatorSiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A `--site` value is not `API_KEY:PARTNER_SECRET[:DATA_CENTER]`.
    case malformedSpec(reason: String)
    /// A secret of this site (or of one of its user keys) is not usable base64.
    case invalidSecret(apiKey: String, userKey: String?)
    /// Two sites share an API key.
    case duplicateAPIKey(String)
    /// The sites file could not be read or decoded.
    case unreadableFile(path: String, reason: String)
    /// No site was given.
    case noSites

    public var description: String {
        switch self {
        case .malformedSpec(let reason): "site spec must be API_KEY:PARTNER_SECRET[:DATA_CENTER]: \(reason)"
        case .invalidSecret(let apiKey, let userKey?): "the secret of user key \(userKey) of site \(apiKey) is not base64"
        case .invalidSecret(let apiKey, nil): "the partner secret of site \(apiKey) is not base64"
        case .duplicateAPIKey(let apiKey): "site \(apiKey) is defined twice"
        case .unreadableFile(let path, let reason): "cannot read sites file \(path): \(reason)"
        case .noSites: "at least one site is needed"
        }
    }
}
