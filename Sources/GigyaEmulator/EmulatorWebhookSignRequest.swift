/// The body of `POST /_emulator/webhooks/sign`: both webhook signatures of a body, to test a receiver's checks.
public struct EmulatorWebhookSignRequest: Sendable, Codable, Equatable {
    /// The site whose partner secret and data centre sign; required when the emulator serves several.
    public var apiKey: String?
    /// The exact body; the HMAC and the JWT's `sub` cover its UTF-8 bytes.
    public var body: String
    /// Which key signs the JWT; `.currentKey` when nil.
    public var signing: EmulatorWebhookSigning?
    /// The JWT's `iat` (and `exp` − 60); the body's `timestamp` when nil and the body has one, else the emulator clock.
    public var issuedAt: Int64?
    /// The JWT's `jti`; the body's `nonce` when nil and the body has one, else a fresh UUID.
    public var jti: String?

    /// Creates a sign request.
    public init(apiKey: String? = nil, body: String, signing: EmulatorWebhookSigning? = nil, issuedAt: Int64? = nil, jti: String? = nil) {
        self.apiKey = apiKey
        self.body = body
        self.signing = signing
        self.issuedAt = issuedAt
        self.jti = jti
    }
}
