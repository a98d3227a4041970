public import Foundation
public import GigyaClient
import Crypto
import GigyaKit
public import Logging
public import VaultStore

/// What the admin page reads and does, as the domain: signing in (throttled, refusals counted and audited in
/// aggregate), the overview's counts, a user's records, failed events, reconciliation findings and the audit log. Every
/// store call is bounded by the database deadline; changes to sessions go through `SessionService`, so they are audited
/// as the API's are. The page renders what this answers and never reaches the store.
public struct AdminConsole: Sendable {
    /// The repositories the page reads.
    public typealias Store = AdminStore & EventInbox & SessionRepository & LinkRepository & AccountEventRepository & ReconciliationStore
        & AccessKeyRepository & AuditLog

    public struct Settings: Sendable, Equatable {
        /// Minutes a sign-in lasts.
        public var sessionMinutes: Int
        /// Sign-in attempts one peer may make per minute, and all peers together.
        public var signInsPerPeerPerMinute: Int
        public var signInsPerMinute: Int
        /// The bound on every store call.
        public var deadline: Duration

        public init(sessionMinutes: Int = 60, signInsPerPeerPerMinute: Int = 10, signInsPerMinute: Int = 100, deadline: Duration = .seconds(5)) {
            self.sessionMinutes = sessionMinutes
            self.signInsPerPeerPerMinute = signInsPerPeerPerMinute
            self.signInsPerMinute = signInsPerMinute
            self.deadline = deadline
        }
    }

    /// Why a sign-in was refused; the raw value is the metric's `reason`.
    public enum SignInRefusal: String, Sendable {
        /// Too many attempts from the peer or overall; try again after the wait.
        case rateLimited = "rate_limited"
        /// Not a live key with the `admin` scope.
        case notAdmin = "not_admin"
        /// An admin key bound to some sites: the page shows and changes every site.
        case notAllSites = "not_all_sites"
        /// A form not posted from the page's own origin.
        case origin
    }

    /// What a sign-in came to.
    public enum SignIn: Sendable {
        /// Signed in: `token` is the session cookie's value (only its hash is stored).
        case signedIn(token: String)
        case refused(SignInRefusal, retryAfter: Duration?)
    }

    public let settings: Settings
    private let store: any Store
    private let sessions: SessionService
    private let metrics: VaultMetrics
    private let logger: Logger
    private let signIns: SignInGuard

    public init(store: some Store, sessions: SessionService, metrics: VaultMetrics, settings: Settings, logger: Logger) {
        self.store = store
        self.sessions = sessions
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
        self.signIns = SignInGuard(settings: .init(perPeer: settings.signInsPerPeerPerMinute, overall: settings.signInsPerMinute))
    }

    private func bounded<T: Sendable>(_ operation: @escaping @Sendable (any Store) async throws -> T) async throws -> T {
        try await withDeadline(settings.deadline) { [store] in try await operation(store) }
    }

    // MARK: Signing in and out

    /// Checks `presented` (throttled per peer and overall before the key is looked at, so guessing is slow whatever the
    /// guesses are) and opens a session for a live admin key granted every site.
    public func signIn(key presented: String, peer: String) async throws -> SignIn {
        if let wait = signIns.admit(peer: peer) {
            try await refuse(.rateLimited, peer: peer, key: nil)
            return .refused(.rateLimited, retryAfter: wait)
        }
        let record = presented.isEmpty ? nil : try await bounded { try await $0.authenticate(presented) }
        guard let record, record.scopes.contains(AccessScope.admin.rawValue) else {
            try await refuse(.notAdmin, peer: peer, key: record)
            return .refused(.notAdmin, retryAfter: nil)
        }
        guard record.sites == .all else {
            try await refuse(.notAllSites, peer: peer, key: record)
            return .refused(.notAllSites, retryAfter: nil)
        }
        let token = Self.randomToken()
        let expires = Date().addingTimeInterval(Double(settings.sessionMinutes * 60))
        try await bounded { store in
            try await store.createAdminSession(
                tokenHash: Self.hash(token), csrfToken: Self.randomToken(), keyID: record.id, keyName: record.name, expiresAt: expires)
            try await store.record(AuditEntry(actorKeyID: record.id, actorName: "admin:\(record.name)", action: "admin.sign_in", site: "*"))
        }
        return .signedIn(token: token)
    }

    /// Counts a form refused for its origin (no audit row: nothing identifies who sent it).
    public func refuseForeignForm() {
        metrics.adminSignInRefused(reason: SignInRefusal.origin.rawValue)
        logger.notice("admin form refused: not posted from this origin")
    }

    /// Counts a refused sign-in, and audits refusals in aggregate: at most one row per peer per minute, with the count
    /// since the last one (a flood of guesses writes a row a minute, not a row a guess).
    private func refuse(_ reason: SignInRefusal, peer: String, key: AccessKeyRecord?) async throws {
        metrics.adminSignInRefused(reason: reason.rawValue)
        logger.notice("admin sign-in refused", metadata: ["reason": "\(reason.rawValue)"])
        guard let count = signIns.noteRefusal(peer: peer) else { return }
        try await bounded { store in
            try await store.record(AuditEntry(
                actorKeyID: key?.id, actorName: key.map { "key:\($0.name)" } ?? "anonymous", action: "admin.sign_in_refused", site: "*",
                detail: "refused=\(count) peer=\(peer) last=\(reason.rawValue)"))
        }
    }

