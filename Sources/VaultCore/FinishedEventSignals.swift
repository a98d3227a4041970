public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import VaultStore

/// Wakes the requests waiting (`Prefer: wait`) for a login event to finish, without polling the database: the store
/// announces every stored or failed event (PostgreSQL `NOTIFY`, so across instances), and `FinishedEventListener`
/// relays it here. The number of waiters is capped.
public final class FinishedEventSignals: Sendable {
    private struct State {
        var nextToken = 0
        var waiters: [UUID: [Int: Waiter]] = [:]
        var count = 0
    }

    fileprivate struct Waiter {
        var notified = false
        var continuation: CheckedContinuation<Void, Never>?
    }

    /// The most requests that may wait at once; later ones are answered without waiting.
    public let maxWaiters: Int
    private let state = Mutex(State())

    public init(maxWaiters: Int) {
        self.maxWaiters = maxWaiters
    }

    /// Waiters right now.
    public var waiting: Int { state.withLock { $0.count } }

    /// Starts listening for `id`; nil when `maxWaiters` are already waiting. Subscribe before reading the event's state,
    /// so a notification between the read and the wait is not lost.
    public func subscribe(_ id: UUID) -> Subscription? {
        let token: Int? = state.withLock { state in
            guard state.count < maxWaiters else { return nil }
            state.count += 1
            defer { state.nextToken += 1 }
            state.waiters[id, default: [:]][state.nextToken] = Waiter()
            return state.nextToken
        }
        return token.map { Subscription(signals: self, id: id, token: $0) }
    }

    /// Wakes everyone waiting for `id`.
    public func notify(_ id: UUID) {
        let continuations: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard var waiters = state.waiters[id] else { return [] }
            var ready: [CheckedContinuation<Void, Never>] = []
            for token in waiters.keys {
                if let continuation = waiters[token]?.continuation { ready.append(continuation) }
                waiters[token]?.continuation = nil
                waiters[token]?.notified = true
            }
            state.waiters[id] = waiters
            return ready
        }
        continuations.forEach { $0.resume() }
    }

    /// Waits until notified, or `timeout` passes, or the task is cancelled.
    fileprivate func wait(id: UUID, token: Int, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal(id: id, token: token) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal(id: UUID, token: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    guard state.waiters[id]?[token] != nil else { return true }
                    if state.waiters[id]?[token]?.notified == true || Task.isCancelled { return true }
                    state.waiters[id]?[token]?.continuation = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state in
                defer { state.waiters[id]?[token]?.continuation = nil }
                return state.waiters[id]?[token]?.continuation
            }
            continuation?.resume()
        }
    }

    fileprivate func unsubscribe(id: UUID, token: Int) {
        let continuation = state.withLock { state in
            guard let waiter = state.waiters[id]?.removeValue(forKey: token) else { return CheckedContinuation<Void, Never>?.none }
            if state.waiters[id]?.isEmpty == true { state.waiters[id] = nil }
            state.count -= 1
            return waiter.continuation
        }
        continuation?.resume()
    }

    /// One request's interest in one event.
    public struct Subscription: Sendable {
        fileprivate let signals: FinishedEventSignals
        let id: UUID
        fileprivate let token: Int

        /// Returns once the event is announced, or after `timeout` (whichever first).
        public func next(timeout: Duration) async {
            await signals.wait(id: id, token: token, timeout: timeout)
        }

        /// Stops listening; every subscription must end with it.
        public func cancel() {
            signals.unsubscribe(id: id, token: token)
        }
    }
}

/// Relays the store's announcements of finished events to `FinishedEventSignals`, reconnecting with backoff when the
/// database connection drops (waiters fall back to a slow poll meanwhile).
public struct FinishedEventListener: Service {
    private let inbox: any EventInbox
    private let signals: FinishedEventSignals
    private let logger: Logger

    public init(inbox: any EventInbox, signals: FinishedEventSignals, logger: Logger) {
        self.inbox = inbox
        self.signals = signals
        self.logger = logger
    }

    public func run() async throws {
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown {
                    try await inbox.listenForFinishedEvents { id in signals.notify(id) }
                }
                failures = 0
            } catch {
                guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
                failures += 1
                logger.notice("listening for finished events failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                let delay = Duration.milliseconds(min(10_000, 100 << min(failures, 7)))
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            }
        }
    }
}
