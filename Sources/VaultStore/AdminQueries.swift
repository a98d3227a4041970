public import Foundation

/// A signed-in admin-page session.
public struct AdminSessionRecord: Sendable, Equatable {
    public var csrfToken: String
    public var keyID: UUID
    public var keyName: String
    public var expiresAt: Date

    public init(csrfToken: String, keyID: UUID, keyName: String, expiresAt: Date) {
        self.csrfToken = csrfToken
        self.keyID = keyID
        self.keyName = keyName
        self.expiresAt = expiresAt
    }
}

/// How many stored tokens of a provider expire when.
public struct TokenExpiryCount: Sendable, Equatable {
    /// `expired`, `within_1_day`, `within_7_days`, `later` or `unknown` (no expiry, or not Unix seconds).
    public var bucket: String
    public var provider: String
    public var count: Int

    public init(bucket: String, provider: String, count: Int) {
        self.bucket = bucket
        self.provider = provider
        self.count = count
    }

    public static let buckets = ["expired", "within_1_day", "within_7_days", "later", "unknown"]
}

/// A filter for the audit log.
public struct AuditFilter: Sendable, Equatable {
    public var action: String?
    public var site: String?
    public var uid: String?
    public var actor: String?
    /// Entries older than this id (paging, newest first).
    public var beforeID: Int64?

    public init(action: String? = nil, site: String? = nil, uid: String? = nil, actor: String? = nil, beforeID: Int64? = nil) {
        self.action = action
        self.site = site
        self.uid = uid
        self.actor = actor
        self.beforeID = beforeID
    }
}

/// What the admin page reads and does beyond the other repositories.
public protocol AdminStore: Sendable {
    func createAdminSession(tokenHash: [UInt8], csrfToken: String, keyID: UUID, keyName: String, expiresAt: Date) async throws
    /// The live session of a cookie's hash: not expired, and its access key neither revoked nor stripped of `admin`.
    func adminSession(tokenHash: [UInt8]) async throws -> AdminSessionRecord?
    func deleteAdminSession(tokenHash: [UInt8]) async throws
    /// Failed login events by Gigya code (nil: no code).
    func failedEventCounts() async throws -> [(code: Int?, count: Int)]
    func tokensByExpiry() async throws -> [TokenExpiryCount]
    /// Failed login events, newest first, before `before` (their `updated_at`).
    func failedEvents(limit: Int, before: Date?) async throws -> [LoginEvent]
    /// Puts a failed event back to pending with a fresh attempt budget, audited; false when it is not failed.
    func requeueEvent(id: UUID, audit: AuditEntry) async throws -> Bool
    /// A user's newest login events.
    func recentEvents(site: String, uid: String, limit: Int) async throws -> [LoginEvent]
    /// Audit entries matching `filter`, newest first.
    func audit(_ filter: AuditFilter, limit: Int) async throws -> [AuditRecord]
}
