public import Foundation
public import GigyaClient
import GigyaKit
public import Logging
public import ServiceLifecycle
public import VaultStore

/// How the workers pace themselves.
public struct WorkerSettings: Sendable {
    /// Concurrent worker loops in this instance; 0 runs none (intake only).
    public var concurrency: Int
    /// How long a claimed event stays reserved; a crashed worker's events are taken over after it.
    public var lease: Duration
    /// How long an idle loop waits before looking for work again.
    public var idlePoll: Duration
    /// Attempts and backoff (exponential, full jitter) for retryable failures; after `maxAttempts` they become permanent.
    public var retry: RetryPolicy

    public init(
        concurrency: Int = 4,
        lease: Duration = .seconds(60),
        idlePoll: Duration = .milliseconds(200),
        retry: RetryPolicy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(500), maxDelay: .seconds(300))
    ) {
        self.concurrency = max(0, concurrency)
        self.lease = lease
        self.idlePoll = idlePoll
        self.retry = retry
    }
}

/// Takes login events from the inbox, fetches the provider session from Gigya and stores it sealed.
/// At-least-once in, exactly-once effect: every step is idempotent and guarded by the lease.
public struct SessionWorker: Service {
    private let inbox: any EventInbox
    private let sites: SiteDirectory
    private let settings: WorkerSettings
    private let instanceID: String
    private let metrics: VaultMetrics
    private let logger: Logger

    public init(inbox: any EventInbox, sites: SiteDirectory, settings: WorkerSettings, metrics: VaultMetrics, logger: Logger) {
        self.inbox = inbox
        self.sites = sites
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.instanceID = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }

    /// Runs the worker loops until graceful shutdown; an event in flight is finished before returning.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for index in 0..<settings.concurrency {
                let workerID = "\(instanceID)/\(index)"
                group.addTask { await loop(workerID: workerID) }
            }
        }
    }

    private func loop(workerID: String) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let worked = await runOnce(workerID: workerID)
            if !worked {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.idlePoll) }
            }
        }
    }

    /// Claims at most one event and processes it; returns whether there was work.
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
            await process(event, workerID: workerID)
        }
        return !claimed.isEmpty
    }

    /// One attempt at one event: fetch, decrypt (inside the client), seal and complete in one transaction.
    func process(_ event: LoginEvent, workerID: String) async {
        var logger = logger
        logger[metadataKey: "event_id"] = "\(event.id)"
        logger[metadataKey: "provider"] = "\(event.provider)"
        logger[metadataKey: "attempt"] = "\(event.attempts)"
        guard let site = sites.site(apiKey: event.site) else {
            logger.error("login event names a site that is no longer configured")
            await finish(event, workerID: workerID, logger: logger) {
                try await inbox.fail(id: event.id, worker: workerID, code: nil, message: "site \(event.site) is not configured")
            }
            metrics.eventFinished(outcome: "failed")
            return
        }
        do {
            // The Gigya client times and counts the call itself, through the same metrics factory.
            let session = try await site.gigya.getSessionInfo(uid: event.uid, provider: event.provider)
            let record = SessionRecord(site: event.site, uid: event.uid, provider: event.provider, fetched: session)
            let completed = try await inbox.complete(id: event.id, worker: workerID, session: record)
            if completed {
                metrics.eventFinished(outcome: "stored")
                logger.info("provider session stored")
            } else {
                logger.notice("lease lost before completion; another worker owns the event now")
            }
        } catch let error as GigyaCallError {
            await handle(error, event: event, workerID: workerID, logger: logger)
        } catch {
            // A store failure: leave the lease to expire so another attempt (here or elsewhere) picks the event up.
            logger.warning("storing the provider session failed; the lease will expire and the event be retried",
                           metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    private func handle(_ error: GigyaCallError, event: LoginEvent, workerID: String, logger: Logger) async {
        let code = error.gigyaCode
        let message = error.summary
        if error.isTransient {
            if event.attempts >= settings.retry.maxAttempts {
                logger.error("giving up after \(event.attempts) attempts", metadata: ["gigya_code": "\(code.map(String.init) ?? "-")"])
                await finish(event, workerID: workerID, logger: logger) {
                    try await inbox.fail(id: event.id, worker: workerID, code: code, message: "gave up after \(event.attempts) attempts: \(message)")
                }
                metrics.eventFinished(outcome: "failed")
            } else {
                var random = SystemRandomNumberGenerator()
                let delay = settings.retry.delay(afterFailedAttempts: event.attempts, using: &random)
                logger.notice("retryable Gigya failure; retrying later",
                              metadata: ["gigya_code": "\(code.map(String.init) ?? "-")", "delay": "\(delay)"])
                await finish(event, workerID: workerID, logger: logger) {
                    try await inbox.retryLater(id: event.id, worker: workerID, delay: delay, code: code, message: message)
                }
                metrics.eventFinished(outcome: "retry")
            }
        } else {
            logger.error("permanent Gigya failure", metadata: ["gigya_code": "\(code.map(String.init) ?? "-")"])
            await finish(event, workerID: workerID, logger: logger) {
                try await inbox.fail(id: event.id, worker: workerID, code: code, message: message)
            }
            metrics.eventFinished(outcome: "failed")
        }
    }

    private func finish(_ event: LoginEvent, workerID: String, logger: Logger, _ body: () async throws -> Bool) async {
        do {
            if try await body() == false {
                logger.notice("lease lost before the outcome was recorded; another worker owns the event now")
            }
        } catch {
            logger.warning("recording the outcome failed; the lease will expire and the event be retried",
                           metadata: ["error": "\(String(reflecting: error))"])
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
