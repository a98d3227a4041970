public import Foundation

/// The durable inbox of verified login callbacks and the work queue the session workers drain.
public protocol EventInbox: Sendable {
    /// Writes a batch in ONE transaction (group commit); outcomes come back in input order, a known replay key as `.duplicate`.
    func enqueue(_ events: [NewLoginEvent]) async throws -> [EnqueueOutcome]
    /// One event by id.
    func event(id: UUID) async throws -> LoginEvent?
    /// Leases up to `limit` due events (pending, or processing with an expired lease) to `worker`, without blocking other claimers.
    func claim(worker: String, limit: Int, lease: Duration) async throws -> [LoginEvent]
    /// Extends the leases `worker` still holds; returns the ids it still holds.
    func renewLeases(ids: [UUID], worker: String, lease: Duration) async throws -> Set<UUID>
    /// Records several outcomes in ONE transaction (group commit for completions); per outcome, false (nothing written) if
    /// `worker` no longer held that event's lease.
    func finish(_ outcomes: [EventOutcome], worker: String) async throws -> [Bool]
    /// Seals and stores the session and marks the event stored, in one transaction; false (nothing written) if `worker` lost the lease.
    func complete(id: UUID, worker: String, session: SessionRecord) async throws -> Bool
    /// Marks the event failed for good; false if `worker` no longer holds it.
    func fail(id: UUID, worker: String, code: Int?, message: String) async throws -> Bool
    /// Puts the event back to pending, due after `delay`; false if `worker` no longer holds it.
    func retryLater(id: UUID, worker: String, delay: Duration, code: Int?, message: String) async throws -> Bool
    /// Counts by status and the age of the oldest pending event.
    func stats() async throws -> InboxStats
    /// Calls `onEvent` with the id of every event stored or failed from now on, in any instance, until cancelled or the
    /// connection drops (then it throws).
    func listenForFinishedEvents(_ onEvent: @escaping @Sendable (UUID) -> Void) async throws
    /// Deletes up to `limit` stored, failed or cancelled events finished before `before` (oldest first); returns how many.
    func purgeFinishedEvents(before: Date, limit: Int) async throws -> Int
    /// Deletes replay keys that expired before `before`; returns how many.
    func purgeExpiredReplayKeys(before: Date) async throws -> Int
}

/// Provider sessions, sealed at rest, plaintext only in memory.
public protocol SessionRepository: Sendable {
    /// Seals and inserts or replaces the session (an older `fetchedAt` never overwrites a newer one); false, with nothing
    /// written, when the user's session was deleted at or after `fetchStartedAt` (a tombstone).
    @discardableResult
    func upsert(_ record: SessionRecord, eventID: UUID?, fetchStartedAt: Date) async throws -> Bool
    /// The database's time now if a session is stored for that key, else nil: when a refresh starts, for the tombstone check.
    func refreshStart(site: String, uid: String, provider: String) async throws -> Date?
    /// Every stored session of a user, without tokens.
    func metadata(site: String, uid: String) async throws -> [SessionMetadata]
    /// One session, opened with the key ring.
    func session(site: String, uid: String, provider: String) async throws -> SessionRecord?
    /// Deletes one provider's session, or all of the user's when `provider` is nil, cancels the user's unfinished events for
    /// them, leaves a tombstone and appends `audit` (its detail filled in), all in one transaction.
    func delete(site: String, uid: String, provider: String?, audit: AuditEntry) async throws -> DeleteOutcome
}

/// access keys for the read API: only a SHA-256 of each key is stored.
public protocol AccessKeyRepository: Sendable {
    /// Creates a key for `sites` and returns its plaintext once (`svk_<prefix>_<secret>`); a taken name throws
    /// `AccessKeyError.duplicateName`.
    func createKey(name: String, scopes: [String], sites: AccessKeySites) async throws -> (record: AccessKeyRecord, plaintext: String)
    /// The key's record, or nil when unknown or revoked.
    func authenticate(_ presented: String) async throws -> AccessKeyRecord?
    /// Every key, revoked ones included, oldest first.
    func listKeys() async throws -> [AccessKeyRecord]
    /// Revokes by name or id; false when no live key matched.
    func revokeKey(nameOrID: String) async throws -> Bool
}

/// Who read or deleted which tokens, and when.
public protocol AuditLog: Sendable {
    /// Appends one entry.
    func record(_ entry: AuditEntry) async throws
    /// The newest `limit` entries, newest first.
    func recentAudit(limit: Int) async throws -> [AuditRecord]
}

/// Re-sealing stored tokens under the ring's primary key.
public protocol DataKeyRotator: Sendable {
    /// Re-seals rows not under the primary key, batch by batch; safe to interrupt and re-run.
    func rotateDataKeys(batchSize: Int) async throws -> RotationReport
    /// Stored rows per key id.
    func rowsPerKey() async throws -> [String: Int]
    /// Key ids found in stored rows but absent from the ring.
    func unknownKeyIDs() async throws -> [String]
}

