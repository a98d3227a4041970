import Foundation
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

/// The hostile corpus of the routes a stranger reaches besides login callbacks: Gigya's webhook, links and the admin
/// sign-in. Its cases are built per run (their signatures cover bodies and times of the run), each with the status and
/// code it must get, and the database is compared before and after (docs/security.md).
@Suite("Hostile input on the webhook, link and admin routes")
struct HostileRoutesTests {
    /// One request and what it must be answered; `code` nil where the answer is an HTML page (the admin page's).
    struct Case: Sendable {
        let note: String
        let method: HTTPRequest.Method
        let path: String
        let headers: HTTPFields
        let body: [UInt8]
        let status: HTTPResponse.Status
        let code: String?
    }

    /// A JSON body.
    static func json(_ object: Any) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// The webhook cases: forgeries under one genuine notification's headers, re-spelled signatures, floods.
    static func webhookCases(_ harness: VaultHarness, victim: String) async throws -> [Case] {
        let site = harness.site
        let now = harness.emulatorClock.now()
        let nonce = UUID().uuidString.lowercased()
        let event = { (type: String, uid: String, newUid: String?) in WebhookTests.event(type, uid: uid, newUid: newUid, apiKey: site.apiKey, at: now) }
        // A genuine notification, never posted: its headers are what an observer would have seen.
        let genuine = WebhookTests.notification([event("accountUpdated", victim, nil)], nonce: nonce, timestamp: now)
        let seen = try await harness.emulatorControl.signWebhook(EmulatorWebhookSignRequest(apiKey: site.apiKey, body: String(decoding: genuine, as: UTF8.self)))
        let forgedMerge = WebhookTests.notification([event("accountMerged", victim, "attacker")], nonce: nonce, timestamp: now)
        let forgedFlood = WebhookTests.notification((0..<500).map { event("accountDeleted", "\(victim)-\($0)", nil) }, nonce: nonce, timestamp: now)
        // The same JSON with other whitespace: equal as JSON, not as bytes.
        let respaced = Array(String(decoding: genuine, as: UTF8.self).replacingOccurrences(of: ",", with: ", ").utf8)
        let hmacBytes = try #require(Data(base64Encoded: seen.hmac))
        let urlSafeHMAC = Base64URL.encode(hmacBytes)
        let stale = WebhookTests.notification([event("accountDeleted", victim, nil)], timestamp: now - 3600)
        let mixed = WebhookTests.notification(
            [event("accountUpdated", "a", nil), WebhookTests.event("accountUpdated", uid: "b", apiKey: "3_OTHER", at: now)], timestamp: now)
        let foreign = WebhookTests.notification([WebhookTests.event("accountDeleted", uid: victim, apiKey: "3_OTHER", at: now)], timestamp: now)
        let tooMany = WebhookTests.notification((0..<501).map { event("accountUpdated", "u\($0)", nil) }, timestamp: now)
        func headers(hmac: String? = nil, jwt: String? = nil, encoding: String? = nil) -> HTTPFields {
            var fields: HTTPFields = [.contentType: "application/json"]
            if let hmac { fields[WebhookTests.hmacHeader] = hmac }
            if let jwt { fields[WebhookTests.jwtHeader] = jwt }
            if let encoding { fields[.contentEncoding] = encoding }
            return fields
        }
        func hmac(_ body: [UInt8]) throws -> String { try WebhookTests.hmac(body, secret: site.partnerSecret) }
        func post(_ note: String, _ body: [UInt8], _ fields: HTTPFields, _ status: HTTPResponse.Status, _ code: String) -> Case {
            Case(note: note, method: .post, path: "/v1/webhooks/gigya", headers: fields, body: body, status: status, code: code)
        }
        return [
            post("observed JWT over a forged merge", forgedMerge, headers(jwt: seen.jwt), .unauthorized, "webhook_signature_required"),
            post("observed JWT over 500 forged deletions", forgedFlood, headers(jwt: seen.jwt), .unauthorized, "webhook_signature_required"),
            post("observed HMAC over a forged merge", forgedMerge, headers(hmac: seen.hmac), .unauthorized, "webhook_bad_signature"),
            post("observed HMAC and JWT over a forged merge", forgedMerge, headers(hmac: seen.hmac, jwt: seen.jwt), .unauthorized, "webhook_bad_signature"),
            post("the genuine body re-spaced", respaced, headers(hmac: seen.hmac), .unauthorized, "webhook_bad_signature"),
            post("the HMAC in base64url", genuine, headers(hmac: urlSafeHMAC), .unauthorized, "webhook_bad_signature"),
            post("the HMAC unpadded", genuine, headers(hmac: String(seen.hmac.filter { $0 != "=" })), .unauthorized, "webhook_bad_signature"),
            post("the HMAC in hex", genuine, headers(hmac: hmacBytes.map { String(format: "%02x", $0) }.joined()), .unauthorized, "webhook_bad_signature"),
            post("a good HMAC beside a padded JWT", genuine, headers(hmac: seen.hmac, jwt: seen.jwt + "="), .unauthorized, "webhook_bad_signature"),
            post("an empty HMAC header", genuine, headers(hmac: ""), .unauthorized, "webhook_unsigned"),
            post("no signature", genuine, headers(), .unauthorized, "webhook_unsigned"),
            post("an HMAC an hour old", stale, headers(hmac: try hmac(stale)), .unauthorized, "webhook_stale"),
            post("another site's events", foreign, headers(hmac: try hmac(foreign)), .unauthorized, "webhook_unknown_site"),
            post("events of two sites", mixed, headers(hmac: try hmac(mixed)), .badRequest, "webhook_mixed_sites"),
            post("501 events", tooMany, headers(hmac: try hmac(tooMany)), .badRequest, "webhook_too_many_events"),
            post("gzip", genuine, headers(hmac: seen.hmac, encoding: "gzip"), .unsupportedMediaType, "unsupported_encoding"),
            post("over 1 MiB", Array(repeating: UInt8(ascii: " "), count: (1 << 20) + 1), headers(hmac: "x"), .contentTooLarge, "payload_too_large"),
            post("not JSON", Array("events=1".utf8), headers(hmac: try hmac(Array("events=1".utf8))), .badRequest, "webhook_malformed"),
        ]
    }

