public import Foundation

/// Where a login event is in its life: waiting, leased to a worker, done, given up, or cancelled by a delete.
public enum LoginEventStatus: String, Sendable, Codable, CaseIterable {
    case pending, processing, stored, failed, cancelled
}

/// A verified login callback to be written durably to the inbox together with its replay key.
public struct NewLoginEvent: Sendable, CustomStringConvertible {
    public var site: String
    public var uid: String
    public var provider: String
    public var signatureTimestamp: Int64
    /// SHA-256 computed by VaultCore over the signed login result; the inbox refuses it twice.
    public var replayKey: [UInt8]
    /// When the replay key may be purged (the end of the signature window).
    public var replayExpiresAt: Date
    /// SHA-256 over the signed login result without the provider: every event it makes counts against one budget.
    public var loginKey: [UInt8]
    /// The most events one login result may make, across batches and instances.
    public var maxEventsPerLogin: Int

    public init(
        site: String, uid: String, provider: String, signatureTimestamp: Int64, replayKey: [UInt8], replayExpiresAt: Date,
        loginKey: [UInt8], maxEventsPerLogin: Int
    ) {
        self.site = site
        self.uid = uid
        self.provider = provider
        self.signatureTimestamp = signatureTimestamp
        self.replayKey = replayKey
        self.replayExpiresAt = replayExpiresAt
        self.loginKey = loginKey
        self.maxEventsPerLogin = maxEventsPerLogin
    }

    public var description: String { "NewLoginEvent(site: \(site), uid: \(uid), provider: \(provider), ts: \(signatureTimestamp))" }
}

/// What the inbox did with one callback of a batch.
public enum EnqueueOutcome: Sendable, Equatable {
    /// Written now as a new event.
    case accepted(eventID: UUID)
    /// Its replay key was already known (earlier, or earlier in the same batch): the existing event.
    case duplicate(eventID: UUID)
    /// Its login result has already made `maxEventsPerLogin` events: nothing was written.
    case overBudget

    /// The event id, when there is one.
    public var eventID: UUID? {
        switch self {
        case .accepted(let id), .duplicate(let id): id
        case .overBudget: nil
        }
    }
}

/// How one attempt at an event ended, as a worker records it.
public enum EventOutcome: Sendable {
    /// The session was fetched: seal and store it, and mark the event stored.
    case stored(id: UUID, session: SessionRecord)
    /// Given up for good, with Gigya's code when there was one.
    case failed(id: UUID, code: Int?, message: String)
    /// Try again after `delay`.
    case retry(id: UUID, delay: Duration, code: Int?, message: String)

    /// The event it is about.
    public var eventID: UUID {
        switch self {
        case .stored(let id, _), .failed(let id, _, _), .retry(let id, _, _, _): id
        }
    }
}

/// One inbox row as workers and the read API see it.
public struct LoginEvent: Sendable, Equatable, Codable {
    public var id: UUID
    public var site: String
    public var uid: String
    public var provider: String
    public var signatureTimestamp: Int64
    public var status: LoginEventStatus
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastErrorCode: Int?
    public var lastErrorMessage: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var completedAt: Date?

    public init(
        id: UUID, site: String, uid: String, provider: String, signatureTimestamp: Int64, status: LoginEventStatus, attempts: Int,
        nextAttemptAt: Date, lastErrorCode: Int?, lastErrorMessage: String?, createdAt: Date, updatedAt: Date, completedAt: Date?
    ) {
        self.id = id
        self.site = site
        self.uid = uid
        self.provider = provider
        self.signatureTimestamp = signatureTimestamp
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastErrorCode = lastErrorCode
        self.lastErrorMessage = lastErrorMessage
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.completedAt = completedAt
    }
}

/// A provider session in plaintext: lives in memory only; sealed before it reaches the database.
public struct SessionRecord: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var site: String
    public var uid: String
    public var provider: String
    public var providerUID: String?
    public var authToken: String?
    public var tokenSecret: String?
    public var sessionHandle: String?
    public var tokenExpiration: String?
    public var sessionExpiration: String?
    public var fetchedAt: Date

    public init(
        site: String, uid: String, provider: String, providerUID: String? = nil, authToken: String? = nil, tokenSecret: String? = nil,
        sessionHandle: String? = nil, tokenExpiration: String? = nil, sessionExpiration: String? = nil, fetchedAt: Date = Date()
    ) {
        self.site = site
        self.uid = uid
        self.provider = provider
        self.providerUID = providerUID
        self.authToken = authToken
        self.tokenSecret = tokenSecret
        self.sessionHandle = sessionHandle
        self.tokenExpiration = tokenExpiration
        self.sessionExpiration = sessionExpiration
        self.fetchedAt = fetchedAt
    }

    public var description: String {
        "SessionRecord(site: \(site), uid: \(uid), provider: \(provider), authToken: <redacted>, tokenSecret: <redacted>, "
            + "sessionHandle: <redacted>, tokenExpiration: \(tokenExpiration ?? "nil"), fetchedAt: \(fetchedAt))"
    }
    public var debugDescription: String { description }
    // `dump()` and `String(reflecting:)` would otherwise print every stored property.
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description]) }
}

/// What the metadata endpoint shows about a stored session: no token.
public struct SessionMetadata: Sendable, Codable, Equatable {
    public var provider: String
    public var providerUID: String?
    public var tokenExpiration: String?
    public var sessionExpiration: String?
    public var fetchedAt: Date
    public var updatedAt: Date
    /// The data key the tokens are sealed under (`keyId` on the wire).
    public var keyID: String

