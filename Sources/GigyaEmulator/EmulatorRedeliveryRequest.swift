/// The body of `POST /_emulator/webhooks/redeliver`: send a notification's events again, as Gigya's at-least-once delivery may.
public struct EmulatorRedeliveryRequest: Sendable, Codable, Equatable {
    /// The notification to send again (any nonce it was sent with); the latest notification when nil.
    public var nonce: String?
    /// Resend the very same body (same nonce and timestamp, re-signed only if its JWT has expired) instead of a new
    /// notification with a fresh nonce; event ids are the same either way.
    public var sameBody: Bool?

    /// Creates a redelivery request.
    public init(nonce: String? = nil, sameBody: Bool? = nil) {
        self.nonce = nonce
        self.sameBody = sameBody
    }
}
