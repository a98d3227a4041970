/// What a merge answers: both accounts afterwards.
public struct EmulatorMergeResult: Sendable, Codable, Equatable {
    /// The account merged away: it answers to nothing and records `mergedInto`.
    public var merged: EmulatorUserState
    /// The account that survives under its UID, with the merged account's provider sessions added.
    public var survivor: EmulatorUserState

    /// Creates a merge result.
    public init(merged: EmulatorUserState, survivor: EmulatorUserState) {
        self.merged = merged
        self.survivor = survivor
    }
}
