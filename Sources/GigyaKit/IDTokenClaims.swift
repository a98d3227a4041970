/// The claims of a verified id_token (docs/gigya-protocol.md §10).
public struct IDTokenClaims: Sendable, Equatable {
    /// The key that signed it.
    public let keyID: String
    /// `iss`: `https://fidm.gigya.com/jwt/<API key>/`.
    public let issuer: String
    /// `apiKey`, when present.
    public let apiKey: String?
    /// `sub`: the UID.
    public let subject: String
    /// `iat`, Unix seconds.
    public let issuedAt: Int64
    /// `exp`, Unix seconds.
    public let expiresAt: Int64
    /// `aud` as a list (a single string becomes one element); empty when absent.
    public let audience: [String]
    /// SHA-256 of the decoded signature: the token's identity for replay and budget keys (`IDTokenVerifier.replayDigest`).
    public let replayDigest: [UInt8]
    /// Every claim, including requested account fields, which Gigya adds flat.
    public let all: [String: GigyaJSON]
}
