/// One public key as `accounts.getJWTPublicKey` publishes it: an RSA JWK with base64url modulus and exponent (docs/gigya-protocol.md §10).
public struct JWTPublicKey: Sendable, Codable, Equatable {
    /// Key type: `RSA`.
    public var kty: String
    /// Algorithm: `RS256`.
    public var alg: String?
    /// Use: `sig`.
    public var use: String?
    /// Key id, matched against a token's `kid` (or `keyid`) header.
    public var kid: String
    /// Modulus, base64url.
    public var n: String
    /// Public exponent, base64url.
    public var e: String

    /// Creates a key.
    public init(kty: String = "RSA", alg: String? = "RS256", use: String? = "sig", kid: String, n: String, e: String) {
        self.kty = kty
        self.alg = alg
        self.use = use
        self.kid = kid
        self.n = n
        self.e = e
    }
}
