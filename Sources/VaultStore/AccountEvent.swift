public import Foundation
public import GigyaKit

/// One of Gigya's account events, as a webhook notification carries it (docs/gigya-protocol.md §7, §12).
public struct NewAccountEvent: Sendable, Equatable {
    public var site: String
    /// Gigya's event id: stable across re-deliveries, the de-duplication key.
    public var eventID: String
    public var type: AccountEventType
    public var uid: String
    /// `data.newUid` of `accountMerged` and `accountUidChanged`.
    public var newUID: String?
    /// The event's own `timestamp` (Unix seconds).
    public var timestamp: Int64

    public init(site: String, eventID: String, type: AccountEventType, uid: String, newUID: String?, timestamp: Int64) {
        self.site = site
        self.eventID = eventID
        self.type = type
        self.uid = uid
        self.newUID = newUID
        self.timestamp = timestamp
    }
}

/// Where an account event stands.
public enum AccountEventStatus: String, Sendable, Codable, CaseIterable {
    case pending
    case processing
    /// Acted upon.
    case processed
    /// A type session-vault records and acknowledges but does not act on.
    case ignored
    /// Could not be acted upon after every attempt.
    case failed
}

/// One stored account event.
public struct AccountEvent: Sendable, Equatable, Codable {
    public var seq: Int64
    public var site: String
    public var eventID: String
    public var type: AccountEventType
    public var uid: String
    public var newUID: String?
    public var timestamp: Int64
    public var status: AccountEventStatus
    public var attempts: Int
    /// What processing did (counts), or why it failed.
    public var outcome: String?
    public var receivedAt: Date
    public var processedAt: Date?

    public init(
        seq: Int64, site: String, eventID: String, type: AccountEventType, uid: String, newUID: String?, timestamp: Int64, status: AccountEventStatus,
        attempts: Int, outcome: String?, receivedAt: Date, processedAt: Date?
    ) {
        self.seq = seq
        self.site = site
        self.eventID = eventID
        self.type = type
        self.uid = uid
        self.newUID = newUID
        self.timestamp = timestamp
        self.status = status
        self.attempts = attempts
        self.outcome = outcome
        self.receivedAt = receivedAt
        self.processedAt = processedAt
    }
}

/// How many events of a notification were new, and how many were already stored (re-deliveries).
public struct AccountEventReceipt: Sendable, Equatable, Codable {
    public var received: Int
    public var new: Int
    public var duplicates: Int

    public init(received: Int, new: Int, duplicates: Int) {
        self.received = received
        self.new = new
        self.duplicates = duplicates
    }
}

/// The notification a batch of account events came in: its nonce is accepted once per site, for one body.
public struct NotificationStamp: Sendable, Equatable {
    public var site: String
    /// The body's `nonce`, which a JWT-signed notification's `jti` equals.
    public var nonce: String
    /// SHA-256 of the exact body bytes.
    public var bodyDigest: [UInt8]
    /// When the nonce may be forgotten: after the notification's timestamp could no longer be accepted.
    public var expiresAt: Date

    public init(site: String, nonce: String, bodyDigest: [UInt8], expiresAt: Date) {
        self.site = site
        self.nonce = nonce
        self.bodyDigest = bodyDigest
        self.expiresAt = expiresAt
    }
}

/// What storing a notification came to.
public enum AccountEventStoreResult: Sendable, Equatable {
    /// Stored (each event new or a duplicate of one stored before).
    case stored(AccountEventReceipt)
    /// The nonce was accepted before with another body: nothing was stored.
    case nonceReused
}

/// What one attempt at an account event came to.
public enum AccountEventOutcome: Sendable, Equatable {
    case processed(seq: Int64, outcome: String)
    case ignored(seq: Int64, outcome: String)
    case failed(seq: Int64, outcome: String)
    case retry(seq: Int64, delay: Duration, outcome: String)
}
