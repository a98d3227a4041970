/// The body of `POST /_emulator/users/{uid}/merge`: the state change of a setUID onto another account's UID.
public struct EmulatorMergeRequest: Sendable, Codable, Equatable {
    /// The UID (Gigya UID or site UID) of the live account that survives.
    public var into: String
    /// Send `accountMerged` (default); false simulates a notification that never reached the receiver.
    public var notify: Bool?

    /// Creates a merge request.
    public init(into: String, notify: Bool? = nil) {
        self.into = into
        self.notify = notify
    }
}
