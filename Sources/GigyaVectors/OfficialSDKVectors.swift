public import Foundation

/// The official-SDK vector file (`Fixtures/official-sdk-vectors.json`, provenance in `Fixtures/README.md`), loaded once for
/// every test suite that replays it.
public enum OfficialSDKVectors {
    /// The test secret every vector uses (bytes 0x00…0x17; not a real key).
    public static let testSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"

    /// The whole document, or an empty one when the resource is missing (every lookup then fails with `VectorError`).
    ///
    /// Never mutated after loading, so sharing it across test tasks is safe.
    nonisolated(unsafe) public static let document: [String: Any] = {
        guard let url = Bundle.module.url(forResource: "official-sdk-vectors", withExtension: "json", subdirectory: "Fixtures"),
            let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            return [:]
        }
        return object
    }()

    /// A top-level section (`rest_request_signing`, `sigutils`, `getSessionInfo_aes_cbc`, …); empty when absent.
    public static func section(_ name: String) -> [String: Any] {
        document[name] as? [String: Any] ?? [:]
    }

    /// One named vector of a section.
    public static func vector(_ section: String, _ name: String) throws(VectorError) -> [String: Any] {
        guard let vector = Self.section(section)[name] as? [String: Any] else {
            throw VectorError(section: section, name: name)
        }
        return vector
    }

    /// The REST signing vectors with full inputs, sorted by name (the port and foreign-SDK vectors have no such inputs).
    public static let restSigningCases: [RESTSigningVector] = {
        let section = Self.section("rest_request_signing")
        return section.keys.sorted().compactMap { name in
            (section[name] as? [String: Any]).flatMap { RESTSigningVector(name: name, vector: $0) }
        }
    }()
}

/// A vector the file does not hold.
public struct VectorError: Error, CustomStringConvertible {
    /// The section looked in.
    public let section: String
    /// The vector looked for.
    public let name: String

    public var description: String {
        "vector \(section).\(name) is missing from official-sdk-vectors.json"
    }
}

/// One REST signing vector with every input an official SDK was given and everything it produced.
public struct RESTSigningVector: Sendable, CustomStringConvertible {
    /// The vector's name in the file.
    public let name: String
    /// The site API key.
    public let apiKey: String
    /// The base64 secret (partner or user key).
    public let secret: String
    /// The user key, when the call was signed with one.
    public let userKey: String?
    /// The REST method (`socialize.getSessionInfo`).
    public let method: String
    /// The API domain (`us1.gigya.com`).
    public let apiDomain: String
    /// Whether the SDK addressed HTTPS.
    public let useHTTPS: Bool
    /// The fixed timestamp the SDK signed with.
    public let timestamp: Int64
    /// The fixed nonce the SDK signed with.
    public let nonce: String
    /// Every parameter the SDK sent, `sig` included.
    public let signedParams: [String: String]
    /// The URL the SDK called.
    public let url: String
    /// The signature base string.
    public let baseString: String
    /// The signature.
    public let sig: String

    public var description: String { name }

    /// Reads a vector; nil when it lacks the full inputs.
    init?(name: String, vector: [String: Any]) {
        guard let inputs = vector["inputs"] as? [String: Any], let signed = vector["signedParams"] as? [String: String],
            let apiKey = inputs["apiKey"] as? String, let secret = inputs["secret"] as? String, let method = inputs["method"] as? String,
            let apiDomain = inputs["apiDomain"] as? String, let useHTTPS = inputs["useHTTPS"] as? Bool,
            let timestamp = (inputs["fixed_timestamp"] as? NSNumber)?.int64Value, let nonce = inputs["fixed_nonce"] as? String,
            let url = vector["url"] as? String, let baseString = vector["baseString"] as? String, let sig = vector["sig"] as? String
        else {
            return nil
        }
        self.name = name
        self.apiKey = apiKey
        self.secret = secret
        self.userKey = inputs["userKey"] as? String
        self.method = method
        self.apiDomain = apiDomain
        self.useHTTPS = useHTTPS
        self.timestamp = timestamp
        self.nonce = nonce
        self.signedParams = signed
        self.url = url
        self.baseString = baseString
        self.sig = sig
    }
}
