import Crypto
import Foundation
import JWTKit

/// Verifies Gigya id_tokens for one site, more strictly than SAP's SDKs (docs/gigya-protocol.md §10).
///
/// The structure, header and claims are checked here so each refusal is its own `IDTokenRefusal`; the RS256 signature
/// is checked by jwt-kit under the key the header names. `alg` is never taken from the token.
public struct IDTokenVerifier: Sendable {
    /// The largest token accepted; Gigya's tokens are well under 2 KiB even with requested fields.
    public static let maximumTokenBytes = 8 * 1024
    /// The largest clock leeway allowed for `exp` and `iat`.
    public static let maximumLeewaySeconds: Int64 = 120

    /// The site API key: fixes the expected `iss` and `apiKey`.
    public let apiKey: String
    /// The audience required in `aud`, if the site configures one.
    public let audience: String?
    /// The leeway for `exp` and `iat`, 0…`maximumLeewaySeconds`.
    public let leewaySeconds: Int64
    /// The oldest a token may be, by `now − iat`, whatever its `exp` says: a token minted for days (accounts.getJWT's
    /// `expiration` has no documented maximum, §10) is still only as good as a `UIDSignature` of the same age.
    public let maxAgeSeconds: Int64
    /// The clock `exp` and `iat` are compared with.
    public let clock: any WallClock

    /// A verifier for a site; a leeway outside 0…120 s is clamped into it, a maximum age below 1 s is 1 s.
    public init(
        apiKey: String, audience: String? = nil, leewaySeconds: Int64 = 60, maxAgeSeconds: Int64 = 300, clock: any WallClock = SystemWallClock()
    ) {
        self.apiKey = apiKey
        self.audience = audience
        self.leewaySeconds = min(max(leewaySeconds, 0), Self.maximumLeewaySeconds)
        self.maxAgeSeconds = max(maxAgeSeconds, 1)
        self.clock = clock
    }

    /// The last second a token issued at `issuedAt` and expiring at `expiresAt` can be accepted: the earlier of its `exp`
    /// and its maximum age, plus the leeway. A replay key must live at least this long.
    public func acceptableUntil(issuedAt: Int64, expiresAt: Int64) -> Int64 {
        min(expiresAt, issuedAt + maxAgeSeconds) + leewaySeconds
    }

    /// The exact `iss` of the site's tokens, trailing slash included.
    public var expectedIssuer: String {
        Self.issuer(apiKey: apiKey)
    }

    /// The `iss` Gigya writes for a site's tokens.
    public static func issuer(apiKey: String) -> String {
        "https://fidm.gigya.com/jwt/\(apiKey)/"
    }

    /// Verifies a token presented with a login result for `expectedUID`; returns its claims or the first failed check.
    ///
    /// Order: structure, `alg`, `kid`, signature, then `exp`/`iat` presence, `iss`, `apiKey`, `sub`, `exp`, `iat`, age, `aud`.
    public func verify(_ token: String, expectedUID: String, keys: JWTKeySet) async throws(IDTokenRefusal) -> IDTokenClaims {
        let parts = try Self.parse(token)
        guard case .string("RS256")? = parts.header["alg"] else {
            throw .algorithmNotAllowed(parts.header["alg"]?.textValue)
        }
        // docs/gigya-protocol.md §10: older tokens name their key `keyid`.
        let kid = parts.header["kid"]?.stringValue ?? parts.header["keyid"]?.stringValue
        guard let kid, let key = keys.rsaKeys[kid] else {
            throw .unknownKeyID(kid)
        }
        guard await Self.signatureIsValid(parts.signature, signingInput: parts.signingInput, key: key, kid: kid) else {
            throw .badSignature
        }
        return try checkClaims(parts.payload, kid: kid, expectedUID: expectedUID, signature: parts.signature)
    }

    /// Checks only the structure (size, three base64url parts, JSON header and payload), to refuse malformed input
    /// before anything else; throws `.malformed` and nothing else.
    public static func checkShape(_ token: String) throws(IDTokenRefusal) {
        _ = try parse(token)
    }

