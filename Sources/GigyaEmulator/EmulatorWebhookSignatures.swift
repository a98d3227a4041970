/// What `POST /_emulator/webhooks/sign` answers: the two header values a notification with that body would carry.
public struct EmulatorWebhookSignatures: Sendable, Codable, Equatable {
    /// `X-Gigya-Sig-Hmac-Sha1`: base64 HMAC-SHA1 of the body bytes keyed with the partner secret.
    public var hmac: String
    /// `X-Gigya-Sig-JWT`: the RS256 JWT tying the body to the site.
    public var jwt: String

    /// Creates a signature pair.
    public init(hmac: String, jwt: String) {
        self.hmac = hmac
        self.jwt = jwt
    }
}
