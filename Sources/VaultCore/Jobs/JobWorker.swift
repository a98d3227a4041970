public import Foundation
import GigyaClient
public import Logging
public import ServiceLifecycle

/// The job engine: one worker for any leased queue, the work of one job left to its handler.
///
/// A claimer keeps up to `slots` jobs in flight, claiming as many as there are free slots (at most `claimBatch`) in one
/// query; each job runs in its own task; outcomes are written by group commit; a renewer extends the leases of the jobs
/// in flight every third of the lease, so a slow attempt is never done twice. A failed claim backs off (exponentially,
/// with jitter); an empty one waits `idlePoll`. A transient failure is retried with back-off until the attempt limit,
/// then failed for good, as is a job claimed past it. On graceful shutdown it stops claiming and lets every job in flight
/// finish and its outcome be written.
public struct JobWorker<Handler: JobHandler>: Service {
    public typealias Job = Handler.Queue.Job
    public typealias Done = Handler.Queue.Done

    let handler: Handler
    let settings: WorkerSettings
    /// Jobs in flight at once.
    private let slots: Int
    /// The lease owner of every job this worker claims.
    public let workerID: String
    private let metrics: VaultMetrics
    private let logger: Logger

    /// A worker of `handler`'s queue with `slots` jobs in flight (default: the settings' concurrency).
    public init(handler: Handler, settings: WorkerSettings, slots: Int? = nil, metrics: VaultMetrics = .discarding, logger: Logger) {
        self.handler = handler
        self.settings = settings
        self.slots = max(1, slots ?? settings.concurrency)
        self.metrics = metrics
        self.logger = logger
        let process = ProcessInfo.processInfo
        self.workerID = "\(handler.queue.name)-\(process.hostName)-\(process.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }

    public func run() async throws {
        let inFlight = InFlightJobs<Job.ID>(capacity: slots)
        let queue = handler.queue
        let completions = GroupCommitter<(id: Job.ID, outcome: JobOutcome<Done>), Bool>(
            maxBatch: settings.completionBatch, maxQueued: slots * 2, deadline: settings.storeDeadline
        ) { [workerID] outcomes in try await queue.finish(outcomes, worker: workerID) }
        await withDiscardingTaskGroup { group in
            group.addTask { await renewLeases(of: inFlight) }
            await claimLoop(inFlight: inFlight, group: &group) { job in
                await process(job) { id, outcome in try await completions.submit((id, outcome)) }
            }
            inFlight.close()
        }
    }

    /// Claims up to `limit` due jobs and attempts them one after another, writing each outcome at once; returns how many
    /// there were. For tests and tools that drive a queue step by step.
    @discardableResult
    public func runOnce(workerID: String, limit: Int = 1) async -> Int {
        let claimed: [Job]
        do {
            claimed = try await handler.queue.claim(worker: workerID, limit: limit, lease: settings.lease)
        } catch {
            logger.warning("claiming from the \(handler.queue.name) queue failed", metadata: ["error": "\(String(reflecting: error))"])
            return 0
        }
        await runOnce(claimed, workerID: workerID)
        return claimed.count
    }

    /// Attempts jobs `workerID` has already claimed (one picked by id, say), writing each outcome at once.
    public func runOnce(_ claimed: [Job], workerID: String) async {
        let queue = handler.queue
        for job in claimed {
            await process(job) { id, outcome in try await queue.finish([(id, outcome)], worker: workerID).first ?? false }
        }
    }

    /// Claims while there are free slots and starts a task per claimed job, until graceful shutdown.
    private func claimLoop(
        inFlight: InFlightJobs<Job.ID>,
        group: inout DiscardingTaskGroup,
        process: @escaping @Sendable (Job) async -> Void
    ) async {
        var failedClaims = 0
        let queue = handler.queue
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let free = await inFlight.waitForFreeSlots()
            // A slot freed during the drain is no invitation to claim more.
            guard free > 0, !Task.isShuttingDownGracefully else { return }
            let claimed: [Job]
            do {
                let limit = min(free, settings.claimBatch)
                claimed = try await withDeadline(settings.storeDeadline) { [workerID, settings] in
                    try await queue.claim(worker: workerID, limit: limit, lease: settings.lease)
                }
                failedClaims = 0
            } catch {
                // A failed claim backs off, so a database outage is not hammered by every instance.
                failedClaims += 1
                var random = SystemRandomNumberGenerator()
                let delay = settings.retry.delay(afterFailedAttempts: failedClaims, using: &random)
                logger.warning("claiming from the \(queue.name) queue failed", metadata: ["error": "\(String(reflecting: error))", "delay": "\(delay)"])
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: min(delay, .seconds(5))) }
                continue
            }
            if claimed.isEmpty {
                try? await cancelWhenGracefulShutdown { [settings] in try await Task.sleep(for: settings.idlePoll) }
                continue
            }
            for job in claimed {
                inFlight.insert(job.jobID)
                group.addTask {
                    await process(job)
                    inFlight.remove(job.jobID)
                }
            }
        }
    }

    /// Extends the leases of the jobs in flight every third of the lease, until the worker has stopped and drained.
    private func renewLeases(of inFlight: InFlightJobs<Job.ID>) async {
        let interval = settings.lease / 3
        let queue = handler.queue
        var next = ContinuousClock.now
        while true {
            let (ids, closed) = inFlight.snapshot()
            if closed && ids.isEmpty { return }
            if ContinuousClock.now >= next {
                next = ContinuousClock.now + interval
                if !ids.isEmpty {
                    do {
                        let held = try await withDeadline(settings.storeDeadline) { [workerID, settings] in
                            try await queue.renew(ids, worker: workerID, lease: settings.lease)
                        }
                        if held.count < ids.count {
                            logger.notice(
                                "leases lost while in flight; another worker may take those jobs", metadata: ["queue": "\(queue.name)", "lost": "\(ids.count - held.count)"])
                        }
                    } catch {
                        logger.warning("renewing leases failed", metadata: ["queue": "\(queue.name)", "error": "\(String(reflecting: error))"])
                    }
                }
            }
            // While draining, look often for the last job's end (leases are still renewed on time); before, sleep until
            // the next renewal or the start of a shutdown, whichever comes first.
            if closed || Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .milliseconds(50))
            } else {
                try? await cancelWhenGracefulShutdown { [next] in try await Task.sleep(until: next) }
            }
        }
    }

    /// One attempt at one job, then its outcome handed to `record`, which writes it and says whether the lease was held.
    func process(_ job: Job, record: @Sendable (Job.ID, JobOutcome<Done>) async throws -> Bool) async {
        var logger = logger
        logger[metadataKey: "queue"] = "\(handler.queue.name)"
        logger[metadataKey: "attempt"] = "\(job.attempts)"
        handler.annotate(&logger, for: job)
        let outcome = await outcome(of: job, logger: logger)
        do {
            if try await record(job.jobID, outcome) {
                metrics.jobFinished(queue: handler.queue.name, outcome: outcome.name)
                handler.recorded(outcome, for: job, logger: logger)
            } else {
                metrics.jobFinished(queue: handler.queue.name, outcome: "lease_lost")
                logger.notice("the lease was lost before the outcome was recorded; another worker owns the job now")
            }
        } catch {
            // The lease will run out and the job be claimed again; that claim counts as another attempt.
            metrics.jobFinished(queue: handler.queue.name, outcome: "store_error")
            logger.warning("recording the outcome failed; the job is retried when its lease runs out", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// The attempt limit and back-off around the handler's attempt.
    func outcome(of job: Job, logger: Logger) async -> JobOutcome<Done> {
        let limit = settings.retry.maxAttempts
        guard job.attempts <= limit else {
            // Earlier attempts ended without an outcome (a crash, a lost store write); the limit counts them too.
            logger.error("giving up after \(job.attempts - 1) attempts")
            let last = job.lastFailure
            return .failed(code: last.code, message: "gave up after \(job.attempts - 1) attempts: \(last.message ?? "no answer")")
        }
        switch await handler.attempt(job, logger: logger) {
        case .done(let done):
            return .done(done)
        case .permanent(let code, let message):
            return .failed(code: code, message: message)
        case .transient(let code, let message):
            guard job.attempts < limit else {
                logger.error("giving up after \(job.attempts) attempts", metadata: ["gigya_code": "\(code.map(String.init) ?? "-")"])
                return .failed(code: code, message: "gave up after \(job.attempts) attempts: \(message)")
            }
            var random = SystemRandomNumberGenerator()
            let delay = settings.retry.delay(afterFailedAttempts: job.attempts, using: &random)
            logger.notice("retryable failure; retrying later", metadata: ["gigya_code": "\(code.map(String.init) ?? "-")", "delay": "\(delay)"])
            return .retry(delay: delay, code: code, message: message)
        }
    }
}
