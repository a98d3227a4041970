public import Foundation
public import GigyaKit
public import Logging

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

/// Everything the emulator needs to run.
public struct EmulatorConfiguration: Sendable {
    /// The sites it serves.
    public var sites: [EmulatorSite]
    /// Where `accountDeleted` notifications are POSTed, if anywhere.
    public var webhookURL: String?
    /// The clock for request timestamps, login signatures and expirations.
    public var clock: any WallClock
    /// The allowed |now − timestamp| of a signed request (Gigya: about two minutes, protocol.md §1.5, §9.2).
    public var requestWindowSeconds: Int64
    /// Waits between webhook delivery attempts; their count is the number of retries after the first attempt.
    public var webhookRetryDelays: [Duration]
    /// How long one webhook attempt may take (Gigya waits 10 s, protocol.md §7).
    public var webhookTimeout: Duration
    /// Whether `X-Forwarded-Proto` decides the scheme of the signed URL (only behind a TLS-terminating proxy you trust).
    public var trustForwardedProto: Bool
    /// The logger; secrets, signatures and tokens are never logged.
    public var logger: Logger

    /// Creates a configuration; everything but the sites has a default.
    public init(
        sites: [EmulatorSite],
        webhookURL: String? = nil,
        clock: any WallClock = SystemWallClock(),
        requestWindowSeconds: Int64 = 120,
        webhookRetryDelays: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(32), .seconds(64)],
        webhookTimeout: Duration = .seconds(10),
        trustForwardedProto: Bool = false,
        logger: Logger = Logger(label: "gigya-emulator")
    ) {
        self.sites = sites
        self.webhookURL = webhookURL
        self.clock = clock
        self.requestWindowSeconds = requestWindowSeconds
        self.webhookRetryDelays = webhookRetryDelays
        self.webhookTimeout = webhookTimeout
        self.trustForwardedProto = trustForwardedProto
        self.logger = logger
    }
}

extension GigyaEmulator {
    /// A fresh demo site: random `3_…` API key, random 24-byte partner secret, data centre us1.
    public static func demoSite() -> EmulatorSite {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let apiKey = "3_" + String((0..<64).map { _ in alphabet.randomElement()! })
        return EmulatorSite(apiKey: apiKey, partnerSecret: Data(randomBytes(24)).base64EncodedString(), dataCenter: "us1")
    }

    /// Parses `API_KEY:PARTNER_SECRET[:DATA_CENTER]` (a base64 secret holds no `:`).
    public static func parseSite(_ spec: String) throws(EmulatorSiteError) -> EmulatorSite {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw .malformedSpec(reason: "expected 2 or 3 fields separated by ':', found \(parts.count)")
        }
        guard !parts[0].isEmpty else {
            throw .malformedSpec(reason: "the API key is empty")
        }
        guard parts.count == 2 || !parts[2].isEmpty else {
            throw .malformedSpec(reason: "the data centre is empty")
        }
        let site = EmulatorSite(apiKey: parts[0], partnerSecret: parts[1], dataCenter: parts.count == 3 ? parts[2] : "us1")
        try validate([site])
        return site
    }

    /// Reads a JSON array of sites (`[{"apiKey", "partnerSecret", "dataCenter"?, "userKeys"?}]`).
    public static func loadSites(fromJSONFile path: String) throws(EmulatorSiteError) -> [EmulatorSite] {
        let sites: [EmulatorSite]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            sites = try JSONDecoder().decode([EmulatorSite].self, from: data)
        } catch {
            throw .unreadableFile(path: path, reason: String(describing: type(of: error)))
        }
        try validate(sites)
        return sites
    }

    /// Checks that there is a site, API keys are unique and every secret decodes and can key AES.
    static func validate(_ sites: [EmulatorSite]) throws(EmulatorSiteError) {
        guard !sites.isEmpty else {
            throw .noSites
        }
        var seen = Set<String>()
        for site in sites {
            guard seen.insert(site.apiKey).inserted else {
                throw .duplicateAPIKey(site.apiKey)
            }
            // The partner secret keys AES for getSessionInfo (protocol.md §4), so it must be 16, 24 or 32 bytes.
            guard let secret = try? GigyaSecret(base64: site.partnerSecret), (try? TokenCipher(secret: secret)) != nil else {
                throw .invalidSecret(apiKey: site.apiKey, userKey: nil)
            }
            for (userKey, userSecret) in site.userKeys where (try? GigyaSecret(base64: userSecret)) == nil {
                throw .invalidSecret(apiKey: site.apiKey, userKey: userKey)
            }
        }
    }

    /// Bytes from the system's secure generator.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Lower-case hex of `count` random bytes (callIds, UIDs, tokens).
    static func randomHex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(count * 2)
        for byte in randomBytes(count) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
