import Synchronization

/// A cap on work of one kind in flight at once, refused rather than queued beyond it: the Gigya calls a request waits
/// on (refreshes, a link's check that the siteUID is free) are bounded however many requests arrive, and a request
/// beyond the cap is answered at once instead of waiting behind the others.
public final class InFlightLimit: Sendable {
    /// The cap was reached; nothing was started.
    public struct Exhausted: Error, Sendable, Equatable {}

    public let limit: Int
    private let inFlight = Mutex(0)

    public init(limit: Int) {
        precondition(limit > 0, "an in-flight limit must allow one call")
        self.limit = limit
    }

    /// Runs `body` holding one of the `limit` permits, or throws `Exhausted` at once when none is free.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let admitted = inFlight.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else { throw Exhausted() }
        defer { inFlight.withLock { $0 -= 1 } }
        return try await body()
    }

    /// Permits held now.
    public var current: Int { inFlight.withLock { $0 } }
}
