/// The body of `POST /_emulator/users/{uid}/rename`: the state change of a setUID rename.
public struct EmulatorRenameRequest: Sendable, Codable, Equatable {
    /// The UID the account answers to afterwards; must not be the UID of another live account (that is a merge).
    public var newUid: String
    /// Send `accountUidChanged` (default); false simulates a notification that never reached the receiver.
    public var notify: Bool?

    /// Creates a rename request.
    public init(newUid: String, notify: Bool? = nil) {
        self.newUid = newUid
        self.notify = notify
    }
}
