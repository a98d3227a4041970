import Foundation
import GigyaClient
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing
import VaultCore
import VaultTesting

/// A handler whose attempts are scripted by the test; it counts what the engine reports back.
final class ScriptedHandler: JobHandler, Sendable {
    let queue: MemoryQueue
    let script: @Sendable (MemoryJob) async -> JobAttempt<String>
    let recordedOutcomes = Mutex<[String]>([])
    let attempts = Mutex(0)

    init(queue: MemoryQueue, script: @escaping @Sendable (MemoryJob) async -> JobAttempt<String>) {
        self.queue = queue
        self.script = script
    }

    func annotate(_ logger: inout Logger, for job: MemoryJob) {
        logger[metadataKey: "job"] = "\(job.jobID)"
    }

    func attempt(_ job: MemoryJob, logger: Logger) async -> JobAttempt<String> {
        attempts.withLock { $0 += 1 }
        return await script(job)
    }

    func recorded(_ outcome: JobOutcome<String>, for job: MemoryJob, logger: Logger) {
        recordedOutcomes.withLock { $0.append(outcome.name) }
    }
}

/// A one-shot gate an attempt waits on until the test opens it.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// The job engine against an in-memory queue, with no database: the attempt limit, back-off, lease renewal and loss,
/// claim failures and the shutdown drain.
@Suite("Job engine")
struct JobWorkerTests {
    static let logger = Logger(label: "job-engine-tests")

    static func settings(maxAttempts: Int = 3, lease: Duration = .seconds(30), concurrency: Int = 4) -> WorkerSettings {
        WorkerSettings(
            concurrency: concurrency, lease: lease, idlePoll: .milliseconds(20), claimBatch: 8, completionBatch: 8, storeDeadline: .seconds(10),
            retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: .milliseconds(100), maxDelay: .seconds(1)))
    }

    @Test("a job done or refused for good is finished at its first attempt")
    func doneAndPermanent() async {
        let queue = MemoryQueue(jobs: 2)
        let handler = ScriptedHandler(queue: queue) { job in job.jobID == 1 ? .done("stored") : .permanent(code: 400_001, message: "refused") }
        let worker = JobWorker(handler: handler, settings: Self.settings(), logger: Self.logger)
        #expect(await worker.runOnce(workerID: "w", limit: 8) == 2)
        #expect(queue.row(1).status == "done" && queue.row(1).finalMessage == "stored")
        #expect(queue.row(2).status == "failed" && queue.row(2).finalMessage == "refused")
        #expect(handler.recordedOutcomes.withLock { $0.sorted() } == ["done", "failed"])
    }

    @Test("a transient failure is retried with back-off within the policy's ceiling until the attempt limit, then failed for good")
    func attemptLimitAndBackoff() async {
        let queue = MemoryQueue(jobs: 1)
        let handler = ScriptedHandler(queue: queue) { _ in .transient(code: 500_001, message: "timeout") }
        let settings = Self.settings(maxAttempts: 3)
        let worker = JobWorker(handler: handler, settings: settings, logger: Self.logger)
        for _ in 0..<3 {
            queue.makeDue(1)
            #expect(await worker.runOnce(workerID: "w") == 1)
        }
        let row = queue.row(1)
        #expect(row.status == "failed")
        #expect(row.attempts == 3)
        #expect(row.finalMessage == "gave up after 3 attempts: timeout")
        #expect(row.retryDelays.count == 2)
        for (index, delay) in row.retryDelays.enumerated() {
            #expect(delay <= settings.retry.ceiling(afterFailedAttempts: index + 1))
        }
        queue.makeDue(1)
        #expect(await worker.runOnce(workerID: "w") == 0, "a failed job is never claimed again")
    }

    @Test("a job claimed past the attempt limit (earlier attempts lost with a crash) is failed without an attempt, naming the last failure")
    func claimedPastTheLimit() async {
        let queue = MemoryQueue(jobs: 1, attempts: 3, lastMessage: "HTTP 503")
        let handler = ScriptedHandler(queue: queue) { _ in .done("never") }
        let worker = JobWorker(handler: handler, settings: Self.settings(maxAttempts: 3), logger: Self.logger)
        #expect(await worker.runOnce(workerID: "w") == 1)
        #expect(queue.row(1).status == "failed")
        #expect(queue.row(1).finalMessage == "gave up after 3 attempts: HTTP 503")
        #expect(handler.attempts.withLock { $0 } == 0)
    }

    @Test("an outcome whose lease was lost is not recorded: the job belongs to the worker that took it")
    func leaseLoss() async {
        let queue = MemoryQueue(jobs: 1)
        let handler = ScriptedHandler(queue: queue) { job in
            queue.steal(job.jobID)
            return .done("late")
        }
        let worker = JobWorker(handler: handler, settings: Self.settings(), logger: Self.logger)
        #expect(await worker.runOnce(workerID: "w") == 1)
        #expect(queue.row(1).status == "processing")
        #expect(queue.row(1).owner == "another-worker")
        #expect(handler.recordedOutcomes.withLock { $0.isEmpty })
    }

    @Test("a running worker renews the leases of jobs in flight, so a slow attempt keeps its job")
    func leaseRenewal() async throws {
        let queue = MemoryQueue(jobs: 1)
        let gate = Gate()
        let handler = ScriptedHandler(queue: queue) { _ in
            await gate.wait()
            return .done("slow")
        }
        // A 9 s lease is renewed every 3 s, so a renewal may come 6 s late on a loaded machine before the job could be
        // claimed again; the attempt waits until two renewals were seen, however slow the machine.
        let worker = JobWorker(handler: handler, settings: Self.settings(lease: .seconds(9)), logger: Self.logger)
        let group = ServiceGroup(configuration: .init(services: [worker], gracefulShutdownSignals: [], logger: Self.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await waitUntil("two renewals") { queue.row(1).renewals >= 2 }
            #expect(queue.row(1).owner == worker.workerID)
            gate.open()
            try await waitUntil("the job done") { queue.row(1).status == "done" }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(queue.row(1).attempts == 1, "never claimed twice")
    }

    @Test("graceful shutdown stops claiming and drains the jobs in flight, writing their outcomes")
    func shutdownDrain() async throws {
        let queue = MemoryQueue(jobs: 4)
        let gate = Gate()
        let handler = ScriptedHandler(queue: queue) { _ in
            await gate.wait()
            return .done("drained")
        }
        let worker = JobWorker(handler: handler, settings: Self.settings(concurrency: 3), logger: Self.logger)
        // The trigger takes effect at once (a ServiceGroup's trigger is delivered later, racing the gate).
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await worker.run() }
                try await waitUntil("three jobs in flight") { handler.attempts.withLock { $0 } == 3 }
                trigger.triggerGracefulShutdown()
                gate.open()
                try await tasks.waitForAll()
            }
        }
        #expect(queue.statuses() == ["done": 3, "pending": 1])
        #expect(handler.recordedOutcomes.withLock { $0 } == ["done", "done", "done"])
    }

    @Test("claims that fail are retried (backing off) and the queue is worked once the store answers again")
    func claimFailuresBackOff() async throws {
        let queue = MemoryQueue(jobs: 2)
        queue.failNextClaims(2)
        let handler = ScriptedHandler(queue: queue) { _ in .done("after the outage") }
        let worker = JobWorker(handler: handler, settings: Self.settings(), logger: Self.logger)
        let group = ServiceGroup(configuration: .init(services: [worker], gracefulShutdownSignals: [], logger: Self.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await waitUntil("both jobs done") { queue.statuses()["done"] == 2 }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(queue.claims >= 3)
    }
}
