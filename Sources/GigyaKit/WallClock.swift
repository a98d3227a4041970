import Synchronization
import Foundation

/// The source of "now" for time-window checks, in Unix seconds; injected so tests and benchmarks can fix it.
public protocol WallClock: Sendable {
    /// The current Unix time in seconds.
    func now() -> Int64
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    /// Creates the system clock.
    public init() {}

    public func now() -> Int64 {
        Int64(Date().timeIntervalSince1970.rounded(.down))
    }
}

/// A clock that moves only when told to.
public final class ManualWallClock: WallClock {
    private let seconds: Mutex<Int64>

    /// Starts the clock at a Unix time in seconds.
    public init(_ seconds: Int64) {
        self.seconds = Mutex(seconds)
    }

    public func now() -> Int64 {
        seconds.withLock { $0 }
    }

    /// Sets the clock to a Unix time in seconds.
    public func set(_ newValue: Int64) {
        seconds.withLock { $0 = newValue }
    }

    /// Moves the clock forward (or back, with a negative value).
    public func advance(by delta: Int64) {
        seconds.withLock { $0 += delta }
    }
}
