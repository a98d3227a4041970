public import Foundation
import GigyaClient
import GigyaKit
public import Logging
public import VaultStore

extension AccountEvent: LeasedJob {
    public var jobID: Int64 { seq }
    public var lastFailure: (code: Int?, message: String?) { (nil, outcome) }
}

/// What acting on an account event came to, when it did not fail.
public enum AccountEventResult: Sendable, Equatable {
    /// Acted upon; the text counts what changed.
    case processed(String)
    /// Recorded and acknowledged, nothing to do.
    case ignored(String)
    /// Cannot be acted upon (an event Gigya does not confirm, a missing newUid): failed for good, with why.
    case failed(String)
}

/// Gigya's account events as a leased queue: an event is claimed only when no earlier event about the same UIDs is
/// unfinished (docs/gigya-protocol.md §7: events are ordered per UID).
public struct AccountEventQueue: LeasedQueue {
    let events: any AccountEventRepository

    public var name: String { "account_events" }

    public func claim(worker: String, limit: Int, lease: Duration) async throws -> [AccountEvent] {
        try await events.claimAccountEvents(worker: worker, limit: limit, lease: lease)
    }

    public func renew(_ ids: [Int64], worker: String, lease: Duration) async throws -> Set<Int64> {
        try await events.renewAccountEventLeases(seqs: ids, worker: worker, lease: lease)
    }

    public func finish(_ outcomes: [(id: Int64, outcome: JobOutcome<AccountEventResult>)], worker: String) async throws -> [Bool] {
        var recorded: [Bool] = []
        for (seq, outcome) in outcomes {
            let row: AccountEventOutcome =
                switch outcome {
                case .done(.processed(let text)): .processed(seq: seq, outcome: text)
                case .done(.ignored(let text)): .ignored(seq: seq, outcome: text)
                case .done(.failed(let text)), .failed(_, let text): .failed(seq: seq, outcome: text)
                case .retry(let delay, _, let text): .retry(seq: seq, delay: delay, outcome: text)
                }
            recorded.append(try await events.finishAccountEvent(row, worker: worker))
        }
        return recorded
    }
}

/// Acts on Gigya's account events, in order per UID: a deletion purges the user (and a tombstone keeps it purged), a UID
/// change or a merge moves everything stored to the new UID (for a provider both hold, the newer fetch wins), a login
/// refreshes the user's sessions where the site asks for it; other types are recorded and acknowledged. Before anything
/// is purged or moved, Gigya is asked whether the event is true.
public struct AccountEventHandler: JobHandler {
    public let queue: AccountEventQueue
    let lifecycle: any AccountLifecycleStore
    let sessions: SessionService
    let sites: SiteDirectory
    let metrics: VaultMetrics

    /// The actor every change made for an account event is audited under.
    static let actor = AccessActor(keyID: nil, name: "gigya-account-events")

    public func annotate(_ logger: inout Logger, for event: AccountEvent) {
        logger[metadataKey: "account_event"] = "\(event.eventID)"
        logger[metadataKey: "type"] = "\(event.type)"
    }

    public func attempt(_ event: AccountEvent, logger: Logger) async -> JobAttempt<AccountEventResult> {
        do {
            return .done(try await act(on: event))
        } catch {
            logger.notice("an account event failed", metadata: ["error": "\(String(reflecting: error))"])
            return .transient(code: (error as? GigyaCallError)?.gigyaCode, message: Self.describe(error))
        }
    }

    public func recorded(_ outcome: JobOutcome<AccountEventResult>, for event: AccountEvent, logger: Logger) {
        let name: String =
            switch outcome {
            case .done(.processed): "processed"
            case .done(.ignored): "ignored"
            case .done(.failed), .failed: "failed"
            case .retry: "retry"
            }
        metrics.accountEventFinished(type: event.type, outcome: name)
    }

    /// What the event does; throws when the store fails (the event is then retried).
    func act(on event: AccountEvent) async throws -> AccountEventResult {
        let detail = "event=\(event.eventID)"
        switch event.type {
        case .deleted:
            // Before anything is deleted, Gigya itself must say the account is gone: a notification proves who sent it,
            // not that a stored user may be purged on its word alone.
            guard try await gigyaKnows(event.uid, site: event.site) == false else {
                return .failed("not purged: Gigya still knows the UID")
            }
            let purged = try await lifecycle.purgeUser(
                site: event.site, uid: event.uid,
                audit: Self.actor.entry("account.deleted", site: event.site, uid: event.uid, provider: nil, detail: detail))
            return .processed(purged.summary)
        case .uidChanged, .merged:
            guard let newUID = event.newUID, newUID != event.uid else {
                return .failed("no newUid")
            }
            // A moved or merged-away UID is unknown to Gigya and the new one known. When neither is known any more the
            // account moved and was then deleted (a later event is about the new UID): what is stored under the old UID
            // belongs to no account, and is purged rather than moved.
            guard try await gigyaKnows(event.uid, site: event.site) == false else {
                return .failed("not moved: Gigya still knows the old UID")
            }
            guard try await gigyaKnows(newUID, site: event.site) else {
                let purged = try await lifecycle.purgeUser(
                    site: event.site, uid: event.uid,
                    audit: Self.actor.entry("account.deleted", site: event.site, uid: event.uid, provider: nil, detail: detail + " gone_after=\(event.type)"))
                return .processed("neither UID is known to Gigya; " + purged.summary)
            }
            let action = event.type == .merged ? "account.merged" : "account.uid_changed"
            let moved = try await lifecycle.rekeyUser(
                site: event.site, from: event.uid, to: newUID,
                audit: Self.actor.entry(action, site: event.site, uid: newUID, provider: nil, detail: detail))
            return .processed(moved.summary)
        case .loggedIn:
            guard let site = sites.site(apiKey: event.site), site.accounts.refreshOnLogin else {
                return .ignored("recorded; refresh on login is off for this site")
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
            return .processed("refreshed=\(refreshed) failed=\(failed)")
        case .other(let name):
            return .ignored("recorded; session-vault does not act on \(name)")
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

    /// Why an attempt failed: the kind of failure only, never data.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case let error as GigyaCallError: "Gigya could not confirm: \(error.summary)"
        case is AccountEventUnconfirmed: "no Gigya directory is configured for the site to confirm with"
        default: "store error: \(type(of: error))"
        }
    }
}

/// Acts on Gigya's account events with the job engine.
public typealias AccountEventWorker = JobWorker<AccountEventHandler>

extension JobWorker where Handler == AccountEventHandler {
    /// The account-event worker; at most 32 events in flight.
    public init(
        events: any AccountEventRepository, lifecycle: any AccountLifecycleStore, sessions: SessionService, sites: SiteDirectory,
        settings: WorkerSettings, metrics: VaultMetrics = .discarding, logger: Logger
    ) {
        let handler = AccountEventHandler(
            queue: AccountEventQueue(events: events), lifecycle: lifecycle, sessions: sessions, sites: sites, metrics: metrics)
        self.init(handler: handler, settings: settings, slots: min(settings.concurrency, 32), metrics: metrics, logger: logger)
    }
}

/// An account event that cannot be confirmed with Gigya.
enum AccountEventUnconfirmed: Error {
    /// The site has no directory (user lookups) to ask.
    case noDirectory
}
