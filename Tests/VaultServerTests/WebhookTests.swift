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

@Suite("Gigya account events (webhooks)")
struct WebhookTests {
    static let hmacHeader = HTTPField.Name("X-Gigya-Sig-Hmac-Sha1")!
    static let jwtHeader = HTTPField.Name("X-Gigya-Sig-JWT")!

    /// One event in the version 2.0 shape (docs/gigya-protocol.md §12).
    static func event(_ type: String, uid: String, newUid: String? = nil, id: String = UUID().uuidString.lowercased(), apiKey: String, at: Int64)
        -> [String: Any]
    {
        var data: [String: Any] = ["accountType": "full", "uid": uid]
        if let newUid { data["newUid"] = newUid }
        return ["type": type, "id": id, "timestamp": at, "callId": "0123456789abcdef0123456789abcdef", "version": "2.0", "apiKey": apiKey, "data": data]
    }

    /// A notification body, and its nonce and timestamp.
    static func notification(_ events: [[String: Any]], nonce: String = UUID().uuidString.lowercased(), timestamp: Int64) -> [UInt8] {
        let object: [String: Any] = ["events": events, "nonce": nonce, "timestamp": timestamp]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    static func hmac(_ body: [UInt8], secret: String) throws -> String {
        try GigyaSecret(base64: secret).signature(forBytes: body)
    }

    /// POSTs a notification with the given signature headers; returns the status and body.
    static func post(
        _ client: some TestClientProtocol, _ body: [UInt8], hmac: String? = nil, jwt: String? = nil
    ) async throws -> (HTTPResponse.Status, ByteBuffer) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let hmac { headers[Self.hmacHeader] = hmac }
        if let jwt { headers[Self.jwtHeader] = jwt }
        return try await client.execute(uri: "/v1/webhooks/gigya", method: .post, headers: headers, body: ByteBuffer(bytes: body)) {
            ($0.status, $0.body)
        }
    }

    /// A user with stored sessions for `providers`; returns the UID.
    static func storedUser(_ harness: VaultHarness, uid: String? = nil, providers: [String] = ["facebook"]) async throws -> String {
        var resolved = uid
        for provider in providers {
            let login = try await harness.login(uid: resolved, provider: provider)
            resolved = login.uid
            _ = try await harness.vault.intake.accept(login)
        }
        try await harness.drain()
        return resolved!
    }

    /// A JWT for a notification as `mintJWT` makes it: `jti`, `iat`, `iss` right, but a `sub` that is not the body's digest.
    static func unboundJWT(
        _ harness: VaultHarness, nonce: String, issuedAt: Int64, signing: EmulatorJWTSigning = .currentKey
    ) async throws -> String {
        try await harness.emulatorControl.mintJWT(
            EmulatorJWTRequest(
                apiKey: harness.site.apiKey, uid: "webhook", issuedAt: issuedAt, lifetimeSeconds: 60, claims: ["jti": .string(nonce)], signing: signing)
        ).idToken
    }