/// Links between Gigya UIDs and the site's own ids, and the work of telling Gigya about them.
public protocol LinkRepository: Sendable {
    /// Stores a new link (and its audit entry) unless either id is already linked here; decided under both ids' locks.
    func requestLink(_ link: NewAccountLink) async throws -> LinkRequestOutcome
    /// The link of a site UID.
    func link(site: String, siteUID: String) async throws -> AccountLink?
    /// Every link naming `uid` as Gigya UID or site UID.
    func links(site: String, uid: String) async throws -> [AccountLink]
    /// A page of links (of `sites` when given, in `statuses` when given), newest first.
    func links(sites: [String]?, statuses: [LinkStatus]?, limit: Int, after cursor: LinkCursor?) async throws -> LinkPage
    /// Deletes the link of a site UID locally (Gigya is not told) and audits it; nil when there was none.
    func forgetLink(site: String, siteUID: String, audit: AuditEntry) async throws -> AccountLink?
    /// Leases up to `limit` due links to `worker`, without blocking other claimers.
    func claimLinks(worker: String, limit: Int, lease: Duration) async throws -> [AccountLink]
    /// Extends the leases `worker` still holds on the links `ids`; returns those.
    func renewLinkLeases(ids: [UUID], worker: String, lease: Duration) async throws -> Set<UUID>
    /// Records one attempt's outcome if `worker` still holds the lease; a success also moves the user's data from the
    /// Gigya UID to the site UID, in the same transaction.
    func finishLink(_ outcome: LinkOutcome, worker: String) async throws -> (recorded: Bool, rekey: RekeyOutcome?)
    /// Leases one link by id if it is due (reconciliation's repair sends exactly the link it re-queued); nil otherwise.
    func claimLink(id: UUID, worker: String, lease: Duration) async throws -> AccountLink?
    /// Puts a link back to be sent now, with a fresh attempt budget (reconciliation's repair), if it is still `status`
    /// (failed, pending or linked); false when it changed meanwhile or a worker holds it.
    func retryLink(id: UUID, expecting status: LinkStatus, audit: AuditEntry) async throws -> Bool
    /// Links by status.
    func linkCounts() async throws -> [LinkStatus: Int]
}

/// Gigya's account events, received by webhook and processed by workers.
public protocol AccountEventRepository: Sendable {
    /// Stores a notification's events with its nonce in one transaction; an event id already stored for the site is a
    /// duplicate; a nonce already accepted with another body stores nothing (`.nonceReused`).
    func storeAccountEvents(_ events: [NewAccountEvent], notification: NotificationStamp) async throws -> AccountEventStoreResult
    /// Leases up to `limit` due events whose UIDs have no earlier unfinished event.
    func claimAccountEvents(worker: String, limit: Int, lease: Duration) async throws -> [AccountEvent]
    /// Records an outcome; false when `worker` no longer held the event.
    func finishAccountEvent(_ outcome: AccountEventOutcome, worker: String) async throws -> Bool
    /// Extends the leases `worker` still holds on the events `seqs`; returns those.
    func renewAccountEventLeases(seqs: [Int64], worker: String, lease: Duration) async throws -> Set<Int64>
    /// The newest events, of a site and a UID when given.
    func accountEvents(site: String?, uid: String?, limit: Int) async throws -> [AccountEvent]
    /// Events by status.
    func accountEventCounts() async throws -> [AccountEventStatus: Int]
    /// Deletes up to `limit` events finished before `before`, and up to `limit` expired notification nonces; returns how
    /// many events.
    func purgeFinishedAccountEvents(before: Date, limit: Int) async throws -> Int
}

/// What Gigya's account lifecycle does to stored data.
public protocol AccountLifecycleStore: Sendable {
    /// Moves everything stored under `from` to `to` (sessions, unfinished login events, links) in one transaction, audited.
    func rekeyUser(site: String, from: String, to: String, audit: AuditEntry) async throws -> RekeyOutcome
    /// Deletes a user's sessions and links and cancels its unfinished events, leaving a tombstone, in one transaction, audited.
    func purgeUser(site: String, uid: String, audit: AuditEntry) async throws -> PurgeOutcome
}

/// History that is kept for a retention period, then deleted by the janitor in batches.
public enum RetainedHistory: String, Sendable, CaseIterable {
    /// Deletion tombstones older than the cutoff that no unfinished login event created before them still needs.
    case tombstones
    /// Audit rows written before the cutoff.
    case auditRows
    /// Reconciliation runs (with their findings) last updated before the cutoff and not running, except the newest run of
    /// each site and mode, which the admin page and `GET /v1/admin/reconciliations/latest` show.
    case reconciliationRuns
}

/// Deletes retained history past its period.
public protocol RetentionStore: Sendable {
    /// Deletes up to `limit` rows of `history` older than `before` (oldest first); returns how many.
    func purge(_ history: RetainedHistory, before: Date, limit: Int) async throws -> Int
}
