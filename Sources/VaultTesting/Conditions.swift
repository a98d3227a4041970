/// A condition a test waited for did not come to hold.
public struct ConditionTimedOut: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration

    public var description: String { "timed out after \(timeout) waiting for \(what)" }
}

/// Waits until `condition` holds, polling every `interval`; throws `ConditionTimedOut` after `timeout`, which is far
/// beyond what a loaded machine needs: tests wait on what they need, never on a guess of how long it takes.
public func waitUntil(
    _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(10), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    if try await condition() { return }
    throw ConditionTimedOut(what: what, timeout: timeout)
}
