public import Foundation

/// A webhook notification's body, parsed but not yet trusted (docs/gigya-protocol.md §7, §12):
/// `{"events":[{"type","id","timestamp","callId","version","apiKey","data":{"uid","newUid"?}}],"nonce","timestamp"}`.
public struct WebhookNotification: Sendable, Equatable {
    /// One account event.
    public struct Event: Sendable, Equatable {
        public var type: AccountEventType
        /// Stable across re-deliveries: the de-duplication key.
        public var id: String
        public var timestamp: Int64
        public var apiKey: String
        public var uid: String
        /// The new UID of `accountMerged` and `accountUidChanged`.
        public var newUID: String?

        /// Whether acting on this event deletes or moves stored data.
        public var isDestructive: Bool { type.isDestructive }

        public init(type: AccountEventType, id: String, timestamp: Int64, apiKey: String, uid: String, newUID: String?) {
            self.type = type
            self.id = id
            self.timestamp = timestamp
            self.apiKey = apiKey
            self.uid = uid
            self.newUID = newUID
        }
    }

    /// The most events one notification may carry (version 3.0 sends up to 500, docs/gigya-protocol.md §12).
    public static let maximumEvents = 500
    /// The longest id, type or UID accepted (UIDs and site UIDs are at most 252 characters, §3).
    static let maximumFieldLength = 256

    public var events: [Event]
    public var nonce: String
    public var timestamp: Int64

    /// Parses a body; every field session-vault acts on must be present and well-formed.
    public init(parsing body: [UInt8]) throws(WebhookRefusal) {
        guard case .object(let root)? = GigyaJSON(parsing: Data(body)) else {
            throw .malformed("the body is not a JSON object")
        }
        guard let nonce = root["nonce"]?.stringValue, Self.isUsable(nonce) else {
            throw .malformed("'nonce' must be a non-empty string")
        }
        guard let timestamp = Self.seconds(root["timestamp"]) else {
            throw .malformed("'timestamp' must be Unix seconds")
        }
        guard case .array(let list)? = root["events"] else {
            throw .malformed("'events' must be an array")
        }
        guard !list.isEmpty else {
            throw .malformed("'events' is empty")
        }
        guard list.count <= Self.maximumEvents else {
            throw .tooManyEvents(list.count)
        }
        var events: [Event] = []
        events.reserveCapacity(list.count)
        for (index, item) in list.enumerated() {
            guard case .object(let event) = item else {
                throw .malformed("events[\(index)] is not an object")
            }
            func text(_ value: GigyaJSON?, _ name: String) throws(WebhookRefusal) -> String {
                guard let string = value?.stringValue, Self.isUsable(string) else {
                    throw .malformed("events[\(index)].\(name) must be a non-empty string of at most \(Self.maximumFieldLength) characters")
                }
                return string
            }
            let type = AccountEventType(rawValue: try text(event["type"], "type"))
            let id = try text(event["id"], "id")
            let apiKey = try text(event["apiKey"], "apiKey")
            guard let eventTime = Self.seconds(event["timestamp"]) else {
                throw .malformed("events[\(index)].timestamp must be Unix seconds")
            }
            guard case .object(let data)? = event["data"] else {
                throw .malformed("events[\(index)].data must be an object")
            }
            let uid = try text(data["uid"], "data.uid")
            var newUID: String?
            if let value = data["newUid"], value != .null {
                newUID = try text(value, "data.newUid")
            }
            if type.movesTheAccount {
                guard let newUID, newUID != uid else {
                    throw .malformed("events[\(index)] (\(type)) needs a data.newUid different from data.uid")
                }
            }
            events.append(Event(type: type, id: id, timestamp: eventTime, apiKey: apiKey, uid: uid, newUID: newUID))
        }
        guard Set(events.map(\.apiKey)).count == 1 else {
            throw .mixedSites
        }
        self.events = events
        self.nonce = nonce
        self.timestamp = timestamp
    }

    /// The site every event belongs to.
    public var apiKey: String { events[0].apiKey }

    /// Non-empty, bounded, and free of control characters.
    static func isUsable(_ text: String) -> Bool {
        !text.isEmpty && text.count <= maximumFieldLength && !text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// A Unix-seconds number (an integer in JSON), or nil.
    static func seconds(_ value: GigyaJSON?) -> Int64? {
        guard case .number(let number)? = value, number.isFinite, number >= 0, number < 1e12, number == number.rounded(.down) else {
            return nil
        }
        return Int64(number)
    }
}

/// Why a webhook notification was refused; `code` is machine-readable, `description` never holds a secret or signature.
public enum WebhookRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Neither `X-Gigya-Sig-Hmac-Sha1` nor `X-Gigya-Sig-JWT` was sent.
    case unsigned
    /// The HMAC does not match the body under the site's secret.
    case badHMAC
    /// The JWT failed a check (its reason names which).
    case badJWT(String)
    /// The notification's timestamp is outside the accepted window.
    case stale(ageSeconds: Int64)
    /// The body is not a notification.
    case malformed(String)
    /// More events than one notification may carry.
    case tooManyEvents(Int)
    /// Events of several sites in one notification.
    case mixedSites
    /// The site's policy requires a signature header the notification lacks (its name).
    case signatureRequired(String)
    /// Signed by a JWT alone that does not bind the body, yet carrying events that delete or move data.
    case unboundDestructive
    /// The notification's nonce (the JWT's `jti`) was already accepted with another body.
    case nonceReused

    public var code: String {
        switch self {
        case .unsigned: "webhook_unsigned"
        case .badHMAC, .badJWT: "webhook_bad_signature"
        case .stale: "webhook_stale"
        case .malformed: "webhook_malformed"
        case .tooManyEvents: "webhook_too_many_events"
        case .mixedSites: "webhook_mixed_sites"
        case .signatureRequired: "webhook_signature_required"
        case .unboundDestructive: "webhook_jwt_not_bound"
        case .nonceReused: "webhook_nonce_reused"
        }
    }

    public var description: String {
        switch self {
        case .unsigned: "the notification carries neither X-Gigya-Sig-Hmac-Sha1 nor X-Gigya-Sig-JWT"
        case .badHMAC: "X-Gigya-Sig-Hmac-Sha1 does not match the body"
        case .badJWT(let reason): "X-Gigya-Sig-JWT does not verify: \(reason)"
        case .stale(let age): "the notification is \(abs(age)) s \(age >= 0 ? "old" : "in the future"), outside the accepted window"
        case .malformed(let reason): "the notification is malformed: \(reason)"
        case .tooManyEvents(let count): "the notification carries \(count) events; at most \(WebhookNotification.maximumEvents) are accepted"
        case .mixedSites: "the notification carries events of several sites"
        case .signatureRequired(let header): "this site requires \(header) on every notification"
        case .unboundDestructive:
            "a notification signed only by X-Gigya-Sig-JWT whose sub is not the body's SHA-256 may not carry "
                + "accountDeleted, accountMerged or accountUidChanged; sign it with X-Gigya-Sig-Hmac-Sha1"
        case .nonceReused: "the notification's nonce was already accepted with another body"
        }
    }
}
