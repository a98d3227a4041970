public import Logging

/// A job of a leased queue: claimed under a lease, attempted, finished once.
public protocol LeasedJob: Sendable {
    associatedtype ID: Hashable & Sendable
    /// What the queue knows the job by.
    var jobID: ID { get }
    /// Attempts so far, the one in hand included: a claim counts it, so a crash or a store failure counts too.
    var attempts: Int { get }
    /// The last recorded failure's Gigya code and message, for "gave up after N attempts: …".
    var lastFailure: (code: Int?, message: String?) { get }
}

/// What one attempt at a job came to, whatever the queue: the engine's one outcome type.
public enum JobOutcome<Done: Sendable>: Sendable {
    /// Finished: the queue records `Done` (a session stored, a link made, an account event acted on).
    case done(Done)
    /// Failed for good, with Gigya's code when there was one.
    case failed(code: Int?, message: String)
    /// Attempted again after `delay`.
    case retry(delay: Duration, code: Int?, message: String)

    /// The outcome's name in metrics and logs: `done`, `failed` or `retry`.
    public var name: String {
        switch self {
        case .done: "done"
        case .failed: "failed"
        case .retry: "retry"
        }
    }
}

/// A table of leased work, as the job engine sees it. The SQL stays explicit per table; each adapter maps the engine's
/// calls onto its store's.
public protocol LeasedQueue: Sendable {
    associatedtype Job: LeasedJob
    associatedtype Done: Sendable
    /// The queue's name in metrics and logs (`sessions`, `links`, `account_events`).
    var name: String { get }
    /// Leases up to `limit` due jobs to `worker` for `lease`.
    func claim(worker: String, limit: Int, lease: Duration) async throws -> [Job]
    /// Extends the leases `worker` still holds; answers those.
    func renew(_ ids: [Job.ID], worker: String, lease: Duration) async throws -> Set<Job.ID>
    /// Records outcomes, in order; each answer is false where `worker` no longer held the job.
    func finish(_ outcomes: [(id: Job.ID, outcome: JobOutcome<Done>)], worker: String) async throws -> [Bool]
}

/// What a handler found in one attempt; the engine turns failures into a retry or a final failure by the attempt limit.
public enum JobAttempt<Done: Sendable>: Sendable {
    /// Finished.
    case done(Done)
    /// Will never succeed (a permanent Gigya refusal, a site no longer configured).
    case permanent(code: Int?, message: String)
    /// May succeed later (a timeout, a 5xx, a store failure): retried with back-off until the attempt limit.
    case transient(code: Int?, message: String)
}

/// The work of one queue: one attempt at one job. Everything around it (claiming, leases, retries, the attempt limit,
/// group-committed finishes, metrics) is the engine's.
public protocol JobHandler: Sendable {
    associatedtype Queue: LeasedQueue
    /// The queue the handler's jobs come from.
    var queue: Queue { get }
    /// Adds the job's identifying metadata (never data) to the logger of its attempt.
    func annotate(_ logger: inout Logger, for job: Queue.Job)
    /// One attempt.
    func attempt(_ job: Queue.Job, logger: Logger) async -> JobAttempt<Queue.Done>
    /// Called once an outcome is recorded while the lease was held: the queue's own metrics and log lines.
    func recorded(_ outcome: JobOutcome<Queue.Done>, for job: Queue.Job, logger: Logger)
}
