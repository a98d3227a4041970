import Crypto
import Foundation
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOHTTP1
import Synchronization
import Testing

/// One notification as a test receiver saw it: the exact body bytes and both signature headers.
struct ReceivedNotification: Sendable {
    let body: [UInt8]
    let hmac: String?
    let jwt: String?

    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    /// The body's `nonce`.
    var nonce: String? {
        json["nonce"] as? String
    }

    /// The body's `timestamp`.
    var timestamp: Int64? {
        (json["timestamp"] as? Int).map(Int64.init)
    }

    /// The events, in order.
    var events: [[String: Any]] {
        json["events"] as? [[String: Any]] ?? []
    }

    /// The event ids, in order.
    var eventIDs: [String] {
        events.compactMap { $0["id"] as? String }
    }

    /// The `data.uid` of each event, in order.
    var eventUIDs: [String] {
        events.compactMap { ($0["data"] as? [String: Any])?["uid"] as? String }
    }
}

/// What a test receiver saw, in arrival order.
final class WebhookInbox: Sendable {
    private let seen = Mutex<[ReceivedNotification]>([])

    /// Records a notification and returns its 1-based arrival number.
    func record(_ notification: ReceivedNotification) -> Int {
        seen.withLock { seen in
            seen.append(notification)
            return seen.count
        }
    }

    /// Every notification so far.
    var all: [ReceivedNotification] {
        seen.withLock { $0 }
    }
}

/// Runs `body` with a webhook receiver on a free port (its URL and inbox); `answer` gives each notification's status from
/// the notification and its arrival number.
func withWebhookReceiver<T>(
    answer: @escaping @Sendable (ReceivedNotification, Int) async -> HTTPResponse.Status = { _, _ in .ok },
    _ body: @Sendable (String, WebhookInbox) async throws -> T
) async throws -> T {
    let inbox = WebhookInbox()
    let router = Router()
    router.post("hook") { request, _ -> HTTPResponse.Status in
        var request = request
        let bytes = try await request.collectBody(upTo: 4 << 20)
        let notification = ReceivedNotification(
            body: Array(bytes.readableBytesView),
            hmac: request.headers[HTTPField.Name("X-Gigya-Sig-Hmac-Sha1")!],
            jwt: request.headers[HTTPField.Name("X-Gigya-Sig-JWT")!]
        )
        return await answer(notification, inbox.record(notification))
    }
    let receiver = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        logger: Logger(label: "webhook-receiver") { _ in SwiftLogNoOpLogHandler() }
    )
    return try await receiver.test(.live) { client in
        try await body("http://127.0.0.1:\(client.port!)/hook", inbox)
    }
}

/// base64url(SHA-256(body)): the `sub` of a webhook JWT.
func bodyDigest(_ body: [UInt8]) -> String {
    Base64URL.encode(SHA256.hash(data: body))
}

/// The published keys of the test site's data centre.
func publishedKeys(_ emulator: RunningEmulator, apiKey: String = "3_TESTAPIKEY") async throws -> JWTKeySet {
    try JWTKeySet(json: Data(try await send(.GET, emulator.baseURL + "/accounts.getJWTPublicKey?V2=true&apiKey=" + apiKey).body))
}

/// The decoded header of a compact JWS.
func jwtHeader(_ token: String) throws -> [String: Any] {
    let bytes = try #require(Base64URL.decode(token.split(separator: ".")[0]))
    return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
}

/// Checks both signatures of a notification as a receiver must: the HMAC over the exact bytes with the partner secret,
/// and the JWT against the keys `accounts.getJWTPublicKey` publishes, tied to the body by `sub`, `jti` and `iat`.
func verifySignatures(_ notification: ReceivedNotification, emulator: RunningEmulator, apiKey: String = "3_TESTAPIKEY") async throws {
    let hmac = try #require(notification.hmac)
    #expect(try GigyaSecret(base64: testSecret).isValidSignature(hmac, forBytes: notification.body))
    let jwt = try #require(notification.jwt)
    let nonce = try #require(notification.nonce)
    let timestamp = try #require(notification.timestamp)
    let verifier = IDTokenVerifier(apiKey: apiKey, leewaySeconds: 0, clock: ManualWallClock(timestamp))
    let claims = try await verifier.verify(jwt, expectedUID: bodyDigest(notification.body), keys: try await publishedKeys(emulator, apiKey: apiKey))
    #expect(claims.issuedAt == timestamp)
    #expect(claims.expiresAt == timestamp + 60)
    #expect(claims.all["jti"] == .string(nonce))
    #expect(claims.issuer == "https://fidm.gigya.com/jwt/\(apiKey)/")
    let header = try jwtHeader(jwt)
    #expect(header["alg"] as? String == "RS256")
    #expect(header["typ"] as? String == "JWT")
    #expect(header["dc"] as? String == "us1")
    #expect(header["kid"] as? String == claims.keyID)
}