    /// SHA-256 of a token's decoded signature: what identifies the token for replay and budget keys. With canonical
    /// base64url and RS256 (deterministic, the signature below the modulus) one signed login has exactly one signature,
    /// so no re-spelling of the text makes a new key; the token itself is never stored.
    static func replayDigest(signature: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: signature))
    }

    /// The `kid` (or `keyid`) of a token whose structure and `alg` are acceptable, without verifying the signature: what to
    /// look keys up by. Refuses a malformed token or another `alg` first, so such a token never causes a key fetch.
    public static func signingKeyID(of token: String) throws(IDTokenRefusal) -> String? {
        let parts = try parse(token)
        guard case .string("RS256")? = parts.header["alg"] else {
            throw .algorithmNotAllowed(parts.header["alg"]?.textValue)
        }
        return parts.header["kid"]?.stringValue ?? parts.header["keyid"]?.stringValue
    }

    /// The header's `kid` (or `keyid`) without verifying anything, to decide whether a key set must be refetched first.
    public static func keyID(of token: String) -> String? {
        guard let parts = try? parse(token) else {
            return nil
        }
        return parts.header["kid"]?.stringValue ?? parts.header["keyid"]?.stringValue
    }

    /// A token split and decoded, not yet trusted.
    struct Parts {
        /// The header object.
        let header: [String: GigyaJSON]
        /// The payload object.
        let payload: [String: GigyaJSON]
        /// The signature bytes.
        let signature: [UInt8]
        /// `header.payload` exactly as received: the bytes the signature covers.
        let signingInput: [UInt8]
    }

    /// Splits and decodes a compact JWS; never trusts anything in it.
    static func parse(_ token: String) throws(IDTokenRefusal) -> Parts {
        guard token.utf8.count <= maximumTokenBytes else {
            throw .malformed(.tooLarge)
        }
        let pieces = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard pieces.count == 3 else {
            throw .malformed(.wrongPartCount)
        }
        let texts = pieces.map { String(decoding: $0, as: UTF8.self) }
        // RFC 7515 §2: base64url without padding. Only the canonical spelling is taken, so one token has one text.
        guard let headerBytes = Base64URL.decodeCanonical(texts[0]), let payloadBytes = Base64URL.decodeCanonical(texts[1]),
            let signature = Base64URL.decodeCanonical(texts[2])
        else {
            throw .malformed(.badBase64URL)
        }
        guard case .object(let header)? = GigyaJSON(parsing: Data(headerBytes)) else {
            throw .malformed(.headerNotJSON)
        }
        guard case .object(let payload)? = GigyaJSON(parsing: Data(payloadBytes)) else {
            throw .malformed(.payloadNotJSON)
        }
        let signingInput = Array(token.utf8.prefix(pieces[0].count + 1 + pieces[1].count))
        return Parts(header: header, payload: payload, signature: signature, signingInput: signingInput)
    }

    /// RS256 (PKCS#1 v1.5, SHA-256) through jwt-kit, with the algorithm fixed by the caller, never by the token.
    static func signatureIsValid(_ signature: [UInt8], signingInput: [UInt8], key: JWTKit.Insecure.RSA.PublicKey, kid: String) async -> Bool {
        let identifier = JWKIdentifier(string: kid)
        let collection = JWTKeyCollection()
        await collection.add(rsa: key, digestAlgorithm: .sha256, kid: identifier)
        guard let algorithm = try? await collection.getKey(for: identifier), algorithm.name == "RS256" else {
            return false
        }
        return (try? algorithm.verify(signature, signs: signingInput)) ?? false
    }

    /// The claim checks, after the signature proved the payload is Gigya's.
    func checkClaims(_ claims: [String: GigyaJSON], kid: String, expectedUID: String, signature: [UInt8]) throws(IDTokenRefusal) -> IDTokenClaims {
        guard let expiresAt = Self.seconds(claims["exp"]) else {
            throw .missingTimeClaim("exp")
        }
        guard let issuedAt = Self.seconds(claims["iat"]) else {
            throw .missingTimeClaim("iat")
        }
        guard let issuer = claims["iss"]?.stringValue, issuer == expectedIssuer else {
            throw .wrongIssuer
        }
        let tokenAPIKey: String?
        switch claims["apiKey"] {
        case nil: tokenAPIKey = nil
        case .string(let value)? where value == apiKey: tokenAPIKey = value
        case .some: throw .wrongAPIKey
        }
        guard let subject = claims["sub"]?.stringValue, subject == expectedUID else {
            throw .subjectMismatch
        }
        let now = clock.now()
        guard now <= expiresAt + leewaySeconds else {
            throw .expired
        }
        guard issuedAt <= now + leewaySeconds else {
            throw .issuedInFuture
        }
        guard now - issuedAt <= maxAgeSeconds + leewaySeconds else {
            throw .tooOld(maximumSeconds: maxAgeSeconds)
        }
        let audiences: [String]
        switch claims["aud"] {
        case .string(let single)?: audiences = [single]
        case .array(let many)?: audiences = many.compactMap(\.stringValue)
        default: audiences = []
        }
        if let audience, !audiences.contains(audience) {
            throw .audienceMismatch
        }
        return IDTokenClaims(
            keyID: kid, issuer: issuer, apiKey: tokenAPIKey, subject: subject, issuedAt: issuedAt, expiresAt: expiresAt,
            audience: audiences, replayDigest: Self.replayDigest(signature: signature), all: claims
        )
    }

    /// A NumericDate claim as whole Unix seconds; nil when absent, not a number, or out of range.
    static func seconds(_ value: GigyaJSON?) -> Int64? {
        guard case .number(let number)? = value, number.isFinite, abs(number) < 1e15 else {
            return nil
        }
        return Int64(number.rounded(.down))
    }
}
