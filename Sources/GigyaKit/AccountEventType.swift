/// The type of one of Gigya's account events (docs/gigya-protocol.md §7, §12), one value from the webhook's parse to the
/// handler's switch, the store and the metric. A type session-vault does not act on keeps its wire name.
public enum AccountEventType: Sendable, Hashable, Codable, RawRepresentable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// `accountDeleted`: the account is gone; what is stored under its UID is purged.
    case deleted
    /// `accountUidChanged`: the account's UID changed to `data.newUid`.
    case uidChanged
    /// `accountMerged`: the account was merged into `data.newUid`.
    case merged
    /// `accountLoggedIn`: the user logged in (a site may refresh the stored sessions on it).
    case loggedIn
    /// Any other type: recorded and acknowledged, not acted on.
    case other(String)

    public init(rawValue: String) {
        switch rawValue {
        case "accountDeleted": self = .deleted
        case "accountUidChanged": self = .uidChanged
        case "accountMerged": self = .merged
        case "accountLoggedIn": self = .loggedIn
        default: self = .other(rawValue)
        }
    }

    public init(stringLiteral value: String) {
        self.init(rawValue: value)
    }

    /// The wire name.
    public var rawValue: String {
        switch self {
        case .deleted: "accountDeleted"
        case .uidChanged: "accountUidChanged"
        case .merged: "accountMerged"
        case .loggedIn: "accountLoggedIn"
        case .other(let name): name
        }
    }

    public var description: String { rawValue }

    /// Whether acting on it deletes or moves stored data: a notification must prove its body to carry it.
    public var isDestructive: Bool {
        switch self {
        case .deleted, .uidChanged, .merged: true
        case .loggedIn, .other: false
        }
    }

    /// Whether it names the account's new UID (`data.newUid`, different from `data.uid`).
    public var movesTheAccount: Bool { self == .uidChanged || self == .merged }

    /// A metric label: the wire name of a type acted on, else `other`, so senders cannot grow the label set.
    public var metricLabel: String {
        if case .other = self { return "other" }
        return rawValue
    }
}
