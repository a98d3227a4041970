public import Foundation
public import VaultStore

/// The read API's repositories with a deadline on every call: a database that stops answering, or a pool with no free
/// connection, becomes `DeadlineExceeded` (answered 503) instead of a request that never returns. PostgreSQL's
/// `statement_timeout` bounds a statement; this bounds the whole call, the wait for a connection included.
public struct DeadlineBoundedStore: SessionRepository, AuditLog, AccessKeyRepository, LinkRepository {
    private let sessions: any SessionRepository
    private let audit: any AuditLog
    private let keys: any AccessKeyRepository
    private let linkStore: any LinkRepository
    private let deadline: Duration

    public init(_ store: some SessionRepository & AuditLog & AccessKeyRepository & LinkRepository, deadline: Duration) {
        self.sessions = store
        self.audit = store
        self.keys = store
        self.linkStore = store
        self.deadline = deadline
    }

    public func upsert(_ record: SessionRecord, eventID: UUID?, fetchStartedAt: Date) async throws -> Bool {
        try await withDeadline(deadline) { [sessions] in try await sessions.upsert(record, eventID: eventID, fetchStartedAt: fetchStartedAt) }
    }

    public func refreshStart(site: String, uid: String, provider: String) async throws -> Date? {
        try await withDeadline(deadline) { [sessions] in try await sessions.refreshStart(site: site, uid: uid, provider: provider) }
    }

    public func metadata(site: String, uid: String) async throws -> [SessionMetadata] {
        try await withDeadline(deadline) { [sessions] in try await sessions.metadata(site: site, uid: uid) }
    }

    public func session(site: String, uid: String, provider: String) async throws -> SessionRecord? {
        try await withDeadline(deadline) { [sessions] in try await sessions.session(site: site, uid: uid, provider: provider) }
    }

    public func delete(site: String, uid: String, provider: String?, audit entry: AuditEntry) async throws -> DeleteOutcome {
        try await withDeadline(deadline) { [sessions] in try await sessions.delete(site: site, uid: uid, provider: provider, audit: entry) }
    }

    public func record(_ entry: AuditEntry) async throws {
        try await withDeadline(deadline) { [audit] in try await audit.record(entry) }
    }

    public func recentAudit(limit: Int) async throws -> [AuditRecord] {
        try await withDeadline(deadline) { [audit] in try await audit.recentAudit(limit: limit) }
    }

    public func createKey(name: String, scopes: [String], sites: AccessKeySites) async throws -> (record: AccessKeyRecord, plaintext: String) {
        try await withDeadline(deadline) { [keys] in try await keys.createKey(name: name, scopes: scopes, sites: sites) }
    }

    public func authenticate(_ presented: String) async throws -> AccessKeyRecord? {
        try await withDeadline(deadline) { [keys] in try await keys.authenticate(presented) }
    }

    public func listKeys() async throws -> [AccessKeyRecord] {
        try await withDeadline(deadline) { [keys] in try await keys.listKeys() }
    }

    public func revokeKey(nameOrID: String) async throws -> Bool {
        try await withDeadline(deadline) { [keys] in try await keys.revokeKey(nameOrID: nameOrID) }
    }

    public func requestLink(_ link: NewAccountLink) async throws -> LinkRequestOutcome {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.requestLink(link) }
    }

    public func link(site: String, siteUID: String) async throws -> AccountLink? {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.link(site: site, siteUID: siteUID) }
    }

    public func links(site: String, uid: String) async throws -> [AccountLink] {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.links(site: site, uid: uid) }
    }

    public func links(sites: [String]?, statuses: [LinkStatus]?, limit: Int, after cursor: LinkCursor?) async throws -> LinkPage {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.links(sites: sites, statuses: statuses, limit: limit, after: cursor) }
    }

    public func forgetLink(site: String, siteUID: String, audit entry: AuditEntry) async throws -> AccountLink? {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.forgetLink(site: site, siteUID: siteUID, audit: entry) }
    }

    public func claimLinks(worker: String, limit: Int, lease: Duration) async throws -> [AccountLink] {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.claimLinks(worker: worker, limit: limit, lease: lease) }
    }

    public func renewLinkLeases(ids: [UUID], worker: String, lease: Duration) async throws -> Set<UUID> {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.renewLinkLeases(ids: ids, worker: worker, lease: lease) }
    }

    public func finishLink(_ outcome: LinkOutcome, worker: String) async throws -> (recorded: Bool, rekey: RekeyOutcome?) {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.finishLink(outcome, worker: worker) }
    }

    public func claimLink(id: UUID, worker: String, lease: Duration) async throws -> AccountLink? {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.claimLink(id: id, worker: worker, lease: lease) }
    }

    public func retryLink(id: UUID, expecting status: LinkStatus, audit entry: AuditEntry) async throws -> Bool {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.retryLink(id: id, expecting: status, audit: entry) }
    }

    public func linkCounts() async throws -> [LinkStatus: Int] {
        try await withDeadline(deadline) { [linkStore] in try await linkStore.linkCounts() }
    }
}
