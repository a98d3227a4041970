/// One change of the id an emulated account answers to, as `GET /_emulator/users/{uid}` shows it in `history`.
public struct EmulatorUIDChange: Sendable, Codable, Equatable {
    /// What happened.
    public enum Kind: String, Sendable, Codable, Equatable {
        /// The account was created with the Gigya UID in `to`.
        case created
        /// setUID, notifyRegistration or the rename route gave the account a new UID: `from` the old one, `to` the new one.
        case renamed
        /// This account was merged into another (docs/gigya-protocol.md §11): `from` its UID, `to` the survivor's.
        case merged
        /// Another account was merged into this one: `from` the merged account's UID, `to` this account's UID.
        case mergedFrom
        /// The account was deleted while answering to `from`.
        case deleted
    }

    /// What happened.
    public var type: Kind
    /// The UID before the change (nil for `created`).
    public var from: String?
    /// The UID after the change (nil for `deleted`).
    public var to: String?
    /// Unix seconds on the emulator clock.
    public var at: Int64

    /// Creates a history entry.
    public init(type: Kind, from: String?, to: String?, at: Int64) {
        self.type = type
        self.from = from
        self.to = to
        self.at = at
    }
}
