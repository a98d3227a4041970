/// What happened to one webhook notification, as `GET /_emulator/webhooks` shows it.
public struct EmulatorWebhookDelivery: Sendable, Codable, Equatable {
    /// The notification's event id.
    public var eventID: String
    /// The event type (`accountDeleted`).
    public var type: String
    /// The UID the event is about.
    public var uid: String
    /// Attempts made so far.
    public var attempts: Int
    /// The HTTP status of the last attempt, if it got one.
    public var lastStatus: Int?
    /// Whether an attempt was answered with 2xx.
    public var delivered: Bool
    /// Whether every retry was used up without success.
    public var gaveUp: Bool
}
