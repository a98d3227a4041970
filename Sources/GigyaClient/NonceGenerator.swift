import Synchronization

/// Nonces unique per request: milliseconds, a process-wide counter and random digits (docs/gigya-protocol.md §1.2; Gigya rejects a
/// repeated nonce with 403004, so two requests in the same millisecond must still differ).
final class NonceGenerator: Sendable {
    /// Counts nonces handed out.
    private let counter = Atomic<UInt64>(0)

    /// Creates a generator.
    init() {}

    /// A fresh nonce for a request sent at `nowMilliseconds`.
    func next(nowMilliseconds: Int64) -> String {
        let sequence = counter.add(1, ordering: .relaxed).newValue
        return "\(nowMilliseconds)_\(sequence)_\(UInt32.random(in: 0..<1_000_000_000))"
    }
}
