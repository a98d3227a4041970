public import Foundation
public import GigyaClient
import GigyaKit
public import Logging
public import ServiceLifecycle
import Synchronization
public import VaultStore

/// How the workers pace themselves.
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

/// Takes login events from the inbox, fetches the provider session from Gigya and stores it sealed.
/// At-least-once in, exactly-once effect: every step is idempotent and guarded by the lease.
///
/// One claimer keeps up to `concurrency` events in flight, claiming as many as there are free slots in one query; each
/// event's Gigya call runs in its own task; outcomes are written by group commit; a renewer extends the leases of the
/// events in flight. Throughput is then `concurrency / round trip`, not one call per loop.
public struct SessionWorker: Service {
    private let inbox: any EventInbox
    private let sites: SiteDirectory
    private let settings: WorkerSettings
    /// The lease owner for every event this instance claims.
    private let workerID: String
    private let metrics: VaultMetrics
    private let logger: Logger

    public init(inbox: any EventInbox, sites: SiteDirectory, settings: WorkerSettings, metrics: VaultMetrics, logger: Logger) {
        self.inbox = inbox
        self.sites = sites
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.workerID = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }

    /// Runs until graceful shutdown: stops claiming, lets every event in flight finish and its outcome be written.
    public func run() async throws {
        let inFlight = InFlightEvents(capacity: settings.concurrency)
        let completions = GroupCommitter<EventOutcome, Bool>(
            maxBatch: settings.completionBatch, maxQueued: max(settings.concurrency, 1) * 2, deadline: settings.storeDeadline
        ) { [inbox, workerID] outcomes in try await inbox.finish(outcomes, worker: workerID) }
        await withDiscardingTaskGroup { group in
            group.addTask { await renewLeases(of: inFlight) }
            await claimLoop(inFlight: inFlight, group: &group) { event in
                await process(event) { outcome in try await completions.submit(outcome) }
            }
            inFlight.close()
        }
    }