    /// The link cases: missing or weak keys, each siteUID rule, a siteUID Gigya knows, another site.
    static func linkCases(writer: String, reader: String, foreign: String, uid: String, knownUID: String, site: String) -> [Case] {
        func fields(_ key: String?) -> HTTPFields {
            var headers: HTTPFields = [.contentType: "application/json"]
            if let key { headers[.authorization] = "Bearer \(key)" }
            return headers
        }
        func post(_ note: String, _ key: String?, _ body: [UInt8], _ status: HTTPResponse.Status, _ code: String) -> Case {
            Case(note: note, method: .post, path: "/v1/links", headers: fields(key), body: body, status: status, code: code)
        }
        return [
            post("no key", nil, json(["uid": uid, "siteUID": "s-1"]), .unauthorized, "unauthenticated"),
            post("a key without links:write", reader, json(["uid": uid, "siteUID": "s-1"]), .forbidden, "insufficient_scope"),
            post("a key of another site", foreign, json(["uid": uid, "siteUID": "s-1", "site": site]), .forbidden, "site_not_allowed"),
            post("not JSON", writer, Array("uid=1".utf8), .badRequest, "malformed_body"),
            post("no siteUID", writer, json(["uid": uid]), .badRequest, "missing_field"),
            post("a control character", writer, json(["uid": uid, "siteUID": "s\u{1}x"]), .badRequest, "invalid_field"),
            post("non-ASCII", writer, json(["uid": uid, "siteUID": "sé"]), .badRequest, "invalid_field"),
            post("253 characters", writer, json(["uid": uid, "siteUID": String(repeating: "s", count: 253)]), .badRequest, "invalid_field"),
            post("the UID itself", writer, json(["uid": uid, "siteUID": uid]), .badRequest, "invalid_field"),
            post("an unknown via", writer, json(["uid": uid, "siteUID": "s-1", "via": "merge"]), .badRequest, "invalid_field"),
            post("an unknown site", writer, json(["uid": uid, "siteUID": "s-1", "site": "3_NOPE"]), .badRequest, "unknown_site"),
            post("a siteUID Gigya knows as a UID", writer, json(["uid": uid, "siteUID": knownUID]), .conflict, "site_uid_taken"),
            Case(note: "forget without a key", method: .delete, path: "/v1/links/s-1", headers: fields(nil), body: [], status: .unauthorized, code: "unauthenticated"),
            Case(note: "list with a bad status", method: .get, path: "/v1/links?status=merged", headers: fields(writer), body: [], status: .badRequest, code: "invalid_query"),
        ]
    }

