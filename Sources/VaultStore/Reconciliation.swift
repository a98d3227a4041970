public import Foundation

/// What reconciliation found for one link or user.
public enum ReconciliationCategory: String, Sendable, Codable, CaseIterable, Comparable {
    /// Gigya and session-vault agree.
    case ok
    /// A link not yet sent.
    case pending
    /// A link Gigya refused (with its code) or that used every attempt.
    case failed
    /// Gigya holds another UID than recorded: a siteUID lost, or a UID changed without the event reaching us.
    case drift
    /// Sessions or links under a UID Gigya no longer knows.
    case orphan
    /// One siteUID claimed by two accounts.
    case conflict
    /// Sessions with no link: for information.
    case unlinked

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Whether a repair has something to do about it.
    public var isRepairable: Bool {
        switch self {
        case .pending, .failed, .drift, .orphan: true
        case .ok, .conflict, .unlinked: false
        }
    }
}

/// How a run treats what it finds.
public enum ReconciliationMode: String, Sendable, Codable {
    /// Reports only; changes nothing.
    case dryRun = "dry_run"
    /// Re-sends pending and failed links, re-keys drift where Gigya is right, purges orphans when asked.
    case repair
}

/// Where a run stands.
public enum ReconciliationRunStatus: String, Sendable, Codable {
    case running
    case completed
    case interrupted
    case failed
}

/// One run.
public struct ReconciliationRun: Sendable, Equatable, Codable {
    public var id: UUID
    public var site: String
    public var mode: ReconciliationMode
    public var purgeOrphans: Bool
    public var status: ReconciliationRunStatus
    public var startedBy: String
    public var startedAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
    public var checked: Int
    public var total: Int
    public var checkpoint: String?
    public var error: String?
    /// Findings per category (filled in when read with counts).
    public var counts: [String: Int]

    public init(
        id: UUID, site: String, mode: ReconciliationMode, purgeOrphans: Bool, status: ReconciliationRunStatus, startedBy: String, startedAt: Date,
        updatedAt: Date, finishedAt: Date?, checked: Int, total: Int, checkpoint: String?, error: String?, counts: [String: Int] = [:]
    ) {
        self.id = id
        self.site = site
        self.mode = mode
        self.purgeOrphans = purgeOrphans
        self.status = status
        self.startedBy = startedBy
        self.startedAt = startedAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
        self.checked = checked
        self.total = total
        self.checkpoint = checkpoint
        self.error = error
        self.counts = counts
    }
}

/// One finding.
public struct ReconciliationItem: Sendable, Equatable, Codable {
    /// `link:<id>` or `user:<uid>`: unique in a run, and the order items are checked in.
    public var key: String
    public var category: ReconciliationCategory
    /// The UID session-vault stores the data under (a link's Gigya UID for links not yet linked).
    public var uid: String
    public var siteUID: String?
    /// What Gigya holds for it, when it differs.
    public var gigyaUID: String?
    public var gigyaCode: Int?
    public var detail: String
    /// What a repair did, if anything.
    public var action: String?

    public init(
        key: String, category: ReconciliationCategory, uid: String, siteUID: String? = nil, gigyaUID: String? = nil, gigyaCode: Int? = nil,
        detail: String, action: String? = nil
    ) {
        self.key = key
        self.category = category
        self.uid = uid
        self.siteUID = siteUID
        self.gigyaUID = gigyaUID
        self.gigyaCode = gigyaCode
        self.detail = detail
        self.action = action
    }
}

/// A user with stored sessions, as reconciliation checks it: its UID and the provider identities of its sessions.
public struct StoredUser: Sendable, Equatable {
    public var uid: String
    public var identities: [(provider: String, providerUID: String)]

    public init(uid: String, identities: [(provider: String, providerUID: String)]) {
        self.uid = uid
        self.identities = identities
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.uid == rhs.uid && lhs.identities.map { "\($0.provider)\u{0}\($0.providerUID)" } == rhs.identities.map { "\($0.provider)\u{0}\($0.providerUID)" }
    }
}

/// Runs, findings, and what reconciliation reads.
public protocol ReconciliationStore: Sendable {
    func createRun(site: String, mode: ReconciliationMode, purgeOrphans: Bool, startedBy: String, total: Int) async throws -> ReconciliationRun
    /// The newest interrupted run of the site with that mode (or a running one not updated for `staleAfter`), to resume.
    func resumableRun(site: String, mode: ReconciliationMode, staleAfter: Duration) async throws -> ReconciliationRun?
    /// Writes findings and moves the checkpoint, in one transaction.
    func recordItems(runID: UUID, items: [ReconciliationItem], checkpoint: String, checked: Int) async throws
    func markRun(id: UUID, status: ReconciliationRunStatus, total: Int?, error: String?) async throws
    func run(id: UUID) async throws -> ReconciliationRun?
    /// The newest run (of a site when given), with counts per category.
    func latestRun(site: String?) async throws -> ReconciliationRun?
    /// A run's findings, by category when given, in key order after `after`.
    func items(runID: UUID, category: ReconciliationCategory?, limit: Int, after: String?) async throws -> [ReconciliationItem]
    /// Links of a site in id order, after `afterID`.
    func linksForReconciliation(site: String, after afterID: UUID?, limit: Int) async throws -> [AccountLink]
    /// Users with stored sessions in UID order after `afterUID`, with their sessions' identities.
    func usersWithSessions(site: String, after afterUID: String?, limit: Int) async throws -> [StoredUser]
    /// The stored sessions' identities of those of `uids` with sessions, in one query.
    func storedUsers(site: String, uids: [String]) async throws -> [StoredUser]
    /// Links of the site plus users with sessions: what a run checks.
    func reconciliationTotal(site: String) async throws -> Int
}
