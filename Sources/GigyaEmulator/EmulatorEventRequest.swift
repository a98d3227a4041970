/// The body of `POST /_emulator/users/{uid}/events`: an account event that changes no state, sent to the webhook.
public struct EmulatorEventRequest: Sendable, Codable, Equatable {
    /// The event types the route emits; renames, merges and deletions have their own routes.
    public static let supportedTypes: Set<String> = [
        "accountCreated", "accountRegistered", "accountUpdated", "accountLoggedIn", "accountLockedOut", "accountProgressed",
    ]

    /// The event type, such as `accountLoggedIn`.
    public var type: String

    /// Creates an event request.
    public init(type: String) {
        self.type = type
    }
}