    /// The live session a cookie's value opens: not expired, its key neither revoked nor stripped of `admin`.
    public func session(cookie token: String) async throws -> AdminSessionRecord? {
        try await bounded { try await $0.adminSession(tokenHash: Self.hash(token)) }
    }

    /// Ends the cookie's session (audited when it was live).
    public func signOut(cookie token: String, session: AdminSessionRecord?) async throws {
        try await bounded { store in
            try await store.deleteAdminSession(tokenHash: Self.hash(token))
            if let session {
                try await store.record(AuditEntry(actorKeyID: session.keyID, actorName: "admin:\(session.keyName)", action: "admin.sign_out", site: "*"))
            }
        }
    }

    /// Who a signed-in admin is in the audit log.
    public static func actor(_ session: AdminSessionRecord) -> AccessActor {
        AccessActor(keyID: session.keyID, name: "admin:\(session.keyName)")
    }

    // MARK: What the pages show

    /// The overview's counts.
    public struct Overview: Sendable {
        public var intake: InboxStats
        public var failedByCode: [(code: Int?, count: Int)]
        public var tokensByExpiry: [TokenExpiryCount]
        public var links: [LinkStatus: Int]
        public var accountEvents: [AccountEventStatus: Int]
        public var lastRun: ReconciliationRun?
    }

    public func overview() async throws -> Overview {
        try await bounded { store in
            Overview(
                intake: try await store.stats(), failedByCode: try await store.failedEventCounts(), tokensByExpiry: try await store.tokensByExpiry(),
                links: try await store.linkCounts(), accountEvents: try await store.accountEventCounts(), lastRun: try await store.latestRun(site: nil))
        }
    }

    /// What is kept about one user of a site.
    public struct UserRecord: Sendable {
        public var sessions: [SessionMetadata]
        public var links: [AccountLink]
        public var loginEvents: [LoginEvent]
        public var accountEvents: [AccountEvent]
        public var audit: [AuditRecord]
    }

    public func user(site: String, uid: String) async throws -> UserRecord {
        try await bounded { store in
            UserRecord(
                sessions: try await store.metadata(site: site, uid: uid), links: try await store.links(site: site, uid: uid),
                loginEvents: try await store.recentEvents(site: site, uid: uid, limit: 20),
                accountEvents: try await store.accountEvents(site: site, uid: uid, limit: 20),
                audit: try await store.audit(AuditFilter(site: site, uid: uid), limit: 50))
        }
    }

    /// The sessions stored for a user (what a delete would remove).
    public func sessions(site: String, uid: String) async throws -> [SessionMetadata] {
        try await bounded { try await $0.metadata(site: site, uid: uid) }
    }

    /// Deletes every session of the user, audited, cancelling its pending login events.
    public func deleteUser(site: String, uid: String, by session: AdminSessionRecord) async throws {
        _ = try await sessions.delete(site: site, uid: uid, provider: nil, actor: Self.actor(session))
    }

    /// Fetches one session from Gigya now, as `POST …/refresh` does.
    public func refresh(site: GigyaSite, uid: String, provider: String, by session: AdminSessionRecord) async throws {
        _ = try await sessions.refresh(site: site, uid: uid, provider: provider, actor: Self.actor(session))
    }

    /// Failed login events, newest first, before `before`.
    public func failedEvents(before: Date?, limit: Int) async throws -> [LoginEvent] {
        try await bounded { try await $0.failedEvents(limit: limit, before: before) }
    }

    /// Puts a failed event back to pending, audited; false when it is no longer failed.
    public func requeue(event id: UUID, by session: AdminSessionRecord) async throws -> Bool {
        let entry = AuditEntry(actorKeyID: session.keyID, actorName: Self.actor(session).name, action: "event.requeue", site: "")
        return try await bounded { try await $0.requeueEvent(id: id, audit: entry) }
    }

    /// The newest run of a site, and a page of its findings (by category when given, after the cursor `after`).
    public struct Findings: Sendable {
        public var run: ReconciliationRun
        public var items: [ReconciliationItem]
        /// The cursor of the next page; nil on the last.
        public var next: String?
    }

    public func latestRun(site: String) async throws -> ReconciliationRun? {
        try await bounded { try await $0.latestRun(site: site) }
    }

    public func findings(site: String, category: ReconciliationCategory?, after: String?, limit: Int) async throws -> Findings? {
        try await bounded { store in
            guard let run = try await store.latestRun(site: site) else { return nil }
            let items = try await store.items(runID: run.id, category: category, limit: limit + 1, after: after)
            let page = Array(items.prefix(limit))
            return Findings(run: run, items: page, next: items.count > limit ? page.last?.key : nil)
        }
    }

    /// Audit entries matching `filter`, newest first.
    public func audit(_ filter: AuditFilter, limit: Int) async throws -> [AuditRecord] {
        try await bounded { try await $0.audit(filter, limit: limit) }
    }

    // MARK: Tokens

    static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(token.utf8)))
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
