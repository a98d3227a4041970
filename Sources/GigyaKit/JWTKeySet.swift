import Crypto
public import Foundation
import JWTKit
import _CryptoExtras

/// Gigya's RS256 signing keys of one data centre, parsed and checked once, ready to verify id_tokens (docs/gigya-protocol.md §10).
public struct JWTKeySet: Sendable {
    /// The keys as published, in their order, keeping only RS256 signing keys.
    public let keys: [JWTPublicKey]
    /// The RSA public key of each kid.
    let rsaKeys: [String: JWTKit.Insecure.RSA.PublicKey]

    /// Checks and imports keys; keys for other algorithms or uses are skipped, so a new key type cannot break verification.
    public init(keys: [JWTPublicKey]) throws(JWTKeySetError) {
        var kept: [JWTPublicKey] = []
        var rsaKeys: [String: JWTKit.Insecure.RSA.PublicKey] = [:]
        for key in keys where key.kty == "RSA" && (key.alg ?? "RS256") == "RS256" && (key.use ?? "sig") == "sig" {
            guard !key.kid.isEmpty else {
                throw .invalidKey(kid: key.kid, reason: "the kid is empty")
            }
            guard rsaKeys[key.kid] == nil else {
                throw .duplicateKeyID(key.kid)
            }
            guard let modulus = Base64URL.decode(key.n), let exponent = Base64URL.decode(key.e) else {
                throw .invalidKey(kid: key.kid, reason: "n or e is not base64url")
            }
            do {
                rsaKeys[key.kid] = try JWTKit.Insecure.RSA.PublicKey(backing: _RSA.Signing.PublicKey(n: modulus, e: exponent))
            } catch {
                // swift-crypto refuses moduli under 2048 bits and malformed numbers.
                throw .invalidKey(kid: key.kid, reason: "not a usable RSA public key of at least 2048 bits")
            }
            kept.append(key)
        }
        guard !kept.isEmpty else {
            throw .noUsableKeys
        }
        self.keys = kept
        self.rsaKeys = rsaKeys
    }

    /// Parses an `accounts.getJWTPublicKey` answer: `{keys: […]}` with `V2=true`, or the single top-level key of v1.
    public init(json: Data) throws(JWTKeySetError) {
        /// A key that may be of a kind this type does not model (an EC key has no `n`); such keys are skipped.
        struct MaybeKey: Decodable {
            let key: JWTPublicKey?

            init(from decoder: any Decoder) throws {
                key = try? JWTPublicKey(from: decoder)
            }
        }
        /// The V2 shape.
        struct V2: Decodable {
            let keys: [MaybeKey]
        }
        let decoder = JSONDecoder()
        if let v2 = try? decoder.decode(V2.self, from: json) {
            try self.init(keys: v2.keys.compactMap(\.key))
        } else if let single = try? decoder.decode(JWTPublicKey.self, from: json) {
            try self.init(keys: [single])
        } else {
            throw .malformedDocument
        }
    }

    /// The key ids, in published order.
    public var keyIDs: [String] {
        keys.map(\.kid)
    }

    /// Whether the set holds a key with this id.
    public func contains(kid: String) -> Bool {
        rsaKeys[kid] != nil
    }
}

/// Why a key set was refused.
public enum JWTKeySetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The document is neither `{keys: […]}` nor a single JWK.
    case malformedDocument
    /// No RS256 signing key is in the set.
    case noUsableKeys
    /// Two keys share a kid.
    case duplicateKeyID(String)
    /// A key cannot be imported.
    case invalidKey(kid: String, reason: String)

    public var description: String {
        switch self {
        case .malformedDocument: "the key set is not {keys: [JWK…]} nor a single JWK"
        case .noUsableKeys: "the key set holds no RS256 signing key"
        case .duplicateKeyID(let kid): "the key set holds kid \(kid) twice"
        case .invalidKey(let kid, let reason): "key \(kid): \(reason)"
        }
    }
}
