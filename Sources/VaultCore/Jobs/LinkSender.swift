public import Foundation
import GigyaClient
import GigyaKit
public import Logging
public import VaultStore

extension AccountLink: LeasedJob {
    public var jobID: UUID { id }
    public var lastFailure: (code: Int?, message: String?) { (lastErrorCode, lastErrorMessage) }
}

/// The accepted links as a leased queue. A link is made in the transaction that moves the user's data to the site UID.
public struct LinkQueue: LeasedQueue {
    let store: any LinkRepository
    let logger: Logger

    public var name: String { "links" }

    public func claim(worker: String, limit: Int, lease: Duration) async throws -> [AccountLink] {
        try await store.claimLinks(worker: worker, limit: limit, lease: lease)
    }

    public func renew(_ ids: [UUID], worker: String, lease: Duration) async throws -> Set<UUID> {
        try await store.renewLinkLeases(ids: ids, worker: worker, lease: lease)
    }

    public func finish(_ outcomes: [(id: UUID, outcome: JobOutcome<Void>)], worker: String) async throws -> [Bool] {
        var recorded: [Bool] = []
        for (id, outcome) in outcomes {
            let link: LinkOutcome =
                switch outcome {
                case .done: .linked(id: id)
                case .failed(let code, let message): .failed(id: id, code: code, message: message)
                case .retry(let delay, let code, let message): .retry(id: id, delay: delay, code: code, message: message)
                }
            let (held, moved) = try await store.finishLink(link, worker: worker)
            if let moved {
                logger.info("link confirmed by Gigya; the user's data moved to the site UID", metadata: ["link_id": "\(id)", "moved": "\(moved.summary)"])
            }
            recorded.append(held)
        }
        return recorded
    }
}

/// Sends one accepted link to Gigya, after checking again that the site UID is not a Gigya UID (docs/gigya-protocol.md
/// §11: a siteUID that collides with an existing UID merges the accounts).
public struct LinkSender: JobHandler {
    public let queue: LinkQueue
    let sites: SiteDirectory
    let metrics: VaultMetrics

    public func annotate(_ logger: inout Logger, for link: AccountLink) {
        logger[metadataKey: "link_id"] = "\(link.id)"
    }

    public func attempt(_ link: AccountLink, logger: Logger) async -> JobAttempt<Void> {
        guard let site = sites.site(apiKey: link.site), let directory = site.directory else {
            return .permanent(code: nil, message: "site \(link.site) is not configured for linking")
        }
        // Checked again right before the call: a UID created at Gigya since the request would be merged into (§11).
        do {
            _ = try await directory.getUserInfo(uid: link.siteUID)
            // Known now. After an earlier attempt whose outcome was never recorded (no answer, a lost lease), the siteUID
            // is ours when the Gigya UID no longer answers: that attempt renamed the account.
            if link.attempts > 1 {
                do {
                    _ = try await directory.getUserInfo(uid: link.uid)
                } catch {
                    if error.isUnknownUser {
                        logger.notice("the site UID answers and the Gigya UID no longer does: an earlier attempt linked it")
                        return .done(())
                    }
                    return Self.failure(error, logger: logger)
                }
            }
            logger.error("the site UID became a Gigya UID before the link was sent; nothing was sent")
            return .permanent(code: nil, message: "site_uid_taken: Gigya knows the siteUID as a UID; linking would merge two accounts")
        } catch {
            if !error.isUnknownUser { return Self.failure(error, logger: logger) }
        }
        do {
            switch link.via {
            case .notifyRegistration: try await directory.notifyRegistration(uid: link.uid, siteUID: link.siteUID)
            case .setUID: try await directory.setUID(uid: link.uid, siteUID: link.siteUID)
            }
            return .done(())
        } catch {
            return Self.failure(error, logger: logger)
        }
    }

    public func recorded(_ outcome: JobOutcome<Void>, for link: AccountLink, logger: Logger) {
        metrics.linkFinished(outcome: outcome.name == "done" ? "linked" : outcome.name)
    }

    /// A transient failure is retried by the engine; a permanent one fails the link with Gigya's code.
    private static func failure(_ error: GigyaCallError, logger: Logger) -> JobAttempt<Void> {
        guard error.isTransient else {
            logger.error("Gigya refused the link", metadata: ["gigya_code": "\(error.gigyaCode.map(String.init) ?? "-")"])
            return .permanent(code: error.gigyaCode, message: error.summary)
        }
        return .transient(code: error.gigyaCode, message: error.summary)
    }
}

/// Sends accepted links to Gigya and, on success, moves the user's stored data to the site UID.
public typealias LinkWorker = JobWorker<LinkSender>

extension JobWorker where Handler == LinkSender {
    /// The link worker over the store and the configured sites; at most 16 links in flight.
    public init(store: any LinkRepository, sites: SiteDirectory, settings: WorkerSettings, metrics: VaultMetrics = .discarding, logger: Logger) {
        self.init(
            handler: LinkSender(queue: LinkQueue(store: store, logger: logger), sites: sites, metrics: metrics), settings: settings,
            slots: min(settings.concurrency, 16), metrics: metrics, logger: logger)
    }

    /// Claims the link `id` if it is due and sends it, recording its outcome; false when it was not due.
    @discardableResult
    public func runOnce(linkID id: UUID, workerID: String) async -> Bool {
        guard let link = try? await handler.queue.store.claimLink(id: id, worker: workerID, lease: settings.lease) else { return false }
        await runOnce([link], workerID: workerID)
        return true
    }
}
