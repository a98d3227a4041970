public import Foundation
import GigyaClient
public import Logging
public import ServiceLifecycle
public import VaultStore

/// Acts on Gigya's account events, in order per UID: a deletion purges the user (and a tombstone keeps it purged), a UID
/// change or a merge moves everything stored to the new UID (for a provider both hold, the newer fetch wins), a login
/// refreshes the user's sessions where the site asks for it; other types are recorded and acknowledged.
public struct AccountEventWorker: Service {
    private let events: any AccountEventRepository
    private let lifecycle: any AccountLifecycleStore
    private let sessions: SessionService
    private let sites: SiteDirectory
    private let settings: WorkerSettings
    private let workerID: String
    private let metrics: VaultMetrics
    private let logger: Logger

    /// The actor every change made for an account event is audited under.
    static let actor = AccessActor(keyID: nil, name: "gigya-account-events")

    public init(
        events: any AccountEventRepository, lifecycle: any AccountLifecycleStore, sessions: SessionService, sites: SiteDirectory,
        settings: WorkerSettings, metrics: VaultMetrics = .discarding, logger: Logger
    ) {
        self.events = events
        self.metrics = metrics
        self.lifecycle = lifecycle
        self.sessions = sessions
        self.sites = sites
        self.settings = settings
        self.logger = logger
        self.workerID = "events-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    }

    public func run() async throws {
        await QueueLoop.run(
            settings: settings, batch: min(settings.claimBatch, 32), logger: logger, queue: "account event",
            claim: { [events, workerID, settings] limit in try await events.claimAccountEvents(worker: workerID, limit: limit, lease: settings.lease) },
            process: { event in await process(event, worker: workerID) }
        )
    }

    /// Claims and processes the due events once; returns how many there were. For tests and tools.
    @discardableResult
    public func runOnce(workerID: String) async -> Int {
        guard let claimed = try? await events.claimAccountEvents(worker: workerID, limit: 32, lease: settings.lease) else { return 0 }
        for event in claimed { await process(event, worker: workerID) }
        return claimed.count
    }

    func process(_ event: AccountEvent, worker: String) async {
        var logger = logger
        logger[metadataKey: "account_event"] = "\(event.eventID)"
        logger[metadataKey: "type"] = "\(event.type)"
        let outcome: AccountEventOutcome
        do {
            outcome = try await act(on: event)
        } catch {
            if event.attempts >= settings.retry.maxAttempts {
                logger.error("giving up on an account event", metadata: ["error": "\(String(reflecting: error))"])
                outcome = .failed(seq: event.seq, outcome: "gave up after \(event.attempts) attempts: \(Self.describe(error))")
            } else {
                var random = SystemRandomNumberGenerator()
                let delay = settings.retry.delay(afterFailedAttempts: event.attempts, using: &random)
                logger.notice("an account event failed; retrying later", metadata: ["error": "\(String(reflecting: error))"])
                outcome = .retry(seq: event.seq, delay: delay, outcome: Self.describe(error))
            }
        }
        do {
            let recorded = try await withDeadline(settings.storeDeadline) { [events] in try await events.finishAccountEvent(outcome, worker: worker) }
            if recorded {
                let name: String =
                    switch outcome {
                    case .processed: "processed"
                    case .ignored: "ignored"
                    case .failed: "failed"
                    case .retry: "retry"
                    }
                metrics.accountEventFinished(type: event.type, outcome: name)
            } else {
                logger.notice("the account event's lease was lost; another worker owns it now")
            }
        } catch {
            logger.warning("recording an account event's outcome failed; it is redone when its lease runs out (every action is idempotent)")
        }
    }

    /// What the event does; throws when the store fails (the event is then retried).
    private func act(on event: AccountEvent) async throws -> AccountEventOutcome {
        let detail = "event=\(event.eventID)"
        switch event.type {
        case "accountDeleted":
            // Before anything is deleted, Gigya itself must say the account is gone: a notification proves who sent it,
            // not that a stored user may be purged on its word alone.
            guard try await gigyaKnows(event.uid, site: event.site) == false else {
                return .failed(seq: event.seq, outcome: "not purged: Gigya still knows the UID")
            }
            let purged = try await lifecycle.purgeUser(
                site: event.site, uid: event.uid,
                audit: Self.actor.entry("account.deleted", site: event.site, uid: event.uid, provider: nil, detail: detail))
            return .processed(seq: event.seq, outcome: purged.summary)
        case "accountUidChanged", "accountMerged":
            guard let newUID = event.newUID, newUID != event.uid else {
                return .failed(seq: event.seq, outcome: "no newUid")
            }
            // A moved or merged-away UID is unknown to Gigya and the new one known. When neither is known any more the
            // account moved and was then deleted (a later event is about the new UID): what is stored under the old UID
            // belongs to no account, and is purged rather than moved.
            guard try await gigyaKnows(event.uid, site: event.site) == false else {
                return .failed(seq: event.seq, outcome: "not moved: Gigya still knows the old UID")
            }
            guard try await gigyaKnows(newUID, site: event.site) else {
                let purged = try await lifecycle.purgeUser(
                    site: event.site, uid: event.uid,
                    audit: Self.actor.entry("account.deleted", site: event.site, uid: event.uid, provider: nil, detail: detail + " gone_after=\(event.type)"))
                return .processed(seq: event.seq, outcome: "neither UID is known to Gigya; " + purged.summary)
            }
            let action = event.type == "accountMerged" ? "account.merged" : "account.uid_changed"
            let moved = try await lifecycle.rekeyUser(
                site: event.site, from: event.uid, to: newUID,
                audit: Self.actor.entry(action, site: event.site, uid: newUID, provider: nil, detail: detail))
            return .processed(seq: event.seq, outcome: moved.summary)
        case "accountLoggedIn":
            guard let site = sites.site(apiKey: event.site), site.accounts.refreshOnLogin else {
                return .ignored(seq: event.seq, outcome: "recorded; refresh on login is off for this site")
            }
            var refreshed = 0
            var failed = 0
            for stored in try await sessions.metadata(site: event.site, uid: event.uid) {
                do {
                    _ = try await sessions.refresh(site: site, uid: event.uid, provider: stored.provider, actor: Self.actor)
                    refreshed += 1
                } catch is SessionServiceError {
                    failed += 1
                }
            }
            return .processed(seq: event.seq, outcome: "refreshed=\(refreshed) failed=\(failed)")
        default:
            return .ignored(seq: event.seq, outcome: "recorded; session-vault does not act on \(event.type)")
        }
    }

    /// Whether Gigya knows `uid` on the site now (`socialize.getUserInfo`; 403005 and 404003 mean it does not). Throws when
    /// Gigya cannot say, or the site has no directory to ask: the event is then retried, never acted on unconfirmed.
    private func gigyaKnows(_ uid: String, site apiKey: String) async throws -> Bool {
        guard let directory = sites.site(apiKey: apiKey)?.directory else {
            throw AccountEventUnconfirmed.noDirectory
        }
        do throws(GigyaCallError) {
            _ = try await directory.getUserInfo(uid: uid)
            return true
        } catch where error.isUnknownUser {
            return false
        }
    }

    /// A store failure for the event's row: its type only, never data.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case let error as GigyaCallError: "Gigya could not confirm: \(error.summary)"
        case is AccountEventUnconfirmed: "no Gigya directory is configured for the site to confirm with"
        default: "store error: \(type(of: error))"
        }
    }
}

/// An account event that cannot be confirmed with Gigya.
enum AccountEventUnconfirmed: Error {
    /// The site has no directory (user lookups) to ask.
    case noDirectory
}