    /// Claims while there are free slots and starts a task per claimed event, until graceful shutdown.
    private func claimLoop(
        inFlight: InFlightEvents,
        group: inout DiscardingTaskGroup,
        process: @escaping @Sendable (LoginEvent) async -> Void
    ) async {
        var failedClaims = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let free = await inFlight.waitForFreeSlots()
            guard free > 0 else { return }
            let claimed: [LoginEvent]
            do {
                let limit = min(free, settings.claimBatch)
                claimed = try await withDeadline(settings.storeDeadline) { [inbox, workerID, settings] in
                    try await inbox.claim(worker: workerID, limit: limit, lease: settings.lease)
                }
                failedClaims = 0
            } catch {
                // A failed claim backs off, so a database outage is not hammered by every instance.
                failedClaims += 1
                var random = SystemRandomNumberGenerator()
                let delay = settings.retry.delay(afterFailedAttempts: failedClaims, using: &random)
                logger.warning("claiming from the inbox failed", metadata: ["error": "\(String(reflecting: error))", "delay": "\(delay)"])
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: min(delay, .seconds(5))) }
                continue
            }
            if claimed.isEmpty {
                try? await cancelWhenGracefulShutdown { [settings] in try await Task.sleep(for: settings.idlePoll) }
                continue
            }
            for event in claimed {
                inFlight.insert(event.id)
                group.addTask {
                    await process(event)
                    inFlight.remove(event.id)
                }
            }
        }
    }

    /// Extends the leases of the events in flight every third of the lease, until the worker has stopped and drained.
    private func renewLeases(of inFlight: InFlightEvents) async {
        let interval = settings.lease / 3
        while true {
            let (ids, closed) = inFlight.snapshot()
            if closed && ids.isEmpty { return }
            if !ids.isEmpty {
                do {
                    let held = try await withDeadline(settings.storeDeadline) { [inbox, workerID, settings] in
                        try await inbox.renewLeases(ids: ids, worker: workerID, lease: settings.lease)
                    }
                    if held.count < ids.count {
                        logger.notice("leases lost while in flight; another worker may take those events", metadata: ["lost": "\(ids.count - held.count)"])
                    }
                } catch {
                    logger.warning("renewing leases failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            try? await Task.sleep(for: closed ? .milliseconds(50) : interval)
        }
    }

    /// Claims at most one event and processes it, writing its outcome directly; returns whether there was work.
    /// For tests and tools that drive the worker step by step.
    @discardableResult
    public func runOnce(workerID: String) async -> Bool {
        let claimed: [LoginEvent]
        do {
            claimed = try await inbox.claim(worker: workerID, limit: 1, lease: settings.lease)
        } catch {
            logger.warning("claiming from the inbox failed", metadata: ["error": "\(String(reflecting: error))"])
            return false
        }
        for event in claimed {
            await process(event) { [inbox] outcome in try await inbox.finish([outcome], worker: workerID)[0] }
        }
        return !claimed.isEmpty
    }

    /// One attempt at one event: fetch (the client decrypts), then hand the outcome to `record`, which seals and writes
    /// it and says whether this worker still held the lease.
    func process(_ event: LoginEvent, record: @Sendable (EventOutcome) async throws -> Bool) async {
        var logger = logger
        logger[metadataKey: "event_id"] = "\(event.id)"
        logger[metadataKey: "provider"] = "\(event.provider)"
        logger[metadataKey: "attempt"] = "\(event.attempts)"
        let outcome = await attempt(event, logger: logger)
        do {
            if try await record(outcome) {
                switch outcome {
                case .stored:
                    metrics.eventFinished(outcome: "stored")
                    logger.info("provider session stored")
                case .failed:
                    metrics.eventFinished(outcome: "failed")
                case .retry:
                    metrics.eventFinished(outcome: "retry")
                }
            } else {
                logger.notice("lease lost before the outcome was recorded; another worker owns the event now")
            }
        } catch {
            // The lease will run out and the event be claimed again; that claim counts as another attempt.
            metrics.eventFinished(outcome: "store_error")
            logger.warning("recording the outcome failed; the event will be retried when its lease runs out",
                           metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// What one attempt at the event came to.
    private func attempt(_ event: LoginEvent, logger: Logger) async -> EventOutcome {
        guard let site = sites.site(apiKey: event.site) else {
            logger.error("login event names a site that is no longer configured")
            return .failed(id: event.id, code: nil, message: "site \(event.site) is not configured")
        }
        // Claims count attempts, so failures that never reached this point (a store error, a crash) count too.
        guard event.attempts <= settings.retry.maxAttempts else {
            logger.error("giving up after \(event.attempts - 1) attempts")
            return .failed(id: event.id, code: event.lastErrorCode, message: "gave up after \(event.attempts - 1) attempts: \(event.lastErrorMessage ?? "no answer")")
        }
        do {
            // The Gigya client times and counts the call itself, through the same metrics factory.
            let session = try await site.gigya.getSessionInfo(uid: event.uid, provider: event.provider)
            return .stored(id: event.id, session: SessionRecord(site: event.site, uid: event.uid, provider: event.provider, fetched: session))
        } catch {
            let code = error.gigyaCode
            let message = error.summary
            guard error.isTransient else {
                logger.error("permanent Gigya failure", metadata: ["gigya_code": "\(code.map(String.init) ?? "-")"])
                return .failed(id: event.id, code: code, message: message)
            }
            guard event.attempts < settings.retry.maxAttempts else {
                logger.error("giving up after \(event.attempts) attempts", metadata: ["gigya_code": "\(code.map(String.init) ?? "-")"])
                return .failed(id: event.id, code: code, message: "gave up after \(event.attempts) attempts: \(message)")
            }
            var random = SystemRandomNumberGenerator()
            let delay = settings.retry.delay(afterFailedAttempts: event.attempts, using: &random)
            logger.notice("retryable Gigya failure; retrying later", metadata: ["gigya_code": "\(code.map(String.init) ?? "-")", "delay": "\(delay)"])
            return .retry(id: event.id, delay: delay, code: code, message: message)
        }
    }
}

/// The events this instance has in flight: bounded by `capacity`; the claimer waits for a free slot.
final class InFlightEvents: Sendable {
    private struct State {
        var ids: Set<UUID> = []
        var closed = false
        var slotWaiter: CheckedContinuation<Void, Never>?
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    func insert(_ id: UUID) {
        state.withLock { _ = $0.ids.insert(id) }
    }

    func remove(_ id: UUID) {
        let waiter = state.withLock { state in
            state.ids.remove(id)
            defer { state.slotWaiter = nil }
            return state.slotWaiter
        }
        waiter?.resume()
    }

    /// No more claims: the renewer stops once the last event in flight is done.
    func close() {
        state.withLock { $0.closed = true }
    }

    /// The ids in flight and whether the worker has stopped claiming.
    func snapshot() -> (ids: [UUID], closed: Bool) {
        state.withLock { (Array($0.ids), $0.closed) }
    }

    /// Returns the number of free slots once there is at least one (0 when the task is cancelled or shutting down).
    func waitForFreeSlots() async -> Int {
        while true {
            let free = state.withLock { capacity - $0.ids.count }
            if free > 0 { return free }
            if Task.isCancelled || Task.isShuttingDownGracefully { return 0 }
            // One claimer waits; `remove` wakes it. Graceful shutdown lets in-flight events finish, which frees slots.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.ids.count < capacity { return true }
                    state.slotWaiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}

extension SessionRecord {
    /// The record to seal for a session just fetched from Gigya.
    init(site: String, uid: String, provider: String, fetched session: ProviderSession, at fetchedAt: Date = Date()) {
        self.init(
            site: site,
            uid: uid,
            provider: provider,
            providerUID: session.providerUID,
            authToken: session.authToken,
            tokenSecret: session.tokenSecret,
            sessionHandle: session.sessionHandle,
            tokenExpiration: session.tokenExpiration,
            sessionExpiration: session.sessionExpiration,
            fetchedAt: fetchedAt
        )
    }
}
