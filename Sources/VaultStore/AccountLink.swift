public import Foundation

/// How a link is sent to Gigya (docs/gigya-protocol.md §3): notifyRegistration is the call Gigya recommends.
public enum LinkMethod: String, Sendable, Codable, CaseIterable {
    case notifyRegistration
    case setUID
}

/// Where a link stands.
public enum LinkStatus: String, Sendable, Codable, CaseIterable {
    /// Accepted and durable, not yet sent (or waiting to be retried).
    case pending
    /// Leased to a worker sending it now.
    case processing
    /// Gigya accepted it; the user's sessions live under the site UID.
    case linked
    /// Gigya refused it, or every attempt was used.
    case failed
}

/// A link asked for: the site's own id (`siteUID`) given to a Gigya user (`uid`).
public struct NewAccountLink: Sendable, Equatable {
    public var site: String
    public var uid: String
    public var siteUID: String
    public var via: LinkMethod
    /// The access key's name, for the audit trail.
    public var requestedBy: String
    public var requestedByKeyID: UUID?

    public init(site: String, uid: String, siteUID: String, via: LinkMethod, requestedBy: String, requestedByKeyID: UUID?) {
        self.site = site
        self.uid = uid
        self.siteUID = siteUID
        self.via = via
        self.requestedBy = requestedBy
        self.requestedByKeyID = requestedByKeyID
    }
}

/// One stored link.
public struct AccountLink: Sendable, Equatable, Codable {
    public var id: UUID
    public var site: String
    /// The Gigya UID the link was asked for.
    public var uid: String
    public var siteUID: String
    public var via: LinkMethod
    public var status: LinkStatus
    public var attempts: Int
    public var lastErrorCode: Int?
    public var lastErrorMessage: String?
    public var requestedBy: String
    public var createdAt: Date
    public var updatedAt: Date
    public var linkedAt: Date?

    public init(
        id: UUID, site: String, uid: String, siteUID: String, via: LinkMethod, status: LinkStatus, attempts: Int, lastErrorCode: Int?,
        lastErrorMessage: String?, requestedBy: String, createdAt: Date, updatedAt: Date, linkedAt: Date?
    ) {
        self.id = id
        self.site = site
        self.uid = uid
        self.siteUID = siteUID
        self.via = via
        self.status = status
        self.attempts = attempts
        self.lastErrorCode = lastErrorCode
        self.lastErrorMessage = lastErrorMessage
        self.requestedBy = requestedBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.linkedAt = linkedAt
    }
}

/// What asking for a link came to.
public enum LinkRequestOutcome: Sendable, Equatable {
    /// A new link was stored.
    case created(AccountLink)
    /// The same link (site, uid, siteUID, method) was already asked for: nothing new was stored.
    case existing(AccountLink)
    /// The site UID is already linked here (to another user, or asked for with another method).
    case siteUIDTaken(AccountLink)
    /// The Gigya UID already has a link to another site UID.
    case uidAlreadyLinked(AccountLink)
    /// Sessions are stored under the site UID: a link would merge them into the user's (a stale UID or another person's).
    case siteUIDHoldsSessions
}

/// What one attempt at sending a link came to.
public enum LinkOutcome: Sendable, Equatable {
    /// Gigya accepted: mark linked and move the user's data from the Gigya UID to the site UID, in one transaction.
    case linked(id: UUID)
    /// Failed for good.
    case failed(id: UUID, code: Int?, message: String)
    /// Try again after `delay`.
    case retry(id: UUID, delay: Duration, code: Int?, message: String)
}

/// A page of links, newest first, with the cursor for the next page.
/// Where a page of links ends: the last link's creation time (microseconds) and id, as `micros_uuid`; keyset paging,
/// so it stays right while links are added.
public struct LinkCursor: Sendable, Hashable, LosslessStringConvertible {
    public let createdAtMicros: Int64
    public let id: UUID

    public init(after link: AccountLink) {
        createdAtMicros = Int64((link.createdAt.timeIntervalSince1970 * 1_000_000).rounded())
        id = link.id
    }

    /// Nil for any text this server did not give.
    public init?(_ description: String) {
        let parts = description.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else { return nil }
        self.createdAtMicros = micros
        self.id = id
    }

    public var description: String { "\(createdAtMicros)_\(id.uuidString)" }
}

public struct LinkPage: Sendable, Equatable, Codable {
    public var links: [AccountLink]
    /// Pass as `after` to read the next page; nil on the last page.
    public var nextCursor: String?

    public init(links: [AccountLink], nextCursor: String?) {
        self.links = links
        self.nextCursor = nextCursor
    }
}

/// What moving a user's data from one UID to another did.
public struct RekeyOutcome: Sendable, Equatable, Codable {
    /// Sessions now under the new UID (moved, or kept there because they were newer).
    public var sessionsMoved: Int
    /// Sessions under the old UID dropped because the new UID held a newer fetch of the same provider.
    public var sessionsSuperseded: Int
    /// Pending or in-flight login events now addressed to the new UID.
    public var eventsMoved: Int
    /// Link records now naming the new UID.
    public var linksMoved: Int

    public init(sessionsMoved: Int = 0, sessionsSuperseded: Int = 0, eventsMoved: Int = 0, linksMoved: Int = 0) {
        self.sessionsMoved = sessionsMoved
        self.sessionsSuperseded = sessionsSuperseded
        self.eventsMoved = eventsMoved
        self.linksMoved = linksMoved
    }

    /// For audit details.
    public var summary: String {
        "sessions=\(sessionsMoved) superseded=\(sessionsSuperseded) events=\(eventsMoved) links=\(linksMoved)"
    }
}

/// What purging a deleted account did.
public struct PurgeOutcome: Sendable, Equatable, Codable {
    public var sessions: Int
    public var cancelledEvents: Int
    public var links: Int

    public init(sessions: Int = 0, cancelledEvents: Int = 0, links: Int = 0) {
        self.sessions = sessions
        self.cancelledEvents = cancelledEvents
        self.links = links
    }

    /// For audit details.
    public var summary: String {
        "sessions=\(sessions) cancelled=\(cancelledEvents) links=\(links)"
    }
}
