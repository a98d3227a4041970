public import Foundation
public import GigyaClient
import GigyaKit
public import Logging
public import VaultStore

extension LoginEvent: LeasedJob {
    public var jobID: UUID { id }
    public var lastFailure: (code: Int?, message: String?) { (lastErrorCode, lastErrorMessage) }
}

/// The login events of the inbox as a leased queue.
public struct LoginEventQueue: LeasedQueue {
    let inbox: any EventInbox

    public var name: String { "sessions" }

    public func claim(worker: String, limit: Int, lease: Duration) async throws -> [LoginEvent] {
        try await inbox.claim(worker: worker, limit: limit, lease: lease)
    }

    public func renew(_ ids: [UUID], worker: String, lease: Duration) async throws -> Set<UUID> {
        try await inbox.renewLeases(ids: ids, worker: worker, lease: lease)
    }

    /// One transaction for the whole batch: sessions sealed and stored, events marked.
    public func finish(_ outcomes: [(id: UUID, outcome: JobOutcome<SessionRecord>)], worker: String) async throws -> [Bool] {
        try await inbox.finish(
            outcomes.map { id, outcome in
                switch outcome {
                case .done(let session): .stored(id: id, session: session)
                case .failed(let code, let message): .failed(id: id, code: code, message: message)
                case .retry(let delay, let code, let message): .retry(id: id, delay: delay, code: code, message: message)
                }
            }, worker: worker)
    }
}

/// Fetches a login event's provider session from Gigya (the client decrypts it); the store seals it when the outcome
/// is written. At-least-once in, exactly-once effect: every step is idempotent and guarded by the lease.
public struct SessionFetcher: JobHandler {
    public let queue: LoginEventQueue
    let sites: SiteDirectory
    let metrics: VaultMetrics

    public func annotate(_ logger: inout Logger, for event: LoginEvent) {
        logger[metadataKey: "event_id"] = "\(event.id)"
        logger[metadataKey: "provider"] = "\(event.provider)"
    }

    public func attempt(_ event: LoginEvent, logger: Logger) async -> JobAttempt<SessionRecord> {
        guard let site = sites.site(apiKey: event.site) else {
            logger.error("login event names a site that is no longer configured")
            return .permanent(code: nil, message: "site \(event.site) is not configured")
        }
        do {
            // The Gigya client times and counts the call itself, through the same metrics factory.
            let session = try await site.gigya.getSessionInfo(uid: event.uid, provider: event.provider)
            return .done(SessionRecord(site: event.site, uid: event.uid, provider: event.provider, fetched: session))
        } catch {
            guard error.isTransient else {
                logger.error("permanent Gigya failure", metadata: ["gigya_code": "\(error.gigyaCode.map(String.init) ?? "-")"])
                return .permanent(code: error.gigyaCode, message: error.summary)
            }
            return .transient(code: error.gigyaCode, message: error.summary)
        }
    }

    public func recorded(_ outcome: JobOutcome<SessionRecord>, for event: LoginEvent, logger: Logger) {
        switch outcome {
        case .done:
            metrics.eventFinished(outcome: "stored")
            logger.info("provider session stored")
        case .failed: metrics.eventFinished(outcome: "failed")
        case .retry: metrics.eventFinished(outcome: "retry")
        }
    }
}

/// Takes login events from the inbox, fetches each provider session from Gigya and stores it sealed.
public typealias SessionWorker = JobWorker<SessionFetcher>

extension JobWorker where Handler == SessionFetcher {
    /// The session worker over an inbox and the configured sites.
    public init(inbox: any EventInbox, sites: SiteDirectory, settings: WorkerSettings, metrics: VaultMetrics, logger: Logger) {
        self.init(
            handler: SessionFetcher(queue: LoginEventQueue(inbox: inbox), sites: sites, metrics: metrics), settings: settings, metrics: metrics,
            logger: logger)
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
