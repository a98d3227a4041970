public import Foundation
import GigyaClient
import GigyaKit
public import Logging
public import ServiceLifecycle
public import VaultStore

/// Sends accepted links to Gigya with the workers' machinery (leases, retries with backoff, the attempt limit) and, on
/// success, moves the user's stored data from the Gigya UID to the site UID in the same transaction as the link.
public struct LinkWorker: Service {
    private let store: any LinkRepository
    private let sites: SiteDirectory
    private let settings: WorkerSettings
    private let workerID: String
    private let metrics: VaultMetrics
    private let logger: Logger

    public init(store: any LinkRepository, sites: SiteDirectory, settings: WorkerSettings, metrics: VaultMetrics = .discarding, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.sites = sites
        self.settings = settings
        self.logger = logger
        self.workerID = "links-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }

    public func run() async throws {
        await QueueLoop.run(
            settings: settings, batch: min(settings.claimBatch, 16), logger: logger, queue: "link",
            claim: { [store, workerID, settings] limit in try await store.claimLinks(worker: workerID, limit: limit, lease: settings.lease) },
            process: { link in await process(link, worker: workerID) }
        )
    }

    /// Claims and sends at most one link, recording its outcome; returns whether there was one. For tests and tools.
    @discardableResult
    public func runOnce(workerID: String) async -> Bool {
        guard let link = try? await store.claimLinks(worker: workerID, limit: 1, lease: settings.lease).first else { return false }
        await process(link, worker: workerID)
        return true
    }

    /// Claims the link `id` if it is due and sends it, recording its outcome; false when it was not due.
    @discardableResult
    public func runOnce(linkID id: UUID, workerID: String) async -> Bool {
        guard let link = try? await store.claimLink(id: id, worker: workerID, lease: settings.lease) else { return false }
        await process(link, worker: workerID)
        return true
    }

    /// One attempt at one link, and its outcome recorded.
    func process(_ link: AccountLink, worker: String) async {
        var logger = logger
        logger[metadataKey: "link_id"] = "\(link.id)"
        logger[metadataKey: "attempt"] = "\(link.attempts)"
        let outcome = await attempt(link, logger: logger)
        do {
            let (recorded, moved) = try await withDeadline(settings.storeDeadline) { [store] in try await store.finishLink(outcome, worker: worker) }
            if recorded {
                switch outcome {
                case .linked: metrics.linkFinished(outcome: "linked")
                case .failed: metrics.linkFinished(outcome: "failed")
                case .retry: metrics.linkFinished(outcome: "retry")
                }
            }
            if !recorded {
                logger.notice("the link's lease was lost before its outcome was recorded; another worker owns it now")
            } else if let moved {
                logger.info("link confirmed by Gigya; the user's data moved to the site UID", metadata: ["moved": "\(moved.summary)"])
            }
        } catch {
            logger.warning("recording the link's outcome failed; it is retried when its lease runs out", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    private func attempt(_ link: AccountLink, logger: Logger) async -> LinkOutcome {
        guard let site = sites.site(apiKey: link.site), let directory = site.directory else {
            return .failed(id: link.id, code: nil, message: "site \(link.site) is not configured for linking")
        }
        guard link.attempts <= settings.retry.maxAttempts else {
            return .failed(id: link.id, code: link.lastErrorCode, message: "gave up after \(link.attempts - 1) attempts: \(link.lastErrorMessage ?? "no answer")")
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
                        return .linked(id: link.id)
                    }
                    return retryOrFail(link, error, logger: logger)
                }
            }
            logger.error("the site UID became a Gigya UID before the link was sent; nothing was sent")
            return .failed(id: link.id, code: nil, message: "site_uid_taken: Gigya knows the siteUID as a UID; linking would merge two accounts")
        } catch {
            if !error.isUnknownUser { return retryOrFail(link, error, logger: logger) }
        }
        do {
            switch link.via {
            case .notifyRegistration: try await directory.notifyRegistration(uid: link.uid, siteUID: link.siteUID)
            case .setUID: try await directory.setUID(uid: link.uid, siteUID: link.siteUID)
            }
            return .linked(id: link.id)
        } catch {
            return retryOrFail(link, error, logger: logger)
        }
    }

    /// A transient failure is retried with backoff until the attempt limit; a permanent one fails the link with Gigya's code.
    private func retryOrFail(_ link: AccountLink, _ error: GigyaCallError, logger: Logger) -> LinkOutcome {
        let code = error.gigyaCode
        guard error.isTransient else {
            logger.error("Gigya refused the link", metadata: ["gigya_code": "\(code.map(String.init) ?? "-")"])
            return .failed(id: link.id, code: code, message: error.summary)
        }
        guard link.attempts < settings.retry.maxAttempts else {
            return .failed(id: link.id, code: code, message: "gave up after \(link.attempts) attempts: \(error.summary)")
        }
        var random = SystemRandomNumberGenerator()
        let delay = settings.retry.delay(afterFailedAttempts: link.attempts, using: &random)
        logger.notice("retryable failure sending the link; retrying later", metadata: ["gigya_code": "\(code.map(String.init) ?? "-")"])
        return .retry(id: link.id, delay: delay, code: code, message: error.summary)
    }
}
