/// Where an account stands in `accounts.search` results: by creation time, then Gigya UID, which no rename changes, so
/// cursors page deterministically.
struct SearchOrderKey: Sendable, Comparable {
    /// Unix seconds of creation.
    let created: Int64
    /// The Gigya UID.
    let gigyaUID: String

    /// The key of an account.
    init(_ user: EmulatorUserState) {
        self.created = user.created
        self.gigyaUID = user.gigyaUID
    }

    static func < (left: SearchOrderKey, right: SearchOrderKey) -> Bool {
        (left.created, left.gigyaUID) < (right.created, right.gigyaUID)
    }
}
