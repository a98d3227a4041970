import Synchronization

/// Throttles admin sign-in attempts and folds their refusals into few audit rows: a token bucket per peer and one
/// overall (each refilled to its limit per window), so guessing keys is slow from one address and from many; and at
/// most one `admin.sign_in_refused` row per peer per window, carrying the count since the last one. Memory is bounded:
/// at most `maxPeers` peers are tracked, idle ones dropped first.
final class SignInGuard: Sendable {
    struct Settings: Sendable, Equatable {
        /// Attempts one peer may make per window.
        var perPeer = 10
        /// Attempts all peers together may make per window.
        var overall = 100
        var window: Duration = .seconds(60)
        var maxPeers = 10_000
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private struct Refusals {
        var pending = 0
        var lastWritten: ContinuousClock.Instant?
    }

    private struct State {
        var peers: [String: Bucket] = [:]
        var overall: Bucket
        var refusals: [String: Refusals] = [:]
    }

    let settings: Settings
    private let state: Mutex<State>

    init(settings: Settings, now: ContinuousClock.Instant = .now) {
        self.settings = settings
        self.state = Mutex(State(overall: Bucket(tokens: Double(settings.overall), updated: now)))
    }

    /// Takes one attempt from the peer's and the overall bucket: nil when admitted, else how long until one would be.
    func admit(peer: String, now: ContinuousClock.Instant = .now) -> Duration? {
        state.withLock { state in
            var overall = Self.refilled(state.overall, limit: settings.overall, window: settings.window, now: now)
            var own = state.peers[peer].map { Self.refilled($0, limit: settings.perPeer, window: settings.window, now: now) }
                ?? Bucket(tokens: Double(settings.perPeer), updated: now)
            guard own.tokens >= 1, overall.tokens >= 1 else {
                state.overall = overall
                // A peer seen for the first time is not stored for a refusal the overall bucket made.
                if state.peers[peer] != nil { state.peers[peer] = own }
                let ownWait = Self.wait(own, limit: settings.perPeer, window: settings.window)
                let overallWait = Self.wait(overall, limit: settings.overall, window: settings.window)
                return max(ownWait, overallWait)
            }
            own.tokens -= 1
            overall.tokens -= 1
            state.overall = overall
            if state.peers[peer] == nil, state.peers.count >= settings.maxPeers { Self.evict(&state.peers, limit: settings.perPeer, settings: settings, now: now) }
            state.peers[peer] = own
            return nil
        }
    }

    /// Notes one refusal of `peer`: the number of refusals an audit row should record now (this one included), or nil
    /// when a row for this peer was written within the window (the refusal is carried into the next row).
    func noteRefusal(peer: String, now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            if state.refusals[peer] == nil, state.refusals.count >= settings.maxPeers {
                // Peers whose last row is older than the window and that have nothing pending go first.
                let stale = state.refusals.filter { $0.value.pending == 0 && $0.value.lastWritten.map { now - $0 >= settings.window } ?? true }
                for key in stale.keys { state.refusals[key] = nil }
                if state.refusals.count >= settings.maxPeers, let oldest = state.refusals.min(by: { ($0.value.lastWritten ?? now) < ($1.value.lastWritten ?? now) }) {
                    state.refusals[oldest.key] = nil
                }
            }
            var entry = state.refusals[peer] ?? Refusals()
            entry.pending += 1
            defer { state.refusals[peer] = entry }
            if let last = entry.lastWritten, now - last < settings.window { return nil }
            let count = entry.pending
            entry.pending = 0
            entry.lastWritten = now
            return count
        }
    }

    private static func refilled(_ bucket: Bucket, limit: Int, window: Duration, now: ContinuousClock.Instant) -> Bucket {
        let elapsed = max(0, seconds(now - bucket.updated))
        let rate = Double(limit) / seconds(window)
        return Bucket(tokens: min(Double(limit), bucket.tokens + elapsed * rate), updated: now)
    }

    /// The time until `bucket` holds a whole token again, in whole seconds (at least one).
    private static func wait(_ bucket: Bucket, limit: Int, window: Duration) -> Duration {
        guard bucket.tokens < 1 else { return .zero }
        let rate = Double(limit) / seconds(window)
        return .seconds(max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))))
    }

    /// Drops peers whose buckets have refilled (they have made no attempt for a window), else the longest idle one.
    private static func evict(_ peers: inout [String: Bucket], limit: Int, settings: Settings, now: ContinuousClock.Instant) {
        for (peer, bucket) in peers where refilled(bucket, limit: limit, window: settings.window, now: now).tokens >= Double(limit) {
            peers[peer] = nil
        }
        if peers.count >= settings.maxPeers, let oldest = peers.min(by: { $0.value.updated < $1.value.updated }) {
            peers[oldest.key] = nil
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