    @Test("signatures (the default policy, hmac): a valid HMAC is taken; tampered, wrong secret, stale, unsigned, JWT-only or with a bad JWT beside it get 401 and store nothing")
    func signatures() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            try await harness.application().test(.router) { client in
                let good = Self.notification([Self.event("accountUpdated", uid: "u1", apiKey: site.apiKey, at: now)], timestamp: now)
                let (status, answer) = try await Self.post(client, good, hmac: try Self.hmac(good, secret: site.partnerSecret))
                #expect(status == .ok)
                #expect(jsonInt(answer, "new") == 1)

                func refused(_ body: [UInt8], hmac: String? = nil, jwt: String? = nil, code: String, _ comment: Comment) async throws {
                    let (status, answer) = try await Self.post(client, body, hmac: hmac, jwt: jwt)
                    #expect(status == .unauthorized, comment)
                    #expect(errorCode(answer) == code, comment)
                }
                let fresh = Self.notification([Self.event("accountDeleted", uid: "u3", apiKey: site.apiKey, at: now)], timestamp: now)
                let tampered = Array(String(decoding: fresh, as: UTF8.self).replacingOccurrences(of: "\"u3\"", with: "\"u4\"").utf8)
                #expect(tampered != fresh)
                try await refused(tampered, hmac: try Self.hmac(fresh, secret: site.partnerSecret), code: "webhook_bad_signature", "tampered body")
                let otherSecret = Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
                try await refused(fresh, hmac: try Self.hmac(fresh, secret: otherSecret), code: "webhook_bad_signature", "wrong secret")
                try await refused(fresh, hmac: "not base64!", code: "webhook_bad_signature", "garbage signature")
                try await refused(fresh, code: "webhook_unsigned", "missing header")
                let old = Self.notification([Self.event("accountDeleted", uid: "u3", apiKey: site.apiKey, at: now - 3600)], timestamp: now - 3600)
                try await refused(old, hmac: try Self.hmac(old, secret: site.partnerSecret), code: "webhook_stale", "stale HMAC notification")
                // A JWT alone is not enough here, even a genuine one that binds the body.
                let signed = try await harness.emulatorControl.signWebhook(EmulatorWebhookSignRequest(apiKey: site.apiKey, body: String(decoding: fresh, as: UTF8.self)))
                try await refused(fresh, jwt: signed.jwt, code: "webhook_signature_required", "JWT only")
                // Both headers: both must verify.
                try await refused(fresh, hmac: signed.hmac, jwt: try await Self.unboundJWT(harness, nonce: "other", issuedAt: now), code: "webhook_bad_signature", "good HMAC, bad JWT")
                let foreignSite = Self.notification([Self.event("accountDeleted", uid: "u3", apiKey: "3_unknown", at: now)], timestamp: now)
                try await refused(foreignSite, hmac: try Self.hmac(foreignSite, secret: site.partnerSecret), code: "webhook_unknown_site", "unknown site")
                let (bothStatus, _) = try await Self.post(client, fresh, hmac: signed.hmac, jwt: signed.jwt)
                #expect(bothStatus == .ok, "both valid")
            }
            #expect(try await harness.count("account_events") == 2)
        }
    }

    @Test("signatures (policy jwt): a valid JWT is taken; wrong key, jti or iat not the body's, alg none, expired, HMAC-only get 401 and store nothing")
    func jwtSignatures() async throws {
        try await VaultHarness.with(configure: { $0.sites[0].webhookSignatures = .jwt }) { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            try await harness.application().test(.router) { client in
                let nonce = "nonce-\(UUID().uuidString)"
                let jwtBody = Self.notification([Self.event("accountUpdated", uid: "u2", apiKey: site.apiKey, at: now)], nonce: nonce, timestamp: now)
                func jwt(signing: EmulatorJWTSigning = .currentKey, issuedAt: Int64 = now, jti: String = nonce) async throws -> String {
                    try await Self.unboundJWT(harness, nonce: jti, issuedAt: issuedAt, signing: signing)
                }
                func refused(_ body: [UInt8], hmac: String? = nil, jwt: String? = nil, code: String, _ comment: Comment) async throws {
                    let (status, answer) = try await Self.post(client, body, hmac: hmac, jwt: jwt)
                    #expect(status == .unauthorized, comment)
                    #expect(errorCode(answer) == code, comment)
                }
                try await refused(jwtBody, jwt: try await jwt(signing: .foreignKey), code: "webhook_bad_signature", "wrong key")
                try await refused(jwtBody, jwt: try await jwt(jti: "another-nonce"), code: "webhook_bad_signature", "jti is not the nonce")
                try await refused(jwtBody, jwt: try await jwt(issuedAt: now - 1), code: "webhook_bad_signature", "iat is not the timestamp")
                try await refused(jwtBody, jwt: try await jwt(signing: .unsigned), code: "webhook_bad_signature", "alg none")
                try await refused(jwtBody, hmac: try Self.hmac(jwtBody, secret: site.partnerSecret), code: "webhook_signature_required", "HMAC only")
                let expiredBody = Self.notification(
                    [Self.event("accountDeleted", uid: "u3", apiKey: site.apiKey, at: now - 200)], nonce: nonce, timestamp: now - 200)
                try await refused(expiredBody, jwt: try await jwt(issuedAt: now - 200), code: "webhook_stale", "expired JWT")
                let (status, answer) = try await Self.post(client, jwtBody, jwt: try await jwt())
                #expect(status == .ok, "\(String(buffer: answer))")
            }
            #expect(try await harness.count("account_events") == 1)
        }
    }

    @Test("a body that is not a notification is 400, more than 500 events is 400, over 1 MiB is 413, compressed is 415; nothing is stored")
    func malformed() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            try await harness.application().test(.router) { client in
                for body in [Array("not json".utf8), Array("{\"events\":[],\"nonce\":\"n\",\"timestamp\":1}".utf8), Array("[1,2]".utf8),
                             Self.notification([["type": "accountDeleted", "id": "x", "apiKey": site.apiKey, "timestamp": now, "data": [:]]], timestamp: now),
                             Self.notification([Self.event("accountMerged", uid: "a", apiKey: site.apiKey, at: now)], timestamp: now)]
                {
                    let (status, answer) = try await Self.post(client, body, hmac: try Self.hmac(body, secret: site.partnerSecret))
                    #expect(status == .badRequest)
                    #expect(errorCode(answer) == "webhook_malformed")
                }
                let many = Self.notification((0..<501).map { Self.event("accountUpdated", uid: "u\($0)", apiKey: site.apiKey, at: now) }, timestamp: now)
                let (status, answer) = try await Self.post(client, many, hmac: try Self.hmac(many, secret: site.partnerSecret))
                #expect(status == .badRequest)
                #expect(errorCode(answer) == "webhook_too_many_events")
                let huge = Array(repeating: UInt8(ascii: " "), count: (1 << 20) + 1)
                let (hugeStatus, hugeAnswer) = try await Self.post(client, huge, hmac: "x")
                #expect(hugeStatus == .contentTooLarge)
                #expect(errorCode(hugeAnswer) == "payload_too_large")
                let body = Self.notification([Self.event("accountUpdated", uid: "u", apiKey: site.apiKey, at: now)], timestamp: now)
                try await client.execute(
                    uri: "/v1/webhooks/gigya", method: .post,
                    headers: [.contentType: "application/json", .contentEncoding: "gzip", Self.hmacHeader: try Self.hmac(body, secret: site.partnerSecret)],
                    body: ByteBuffer(bytes: body)
                ) { #expect($0.status == .unsupportedMediaType) }
            }
            #expect(try await harness.count("account_events") == 0)
        }
    }

    @Test("a batch of 500 events is stored whole; a duplicate delivery is recognised by event id and processed once")
    func duplicates() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            let uid = try await Self.storedUser(harness)
            _ = try await harness.emulatorControl.deleteUser(uid: uid)
            try await harness.application().test(.router) { client in
                var events = (0..<499).map { Self.event("accountUpdated", uid: "other-\($0)", apiKey: site.apiKey, at: now) }
                events.append(Self.event("accountDeleted", uid: uid, apiKey: site.apiKey, at: now))
                let body = Self.notification(events, timestamp: now)
                var (status, answer) = try await Self.post(client, body, hmac: try Self.hmac(body, secret: site.partnerSecret))
                #expect(status == .ok)
                #expect(jsonInt(answer, "new") == 500)
                // Gigya re-delivers the same events in a new notification (new nonce).
                let again = Self.notification(events, timestamp: now)
                (status, answer) = try await Self.post(client, again, hmac: try Self.hmac(again, secret: site.partnerSecret))
                #expect(status == .ok)
                #expect(jsonInt(answer, "new") == 0)
                #expect(jsonInt(answer, "duplicates") == 500)
            }
            try await harness.drainAccountEvents()
            #expect(try await harness.count("account_events") == 500)
            let deletions = try await harness.store.recentAudit(limit: 100).filter { $0.action == "account.deleted" }
            #expect(deletions.count == 1)
            let counts = try await harness.store.accountEventCounts()
            #expect(counts[.processed] == 1 && counts[.ignored] == 499)
        }
    }

    @Test("accountDeleted purges sessions, links and pending work, audited with counts, and it stays purged")
    func deletion() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            let uid = try await Self.storedUser(harness, providers: ["facebook", "google"])
            let fetchStarted = Date()
            _ = try await harness.store.requestLink(
                NewAccountLink(site: site.apiKey, uid: uid, siteUID: "deleted-site-uid", via: .notifyRegistration, requestedBy: "test", requestedByKeyID: nil))
            // A login in flight when the account is deleted.
            _ = try await harness.vault.intake.accept(try await harness.login(uid: uid, provider: "twitter"))
            _ = try await harness.emulatorControl.deleteUser(uid: uid)
            try await harness.application().test(.router) { client in
                let body = Self.notification([Self.event("accountDeleted", uid: uid, apiKey: site.apiKey, at: now)], timestamp: now)
                let (status, _) = try await Self.post(client, body, hmac: try Self.hmac(body, secret: site.partnerSecret))
                #expect(status == .ok)
            }
            try await harness.drainAccountEvents()
            #expect(try await harness.store.metadata(site: site.apiKey, uid: uid).isEmpty)
            #expect(try await harness.count("account_links") == 0)
            #expect(try await harness.scalar("SELECT count(*)::int FROM login_events WHERE status = 'cancelled'") == 1)
            let audit = try #require(try await harness.store.recentAudit(limit: 20).first { $0.action == "account.deleted" })
            #expect(audit.uid == uid)
            #expect(audit.detail?.contains("sessions=2 cancelled=1 links=1") == true, "\(audit.detail ?? "")")
            // A fetch that started before the deletion cannot write the tokens back, and the worker finds nothing to do.
            let late = SessionRecord(site: site.apiKey, uid: uid, provider: "facebook", providerUID: nil, authToken: "late", tokenSecret: nil,
                                     sessionHandle: nil, tokenExpiration: nil, sessionExpiration: nil, fetchedAt: Date())
            #expect(try await harness.store.upsert(late, eventID: nil, fetchStartedAt: fetchStarted) == false)
            try await harness.drain()
            #expect(try await harness.store.metadata(site: site.apiKey, uid: uid).isEmpty)
        }
    }

    @Test("accountUidChanged moves everything to the new UID; events of one UID are processed in order")
    func uidChange() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            let uid = try await Self.storedUser(harness)
            let token = try await harness.store.session(site: site.apiKey, uid: uid, provider: "facebook")?.authToken
            let gone = try await Self.storedUser(harness)
            _ = try await harness.emulatorControl.renameUser(uid: uid, to: "renamed-\(uid)", notify: false)
            _ = try await harness.emulatorControl.renameUser(uid: gone, to: "renamed-\(gone)", notify: false)
            _ = try await harness.emulatorControl.deleteUser(uid: "renamed-\(gone)")
            try await harness.application().test(.router) { client in
                // A rename, and for another user a rename followed by the deletion of the new UID: order matters there.
                let body = Self.notification([
                    Self.event("accountUidChanged", uid: uid, newUid: "renamed-\(uid)", apiKey: site.apiKey, at: now),
                    Self.event("accountUidChanged", uid: gone, newUid: "renamed-\(gone)", apiKey: site.apiKey, at: now),
                    Self.event("accountDeleted", uid: "renamed-\(gone)", apiKey: site.apiKey, at: now),
                ], timestamp: now)
                let (status, _) = try await Self.post(client, body, hmac: try Self.hmac(body, secret: site.partnerSecret))
                #expect(status == .ok)
            }
            try await harness.drainAccountEvents()
            #expect(try await harness.store.metadata(site: site.apiKey, uid: uid).isEmpty)
            #expect(try await harness.store.session(site: site.apiKey, uid: "renamed-\(uid)", provider: "facebook")?.authToken == token)
            #expect(try await harness.store.metadata(site: site.apiKey, uid: gone).isEmpty)
            #expect(try await harness.store.metadata(site: site.apiKey, uid: "renamed-\(gone)").isEmpty)
            #expect(try await harness.store.recentAudit(limit: 20).contains { $0.action == "account.uid_changed" && $0.uid == "renamed-\(uid)" })
        }
    }

    @Test("accountMerged moves the merged account's sessions to the survivor; for a provider both hold, the newer fetch wins")
    func merge() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            let merged = try await Self.storedUser(harness, providers: ["facebook", "google"])
            let survivor = try await Self.storedUser(harness, providers: ["facebook"])
            let survivorFacebook = try await harness.store.session(site: site.apiKey, uid: survivor, provider: "facebook")
            let mergedGoogle = try await harness.store.session(site: site.apiKey, uid: merged, provider: "google")
            _ = try await harness.emulatorControl.mergeUser(uid: merged, into: survivor, notify: false)
            try await harness.application().test(.router) { client in
                let body = Self.notification([Self.event("accountMerged", uid: merged, newUid: survivor, apiKey: site.apiKey, at: now)], timestamp: now)
                let (status, _) = try await Self.post(client, body, hmac: try Self.hmac(body, secret: site.partnerSecret))
                #expect(status == .ok)
            }
            try await harness.drainAccountEvents()
            #expect(try await harness.store.metadata(site: site.apiKey, uid: merged).isEmpty)
            #expect(try await harness.store.metadata(site: site.apiKey, uid: survivor).map(\.provider) == ["facebook", "google"])
            #expect(try await harness.store.session(site: site.apiKey, uid: survivor, provider: "facebook")?.authToken == survivorFacebook?.authToken)
            #expect(try await harness.store.session(site: site.apiKey, uid: survivor, provider: "google")?.authToken == mergedGoogle?.authToken)
            let audit = try #require(try await harness.store.recentAudit(limit: 20).first { $0.action == "account.merged" })
            #expect(audit.detail?.contains("sessions=1 superseded=1") == true, "\(audit.detail ?? "")")
        }
    }

    @Test("accountLoggedIn refreshes the user's sessions where the site asks for it, and is only recorded elsewhere")
    func loggedIn() async throws {
        try await VaultHarness.with(configure: { $0.sites[0].accounts.refreshOnLogin = true }) { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            let uid = try await Self.storedUser(harness)
            _ = try await harness.emulatorControl.rotateTokens(uid: uid)
            let rotated = try await harness.emulatorSession(uid: uid, provider: "facebook").authToken
            try await harness.application().test(.router) { client in
                let body = Self.notification([Self.event("accountLoggedIn", uid: uid, apiKey: site.apiKey, at: now)], timestamp: now)
                let (status, _) = try await Self.post(client, body, hmac: try Self.hmac(body, secret: site.partnerSecret))
                #expect(status == .ok)
            }
            try await harness.drainAccountEvents()
            #expect(try await harness.store.session(site: site.apiKey, uid: uid, provider: "facebook")?.authToken == rotated)
            #expect(try await harness.store.accountEventCounts()[.processed] == 1)
        }
    }
}

