public import Foundation
public import GigyaClient
import GigyaKit
public import VaultStore

/// Who is asking: the access key behind a read, recorded in the audit log.
public struct AccessActor: Sendable, Equatable {
    public let keyID: UUID?
    public let name: String

    public init(keyID: UUID?, name: String) {
        self.keyID = keyID
        self.name = name
    }
}

extension AccessActor {
    /// An audit entry for something this actor did.
    func entry(_ action: String, site: String, uid: String, provider: String?, detail: String?) -> AuditEntry {
        AuditEntry(actorKeyID: keyID, actorName: name, action: action, site: site, uid: uid, provider: provider, detail: detail)
    }
}

/// Why a session operation could not be done.
public enum SessionServiceError: Error, Sendable, Equatable {
    /// No stored session for that user and provider.
    case notFound
    /// A stored session did not open with the key ring (wrong or missing data key, tampered row); the read is audited.
    case unreadable
    /// The request's site could not be resolved.
    case site(SiteResolutionError)
    /// Gigya refused or failed the refresh; `retryable` tells whether trying later may help.
    case gigya(code: Int?, message: String, retryable: Bool, noSession: Bool)
    /// As many Gigya calls as allowed are in flight for requests; nothing was called.
    case gigyaBusy
}

/// Serves stored sessions to backends: metadata, audited token reads and deletes, and coalesced refreshes.
public struct SessionService: Sendable {
    private let sessions: any SessionRepository
    private let audit: any AuditLog
    private let sites: SiteDirectory
    private let refreshes: RefreshCoalescer
    private let metrics: VaultMetrics
    /// Bounds the Gigya calls refreshes make at once (shared with the other calls requests wait on).
    private let gigyaCalls: InFlightLimit

    public init(sessions: any SessionRepository, audit: any AuditLog, sites: SiteDirectory, metrics: VaultMetrics, gigyaCalls: InFlightLimit) {
        self.sessions = sessions
        self.audit = audit
        self.sites = sites
        self.metrics = metrics
        self.gigyaCalls = gigyaCalls
        self.refreshes = RefreshCoalescer()
    }

    /// Resolves the site a read API request means.
    public func site(apiKey: String?) throws(SessionServiceError) -> GigyaSite {
        do {
            return try sites.resolve(apiKey: apiKey)
        } catch {
            throw .site(error)
        }
    }

    /// Stored providers for a user, without tokens.
    public func metadata(site: String, uid: String) async throws -> [SessionMetadata] {
        try await sessions.metadata(site: site, uid: uid)
    }

    /// The plain tokens of one stored session; the read is in the audit log before any token leaves, and so is a read
    /// that found nothing or a row that did not open.
    public func tokens(site: String, uid: String, provider: String, actor: AccessActor) async throws -> SessionRecord {
        let record: SessionRecord?
        do {
            record = try await sessions.session(site: site, uid: uid, provider: provider)
        } catch let error as SealError {
            try await audit.record(actor.entry("session.read", site: site, uid: uid, provider: provider, detail: "unreadable: \(error.auditCode)"))
            throw SessionServiceError.unreadable
        }
        try await audit.record(actor.entry("session.read", site: site, uid: uid, provider: provider, detail: record == nil ? "not_found" : "ok"))
        guard let record else { throw SessionServiceError.notFound }
        metrics.tokenRead(provider: provider)
        return record
    }

    /// Deletes one provider's session, or all of the user's when `provider` is nil: cancels their unfinished events, leaves
    /// a tombstone so nothing fetched before now is written after, and audits, all in one transaction.
    public func delete(site: String, uid: String, provider: String?, actor: AccessActor) async throws -> DeleteOutcome {
        try await sessions.delete(site: site, uid: uid, provider: provider, audit: actor.entry("session.delete", site: site, uid: uid, provider: provider, detail: nil))
    }

    /// Fetches a stored session from Gigya again now and stores it; concurrent refreshes of one session share one Gigya
    /// call. A session that is not stored, or is deleted while the refresh runs, is `notFound`; every outcome is audited.
    public func refresh(site: GigyaSite, uid: String, provider: String, actor: AccessActor) async throws -> SessionMetadata {
        let key = RefreshCoalescer.Key(site: site.apiKey, uid: uid, provider: provider)
        do {
            let metadata = try await refreshes.run(key) {
                // The refresh starts at the database's clock, the one a delete's tombstone is stamped with.
                guard let startedAt = try await sessions.refreshStart(site: site.apiKey, uid: uid, provider: provider) else {
                    throw SessionServiceError.notFound
                }
                let session: ProviderSession
                do {
                    session = try await gigyaCalls.run { () async throws(GigyaCallError) in try await site.gigya.getSessionInfo(uid: uid, provider: provider) }
                } catch is InFlightLimit.Exhausted {
                    throw SessionServiceError.gigyaBusy
                } catch let error as GigyaCallError {
                    throw SessionServiceError.gigya(
                        code: error.gigyaCode,
                        message: error.summary,
                        retryable: error.isTransient,
                        noSession: error.disposition == .noSession
                    )
                }
                let record = SessionRecord(site: site.apiKey, uid: uid, provider: provider, fetched: session)
                guard try await sessions.upsert(record, eventID: nil, fetchStartedAt: startedAt) else { throw SessionServiceError.notFound }
                let stored = try await sessions.metadata(site: site.apiKey, uid: uid)
                guard let fresh = stored.first(where: { $0.provider == provider }) else { throw SessionServiceError.notFound }
                return fresh
            }
            try await audit.record(actor.entry("session.refresh", site: site.apiKey, uid: uid, provider: provider, detail: "ok"))
            return metadata
        } catch let error as SessionServiceError {
            try await audit.record(actor.entry("session.refresh", site: site.apiKey, uid: uid, provider: provider, detail: error.auditDetail))
            throw error
        }
    }
}

extension SessionServiceError {
    /// How the audit log names a refused operation: a code, never a message from upstream.
    var auditDetail: String {
        switch self {
        case .notFound: "not_found"
        case .unreadable: "unreadable"
        case .site: "unknown_site"
        case .gigyaBusy: "gigya_busy"
        case .gigya(let code, _, let retryable, let noSession):
            noSession ? "no_provider_session" : "\(retryable ? "gigya_unavailable" : "gigya_error") \(code.map(String.init) ?? "-")"
        }
    }
}

extension SealError {
    /// A short, stable name for the audit log.
    var auditCode: String {
        switch self {
        case .unknownKeyID: "unknown_key_id"
        case .authenticationFailed: "authentication_failed"
        }
    }
}

/// Collapses concurrent refreshes of one session into one piece of work whose result every caller shares.
actor RefreshCoalescer {
    struct Key: Hashable, Sendable {
        let site: String
        let uid: String
        let provider: String
    }

    private var inFlight: [Key: Task<SessionMetadata, any Error>] = [:]

    func run(_ key: Key, _ work: @escaping @Sendable () async throws -> SessionMetadata) async throws -> SessionMetadata {
        if let running = inFlight[key] {
            return try await running.value
        }
        let task = Task { try await work() }
        inFlight[key] = task
        defer { inFlight[key] = nil }
        return try await task.value
    }
}
