import Foundation

/// A notification body in the 2.0 shape of docs/gigya-protocol.md §7 and §12:
/// `{"events":[{"type","id","timestamp","callId","version":"2.0","apiKey","data":{"accountType":"full","uid","newUid"?}}],"nonce","timestamp"}`.
struct WebhookPayload: Codable, Sendable {
    /// One account event.
    struct Event: Codable, Sendable {
        /// The account event's data.
        struct EventData: Codable, Sendable {
            /// Always `full`: the emulator has no lite accounts.
            let accountType: String
            /// The account's UID (for a merge the merged one, for a rename the old one).
            let uid: String
            /// The new or surviving UID of `accountUidChanged` and `accountMerged`; absent otherwise.
            let newUid: String?
        }

        let type: String
        /// A lowercase UUID, kept across redeliveries.
        let id: String
        /// When the event happened, Unix seconds on the emulator clock.
        let timestamp: Int64
        /// 32 hex digits.
        let callId: String
        /// `2.0`.
        let version: String
        let apiKey: String
        let data: EventData

        /// A new event of `type` for `uid`, happening now.
        init(type: String, apiKey: String, uid: String, newUid: String?, now: Int64) {
            self.type = type
            self.id = UUID().uuidString.lowercased()
            self.timestamp = now
            self.callId = GigyaEmulator.randomHex(16)
            self.version = "2.0"
            self.apiKey = apiKey
            self.data = EventData(accountType: "full", uid: uid, newUid: newUid)
        }

        /// The event as the delivery log shows it.
        var summary: EmulatorWebhookEvent {
            EmulatorWebhookEvent(id: id, type: type, uid: data.uid, newUid: data.newUid)
        }
    }

    let events: [Event]
    /// A lowercase UUID; also the JWT's `jti`.
    let nonce: String
    /// When the notification was signed, Unix seconds on the emulator clock; also the JWT's `iat`.
    let timestamp: Int64

    /// A notification of `events`, signed now with a fresh nonce.
    init(events: [Event], now: Int64) {
        self.events = events
        self.nonce = UUID().uuidString.lowercased()
        self.timestamp = now
    }

    /// The exact bytes sent: keys sorted and `/` unescaped, so the same payload always gives the same body.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }
}