extension WebhookTests {
    @Test("end to end: the emulator's own signed notifications (HMAC and JWT) of a merge, a rename and a deletion reach a live server and change what is stored; a redelivery is processed once")
    func fromTheEmulator() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site.apiKey
            let merged = try await Self.storedUser(harness, providers: ["facebook", "google"])
            let survivor = try await Self.storedUser(harness, providers: ["twitter"])
            let renamed = try await Self.storedUser(harness)
            let deleted = try await Self.storedUser(harness)
            try await harness.application().test(.live) { client in
                harness.emulator.setWebhookURL("http://127.0.0.1:\(try #require(client.port))/v1/webhooks/gigya")
                let control = harness.emulatorControl
                _ = try await control.mergeUser(uid: merged, into: survivor, apiKey: site)
                _ = try await control.renameUser(uid: renamed, to: "renamed-\(renamed)", apiKey: site)
                _ = try await control.deleteUser(uid: deleted, apiKey: site)
                // Delivered (both signatures checked by the server) once the server answered 2xx.
                let deadline = ContinuousClock.now.advanced(by: .seconds(20))
                var deliveries: [EmulatorWebhookDelivery] = []
                while ContinuousClock.now < deadline {
                    deliveries = try await control.webhookDeliveries()
                    let types = Set(deliveries.filter(\.delivered).flatMap(\.events).map(\.type))
                    if types.isSuperset(of: ["accountMerged", "accountUidChanged", "accountDeleted"]) { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                // (Logins before the target was set were logged as undeliverable; only the lifecycle ones matter here.)
                let lifecycle = deliveries.filter { $0.events.contains { $0.type != "accountLoggedIn" } }
                #expect(!lifecycle.isEmpty && lifecycle.allSatisfy(\.delivered), "\(deliveries)")
                let before = try await harness.count("account_events")
                let again = try await control.redeliverWebhook()
                #expect(again.duplicate)
                let redeliveryDeadline = ContinuousClock.now.advanced(by: .seconds(10))
                while ContinuousClock.now < redeliveryDeadline, try await control.webhookDeliveries().last?.delivered != true {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try await harness.count("account_events") == before, "a redelivery stores nothing new")
                // No delivery may connect while the server shuts down: NIO traps on a connection accepted as its listener
                // closes (apple/swift-nio#2813), so the emulator is told to stop sending before the server stops.
                harness.emulator.setWebhookURL(nil)
            }
            try await harness.drainAccountEvents()
            #expect(try await harness.store.metadata(site: site, uid: merged).isEmpty)
            #expect(try await harness.store.metadata(site: site, uid: survivor).map(\.provider) == ["facebook", "google", "twitter"])
            #expect(try await harness.store.metadata(site: site, uid: renamed).isEmpty)
            #expect(try await harness.store.metadata(site: site, uid: "renamed-\(renamed)").count == 1)
            #expect(try await harness.store.metadata(site: site, uid: deleted).isEmpty)
            let notifications = try await harness.scalar("SELECT count(DISTINCT event_id)::int FROM account_events WHERE type <> 'accountLoggedIn'")
            #expect(notifications == 3)
        }
    }
}

