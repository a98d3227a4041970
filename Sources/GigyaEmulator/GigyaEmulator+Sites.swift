import Foundation
import GigyaKit

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
            // The partner secret keys AES for getSessionInfo (docs/gigya-protocol.md §4), so it must be 16, 24 or 32 bytes.
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
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        // Eight bytes per draw: bulk creation makes tens of thousands of tokens.
        while bytes.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
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
