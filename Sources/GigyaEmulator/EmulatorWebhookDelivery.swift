/// What happened to one webhook notification, as `GET /_emulator/webhooks` shows it.
public struct EmulatorWebhookDelivery: Sendable, Codable, Equatable {
    /// The body's `nonce` (also the `jti` of its `X-Gigya-Sig-JWT`); a retry re-signed after its JWT expired has a new one.
    public var nonce: String
    /// The site of the notification.
    public var apiKey: String
    /// The body's `timestamp`, Unix seconds on the emulator clock.
    public var timestamp: Int64
    /// The events it carries, in order.
    public var events: [EmulatorWebhookEvent]
    /// Attempts made so far.
    public var attempts: Int
    /// The HTTP status of the last attempt, if it got one.
    public var lastStatus: Int?
    /// Whether an attempt was answered with 2xx.
    public var delivered: Bool
    /// Whether every retry was used up without success.
    public var gaveUp: Bool
    /// Whether this is a second delivery of events already sent (`POST /_emulator/webhooks/redeliver`, `duplicateDeliveries`).
    public var duplicate: Bool
    /// Whether no webhook URL was set when its turn came: it was not attempted (redeliver it once a URL is set).
    public var undeliverable: Bool

    /// Creates a delivery record.
    public init(
        nonce: String, apiKey: String, timestamp: Int64, events: [EmulatorWebhookEvent], attempts: Int = 0, lastStatus: Int? = nil,
        delivered: Bool = false, gaveUp: Bool = false, duplicate: Bool = false, undeliverable: Bool = false
    ) {
        self.nonce = nonce
        self.apiKey = apiKey
        self.timestamp = timestamp
        self.events = events
        self.attempts = attempts
        self.lastStatus = lastStatus
        self.delivered = delivered
        self.gaveUp = gaveUp
        self.duplicate = duplicate
        self.undeliverable = undeliverable
    }
}
