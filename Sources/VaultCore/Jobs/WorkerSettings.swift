public import Foundation
public import GigyaClient

/// How the job workers pace themselves: one set of settings for every queue.
public struct WorkerSettings: Sendable {
    /// Gigya calls in flight in this instance, each for one claimed event; 0 runs no worker (intake only).
    /// Sized for Gigya's round trip: at 150–300 ms, 64 calls in flight carry a few hundred sessions a second.
    public var concurrency: Int
    /// How long a claimed event stays reserved. Leases of events in flight are renewed every third of it, so a slow
    /// call is never done twice, and a crashed instance's events are taken over soon after it.
    public var lease: Duration
    /// How long the claimer waits before looking for work again when there was none.
    public var idlePoll: Duration
    /// The most events one claim takes.
    public var claimBatch: Int
    /// The most outcomes one completion transaction carries (group commit).
    public var completionBatch: Int
    /// How long one claim, renewal or completion may take before it is given up (and retried or left to the lease).
    public var storeDeadline: Duration
    /// Attempts and backoff (exponential, full jitter) for retryable failures; every kind of failure (Gigya, transport,
    /// store) counts towards `maxAttempts`, after which the event is failed for good.
    public var retry: RetryPolicy

    public init(
        concurrency: Int = 64,
        lease: Duration = .seconds(30),
        idlePoll: Duration = .milliseconds(200),
        claimBatch: Int = 32,
        completionBatch: Int = 64,
        storeDeadline: Duration = .seconds(10),
        retry: RetryPolicy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(500), maxDelay: .seconds(300))
    ) {
        self.concurrency = max(0, concurrency)
        self.lease = lease
        self.idlePoll = idlePoll
        self.claimBatch = max(1, claimBatch)
        self.completionBatch = max(1, completionBatch)
        self.storeDeadline = storeDeadline
        self.retry = retry
    }
}
