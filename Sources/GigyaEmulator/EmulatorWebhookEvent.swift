/// One account event of a webhook notification, as the delivery log and `POST /_emulator/users/{uid}/events` show it.
public struct EmulatorWebhookEvent: Sendable, Codable, Equatable {
    /// The event id (a lowercase UUID), the same in every delivery of the event: receivers de-duplicate on it.
    public var id: String
    /// The event type: `accountLoggedIn`, `accountUidChanged`, `accountMerged`, `accountDeleted`, …
    public var type: String
    /// `data.uid`: the account's UID (for `accountMerged`, the merged account's; for `accountUidChanged`, the old one).
    public var uid: String
    /// `data.newUid`: the new UID of `accountUidChanged`, or the surviving UID of `accountMerged`.
    public var newUid: String?

    /// Creates an event description.
    public init(id: String, type: String, uid: String, newUid: String? = nil) {
        self.id = id
        self.type = type
        self.uid = uid
        self.newUid = newUid
    }
}
