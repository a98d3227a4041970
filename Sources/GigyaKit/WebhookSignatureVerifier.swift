import Crypto
public import Foundation

/// Checks that a webhook notification comes from Gigya for one site (docs/gigya-protocol.md §7, §12).
///
/// - `X-Gigya-Sig-Hmac-Sha1`: base64 HMAC-SHA1 of the exact body bytes under the partner secret (or the signing user
///   key's secret), compared in constant time; the body's `timestamp` must be within `maxAgeSeconds`.
/// - `X-Gigya-Sig-JWT`: RS256 under the data centre's published keys (as id_tokens, §10), `iss` the site's issuer,
///   not expired, `jti` equal to the body's `nonce` and `iat` to its `timestamp`. Those two claims are all the JWT is known
///   to sign of the body; its `sub` is 32 bytes that look like SHA-256 of the body, which no public source confirms, so
///   `verifyJWT` reports whether `sub` is base64url(SHA-256(body)) rather than requiring it (docs/gigya-protocol.md §12).
///
/// When both headers are sent, both must verify; which headers are required is the site's policy, decided by the caller.
public struct WebhookSignatureVerifier: Sendable {
    public let apiKey: String
    /// Secrets a notification may be signed with: the partner secret, and the signing user key's secret if configured.
    let secrets: [GigyaSecret]
    /// How old (by its `timestamp`) a notification may be; Gigya answers within 10 s and re-signs its retries.
    public let maxAgeSeconds: Int64
    /// Leeway for clocks: a timestamp this far in the future, and a JWT this far past `exp`, are accepted.
    public let leewaySeconds: Int64
    public let clock: any WallClock

    public init(apiKey: String, secrets: [GigyaSecret], maxAgeSeconds: Int64 = 300, leewaySeconds: Int64 = 30, clock: any WallClock = SystemWallClock()) {
        self.apiKey = apiKey
        self.secrets = secrets
        self.maxAgeSeconds = maxAgeSeconds
        self.leewaySeconds = leewaySeconds
        self.clock = clock
    }

    /// Whether the HMAC header matches the body under one of the site's secrets (all are tried, in constant time each).
    public func hmacIsValid(_ header: String, body: [UInt8]) -> Bool {
        var valid = false
        for secret in secrets where secret.isValidSignature(header.trimmingCharacters(in: .whitespaces), forBytes: body) {
            valid = true
        }
        return valid
    }

    /// Refuses a notification whose `timestamp` is older than `maxAgeSeconds` or further in the future than the leeway.
    public func checkFreshness(_ notification: WebhookNotification) throws(WebhookRefusal) {
        let age = clock.now() - notification.timestamp
        guard age <= maxAgeSeconds, age >= -leewaySeconds else {
            throw .stale(ageSeconds: age)
        }
    }

    /// Verifies `X-Gigya-Sig-JWT` for `notification` (whose exact bytes are `body`) under `keys`; answers whether the JWT's
    /// `sub` is base64url(SHA-256(body)), the only claim that could bind the events themselves.
    public func verifyJWT(_ token: String, notification: WebhookNotification, body: [UInt8], keys: JWTKeySet) async throws(WebhookRefusal)
        -> WebhookJWTBinding
    {
        let parts: IDTokenVerifier.Parts
        do throws(IDTokenRefusal) {
            parts = try IDTokenVerifier.parse(token)
        } catch {
            throw .badJWT("malformed")
        }
        guard case .string("RS256")? = parts.header["alg"] else {
            throw .badJWT("alg is not RS256")
        }
        guard let kid = parts.header["kid"]?.stringValue ?? parts.header["keyid"]?.stringValue, let key = keys.rsaKeys[kid] else {
            throw .badJWT("unknown kid")
        }
        guard await IDTokenVerifier.signatureIsValid(parts.signature, signingInput: parts.signingInput, key: key, kid: kid) else {
            throw .badJWT("signature")
        }
        let claims = parts.payload
        guard claims["iss"]?.stringValue == IDTokenVerifier.issuer(apiKey: apiKey) else {
            throw .badJWT("iss is not this site's issuer")
        }
        guard let expiresAt = IDTokenVerifier.seconds(claims["exp"]), let issuedAt = IDTokenVerifier.seconds(claims["iat"]) else {
            throw .badJWT("exp and iat are required")
        }
        let now = clock.now()
        guard now <= expiresAt + leewaySeconds else {
            throw .stale(ageSeconds: now - issuedAt)
        }
        guard issuedAt <= now + leewaySeconds else {
            throw .stale(ageSeconds: now - issuedAt)
        }
        guard claims["jti"]?.stringValue == notification.nonce else {
            throw .badJWT("jti is not the body's nonce")
        }
        guard issuedAt == notification.timestamp else {
            throw .badJWT("iat is not the body's timestamp")
        }
        // A Gigya-signed `sub` equal to the body's digest binds the body whatever Gigya meant by it: a forger would need
        // a body with that SHA-256. Any other `sub` binds only the nonce and timestamp.
        let digest = Base64URL.encode(SHA256.hash(data: body))
        return claims["sub"]?.stringValue == digest ? .bodyDigest : .nonceAndTimestamp
    }

    /// The `kid` a JWT header names, without verifying anything (to decide whether to refetch keys first).
    public static func keyID(of token: String) -> String? {
        IDTokenVerifier.keyID(of: token)
    }
}

/// What of a notification its verified JWT is known to sign.
public enum WebhookJWTBinding: Sendable, Equatable {
    /// `sub` is base64url(SHA-256(body)): the JWT signs the exact body, events included.
    case bodyDigest
    /// Only `jti` = `nonce` and `iat` = `timestamp`: anyone who saw the JWT could put other events under it.
    case nonceAndTimestamp
}