extension WebhookTests {
    @Test("a JWT-signed notification while Gigya's keys cannot be fetched is a 503 that stores nothing (Gigya delivers it again later)")
    func keysUnavailable() async throws {
        try await VaultHarness.with(configure: { $0.sites[0].webhookSignatures = .jwt }) { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            let nonce = UUID().uuidString.lowercased()
            let body = Self.notification([Self.event("accountUpdated", uid: "k1", apiKey: site.apiKey, at: now)], nonce: nonce, timestamp: now)
            let jwt = try await harness.emulatorControl.mintJWT(
                EmulatorJWTRequest(apiKey: site.apiKey, uid: "webhook", issuedAt: now, lifetimeSeconds: 60, claims: ["jti": .string(nonce)])
            ).idToken
            _ = try await harness.emulatorControl.injectFault(EmulatorFault(method: "accounts.getJWTPublicKey", httpStatus: 503))
            try await harness.application().test(.router) { client in
                let (status, answer) = try await Self.post(client, body, jwt: jwt)
                #expect(status == .serviceUnavailable)
                #expect(errorCode(answer) == "jwt_keys_unavailable")
            }
            #expect(try await harness.count("account_events") == 0)
        }
    }
}

/// The forgeries a stranger who saw one notification's headers can try (docs/security.md, "Webhooks").
extension WebhookTests {
    @Test("a genuine notification's JWT without its HMAC carries no forged events on the default policy: 401, nothing stored, the victim's tokens stay")
    func aReplayedJWTWithoutTheHMACIsRefused() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            let victim = try await Self.storedUser(harness)
            let attacker = try await Self.storedUser(harness)
            let nonce = UUID().uuidString.lowercased()
            let genuine = Self.notification([Self.event("accountUpdated", uid: attacker, apiKey: site.apiKey, at: now)], nonce: nonce, timestamp: now)
            let headers = try await harness.emulatorControl.signWebhook(
                EmulatorWebhookSignRequest(apiKey: site.apiKey, body: String(decoding: genuine, as: UTF8.self)))
            try await harness.application().test(.router) { client in
                let forged = Self.notification(
                    [Self.event("accountMerged", uid: victim, newUid: attacker, apiKey: site.apiKey, at: now)], nonce: nonce, timestamp: now)
                let (status, answer) = try await Self.post(client, forged, jwt: headers.jwt)
                #expect(status == .unauthorized)
                #expect(errorCode(answer) == "webhook_signature_required")
                let flood = Self.notification(
                    (0..<500).map { Self.event("accountDeleted", uid: "victim-\($0)", apiKey: site.apiKey, at: now) }, nonce: nonce, timestamp: now)
                let (floodStatus, _) = try await Self.post(client, flood, jwt: headers.jwt)
                #expect(floodStatus == .unauthorized)
            }
            #expect(try await harness.count("account_events") == 0)
            try await harness.drainAccountEvents()
            #expect(try await harness.store.metadata(site: site.apiKey, uid: victim).count == 1)
        }
    }

    @Test("policy jwt: a JWT whose sub is not the body's digest carries no deletion, merge or rename (401); one that binds the body does; its nonce is taken once, for one body")
    func aJWTOnlyNotificationMustBindItsBodyToDestroy() async throws {
        try await VaultHarness.with(configure: { $0.sites[0].webhookSignatures = .jwt }) { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            let victim = try await Self.storedUser(harness)
            try await harness.application().test(.router) { client in
                // An unbound JWT (jti and iat right, sub not the body's digest): recorded events only.
                let nonce = UUID().uuidString.lowercased()
                let deletion = Self.notification([Self.event("accountDeleted", uid: victim, apiKey: site.apiKey, at: now)], nonce: nonce, timestamp: now)
                let unbound = try await Self.unboundJWT(harness, nonce: nonce, issuedAt: now)
                var (status, answer) = try await Self.post(client, deletion, jwt: unbound)
                #expect(status == .unauthorized)
                #expect(errorCode(answer) == "webhook_jwt_not_bound")
                let update = Self.notification([Self.event("accountUpdated", uid: victim, apiKey: site.apiKey, at: now)], nonce: nonce, timestamp: now)
                (status, answer) = try await Self.post(client, update, jwt: unbound)
                #expect(status == .ok, "\(String(buffer: answer))")

                // The same JWT (its jti is now taken) over other recorded events: refused, not stored.
                let other = Self.notification([Self.event("accountUpdated", uid: "someone", apiKey: site.apiKey, at: now)], nonce: nonce, timestamp: now)
                (status, answer) = try await Self.post(client, other, jwt: unbound)
                #expect(status == .conflict)
                #expect(errorCode(answer) == "webhook_nonce_reused")
                // The very same bytes again are a re-delivery: 200, nothing new.
                (status, answer) = try await Self.post(client, update, jwt: unbound)
                #expect(status == .ok)
                #expect(jsonInt(answer, "new") == 0)

                // A JWT whose sub is the body's SHA-256 (the emulator signs so) binds the events: a deletion is taken.
                let gone = Self.notification([Self.event("accountDeleted", uid: victim, apiKey: site.apiKey, at: now)], timestamp: now)
                let signed = try await harness.emulatorControl.signWebhook(
                    EmulatorWebhookSignRequest(apiKey: site.apiKey, body: String(decoding: gone, as: UTF8.self)))
                (status, answer) = try await Self.post(client, gone, jwt: signed.jwt)
                #expect(status == .ok, "\(String(buffer: answer))")
            }
            #expect(try await harness.count("account_events") == 2)
            #expect(try await harness.count("webhook_nonces") == 2)
        }
    }

    @Test("Gigya is asked before anything is purged or moved: a deletion or merge of an account Gigya still knows changes nothing and is marked failed")
    func destructiveEventsAreConfirmedWithGigya() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site
            let now = harness.emulatorClock.now()
            let alive = try await Self.storedUser(harness)
            let survivor = try await Self.storedUser(harness)
            try await harness.application().test(.router) { client in
                let body = Self.notification([
                    Self.event("accountDeleted", uid: alive, apiKey: site.apiKey, at: now),
                    Self.event("accountMerged", uid: survivor, newUid: "nobody-\(UUID().uuidString)", apiKey: site.apiKey, at: now),
                ], timestamp: now)
                let (status, _) = try await Self.post(client, body, hmac: try Self.hmac(body, secret: site.partnerSecret))
                #expect(status == .ok)
            }
            try await harness.drainAccountEvents()
            #expect(try await harness.store.metadata(site: site.apiKey, uid: alive).count == 1)
            #expect(try await harness.store.metadata(site: site.apiKey, uid: survivor).count == 1)
            let events = try await harness.store.accountEvents(site: site.apiKey, uid: nil, limit: 10)
            #expect(events.allSatisfy { $0.status == .failed && ($0.outcome ?? "").contains("Gigya still knows") }, "\(events.map(\.outcome))")
            #expect(try await harness.store.recentAudit(limit: 20).allSatisfy { !$0.action.hasPrefix("account.") })
        }
    }
}