    /// The admin sign-in cases: wrong keys, weak keys, forms from elsewhere; the page answers HTML, so only the status.
    static func adminCases(reader: String, foreign: String) -> [Case] {
        func form(_ fields: [String: String], origin: String? = nil) -> HTTPFields {
            var headers = AdminPageTests.form
            if let origin { headers[.origin] = origin }
            return headers
        }
        func body(_ key: String) -> [UInt8] { Array("key=\(key)".utf8) }
        return [
            Case(note: "a wrong key", method: .post, path: "/admin/sign-in", headers: form([:]), body: body("svk_wrong"), status: .unauthorized, code: nil),
            Case(note: "a key without admin", method: .post, path: "/admin/sign-in", headers: form([:]), body: body(reader), status: .unauthorized, code: nil),
            Case(note: "an admin key of one site", method: .post, path: "/admin/sign-in", headers: form([:]), body: body(foreign), status: .forbidden, code: nil),
            Case(note: "a form from another origin", method: .post, path: "/admin/sign-in", headers: form([:], origin: "https://evil.example"), body: body(reader), status: .forbidden, code: nil),
            Case(note: "a page without a session", method: .get, path: "/admin/users?uid=x", headers: [:], body: [], status: .seeOther, code: nil),
            Case(note: "an action without a session", method: .post, path: "/admin/users/delete", headers: form([:]), body: Array("uid=x".utf8), status: .seeOther, code: nil),
        ]
    }

    @Test("forged, re-spelled and flooding requests to the webhook, link and admin routes get their status and code, and the database is unchanged")
    func hostileRoutesAreRefusedAndChangeNothing() async throws {
        try await VaultHarness.with { harness in
            let victim = try await WebhookTests.storedUser(harness)
            let other = try await WebhookTests.storedUser(harness)
            let writer = try await harness.accessKey([.linksWrite])
            let reader = try await harness.accessKey([.sessionsMetadata])
            let foreign = try await harness.accessKey([.linksWrite, .admin], sites: .only(["3_OTHER"]))
            for key in [writer, reader, foreign] { _ = try await harness.store.authenticate(key) }
            var cases = try await Self.webhookCases(harness, victim: victim)
            cases += Self.linkCases(writer: writer, reader: reader, foreign: foreign, uid: victim, knownUID: other, site: harness.site.apiKey)
            cases += Self.adminCases(reader: reader, foreign: foreign)
            let client = harness.database.client
            let auditBefore = try await DatabaseSnapshot.maxAuditID(client)
            let before = try await DatabaseSnapshot.take(client, auditUpTo: auditBefore)
            let all = cases
            try await harness.application().test(.router) { router in
                for item in all {
                    let (status, code) = try await router.execute(
                        uri: item.path, method: item.method, headers: item.headers, body: item.body.isEmpty ? nil : ByteBuffer(bytes: item.body)
                    ) { ($0.status, errorCode($0.body)) }
                    #expect(status == item.status, "\(item.note)")
                    if let expected = item.code { #expect(code == expected, "\(item.note)") }
                }
            }
            #expect(try await DatabaseSnapshot.take(client, auditUpTo: auditBefore) == before)
            try await harness.drainAccountEvents()
            #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: victim).count == 1)
        }
    }
}