    private enum CodingKeys: String, CodingKey {
        case provider, providerUID, tokenExpiration, sessionExpiration, fetchedAt, updatedAt
        case keyID = "keyId"
    }

    public init(
        provider: String, providerUID: String?, tokenExpiration: String?, sessionExpiration: String?, fetchedAt: Date, updatedAt: Date,
        keyID: String
    ) {
        self.provider = provider
        self.providerUID = providerUID
        self.tokenExpiration = tokenExpiration
        self.sessionExpiration = sessionExpiration
        self.fetchedAt = fetchedAt
        self.updatedAt = updatedAt
        self.keyID = keyID
    }
}

/// Inbox depth by status and the age of the oldest pending event, for metrics and readiness.
public struct InboxStats: Sendable, Equatable, Codable {
    public var pending: Int
    public var processing: Int
    /// Failed events still kept (they are deleted after the retention period).
    public var failed: Int
    /// Seconds since the oldest pending event was created; nil when nothing is pending.
    public var oldestPendingAge: Double?

    public init(pending: Int, processing: Int, failed: Int, oldestPendingAge: Double?) {
        self.pending = pending
        self.processing = processing
        self.failed = failed
        self.oldestPendingAge = oldestPendingAge
    }
}

/// The sites an access key may act on: every configured site (an explicit grant), or the listed site API keys.
public enum AccessKeySites: Sendable, Codable, Equatable, CustomStringConvertible {
    case all
    case only([String])

    /// Whether a request about `site` (a site API key) is within the grant.
    public func allows(_ site: String) -> Bool {
        switch self {
        case .all: true
        case .only(let sites): sites.contains(site)
        }
    }

    public var description: String {
        switch self {
        case .all: "all sites"
        case .only(let sites): sites.joined(separator: ",")
        }
    }
}

/// An access key as listed: never the key itself, only its public prefix.
public struct AccessKeyRecord: Sendable, Codable, Equatable {
    public var id: UUID
    public var name: String
    public var prefix: String
    public var scopes: [String]
    public var sites: AccessKeySites
    public var createdAt: Date
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    public init(
        id: UUID, name: String, prefix: String, scopes: [String], sites: AccessKeySites, createdAt: Date, revokedAt: Date?, lastUsedAt: Date?
    ) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.scopes = scopes
        self.sites = sites
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }
}

/// Why an access key could not be created.
public enum AccessKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key with this name already exists (revoked keys keep their names).
    case duplicateName(String)
    /// Names are 1-100 characters.
    case invalidName(String)
    /// A site list must name at least one site, each 1-128 printable characters without ',' or whitespace.
    case invalidSites

    public var description: String {
        switch self {
        case .duplicateName(let name): "an access key named '\(name)' already exists"
        case .invalidName(let name): "invalid access key name '\(name)' (1-100 characters)"
        case .invalidSites: "an access key needs at least one site API key (1-128 characters, no ',' or whitespace), or all sites"
        }
    }
}

/// One audit entry to write: who did what to which user's sessions.
public struct AuditEntry: Sendable, Equatable {
    public var actorKeyID: UUID?
    public var actorName: String
    public var action: String
    public var site: String
    public var uid: String?
    public var provider: String?
    public var detail: String?

    public init(
        actorKeyID: UUID?, actorName: String, action: String, site: String, uid: String? = nil, provider: String? = nil, detail: String? = nil
    ) {
        self.actorKeyID = actorKeyID
        self.actorName = actorName
        self.action = action
        self.site = site
        self.uid = uid
        self.provider = provider
        self.detail = detail
    }
}

/// What a delete did: sessions removed and unfinished login events cancelled.
public struct DeleteOutcome: Sendable, Equatable, Codable {
    public var deleted: Int
    public var cancelledEvents: Int

    public init(deleted: Int, cancelledEvents: Int) {
        self.deleted = deleted
        self.cancelledEvents = cancelledEvents
    }
}

/// One written audit row.
public struct AuditRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var at: Date
    public var actorKeyID: UUID?
    public var actorName: String
    public var action: String
    public var site: String
    public var uid: String?
    public var provider: String?
    public var detail: String?

    public init(
        id: Int64, at: Date, actorKeyID: UUID?, actorName: String, action: String, site: String, uid: String?, provider: String?, detail: String?
    ) {
        self.id = id
        self.at = at
        self.actorKeyID = actorKeyID
        self.actorName = actorName
        self.action = action
        self.site = site
        self.uid = uid
        self.provider = provider
        self.detail = detail
    }
}

/// What a data-key rotation did, and where rows stand afterwards.
public struct RotationReport: Sendable, Codable, Equatable {
    public var rowsReencrypted: Int
    public var rowsPerKey: [String: Int]
    /// Rows under a key in the ring that did not open (damaged, or sealed under other material with the same key ID):
    /// left as they are, so the rest of the table is still re-sealed.
    public var unopenable: [SessionRecordKey]

    public init(rowsReencrypted: Int, rowsPerKey: [String: Int], unopenable: [SessionRecordKey] = []) {
        self.rowsReencrypted = rowsReencrypted
        self.rowsPerKey = rowsPerKey
        self.unopenable = unopenable
    }
}
