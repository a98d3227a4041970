import Synchronization

/// How many REST calls of each method the emulator answered, by outcome: what tests count to prove work was done once.
public struct EmulatorCallStats: Sendable, Codable, Equatable {
    /// Answers per method: `ok` (errorCode 0) and `error` (any other code, injected faults included).
    public var calls: [String: Outcomes]

    /// The answers to one method.
    public struct Outcomes: Sendable, Codable, Equatable {
        public var ok: Int
        public var error: Int
    }

    /// Successful answers of `method`.
    public func ok(_ method: String) -> Int {
        calls[method]?.ok ?? 0
    }
}

/// Counts the REST calls the emulator answered.
final class CallLedger: Sendable {
    private let counts = Mutex<[String: EmulatorCallStats.Outcomes]>([:])

    /// Records one answer of `method`.
    func record(method: String, ok: Bool) {
        counts.withLock { counts in
            var outcomes = counts[method] ?? EmulatorCallStats.Outcomes(ok: 0, error: 0)
            if ok { outcomes.ok += 1 } else { outcomes.error += 1 }
            counts[method] = outcomes
        }
    }

    /// Everything counted so far.
    func snapshot() -> EmulatorCallStats {
        EmulatorCallStats(calls: counts.withLock { $0 })
    }
}
