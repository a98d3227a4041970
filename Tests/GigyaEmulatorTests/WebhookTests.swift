import Foundation
import GigyaEmulator
import GigyaKit
import HTTPTypes
import NIOHTTP1
import Synchronization
import Testing

/// Account notifications: batching, both signatures, retries, duplicates, the runtime target and the sign route.
@Suite struct WebhookTests {
    /// Holds receivers back until a test opens it.
    final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        /// Waits until the gate is open.
        func wait() async {
            await withCheckedContinuation { continuation in
                let passNow = state.withLock { state in
                    if state.open {
                        return true
                    }
                    state.waiters.append(continuation)
                    return false
                }
                if passNow {
                    continuation.resume()
                }
            }
        }

        /// Opens the gate for good.
        func open() {
            let waiters = state.withLock { state in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters {
                waiter.resume()
            }
        }
    }

    @Test func eventsAreBatchedInOrderAtMostAHundredANotificationAndSignedBothWays() async throws {
        let gate = Gate()
        try await withWebhookReceiver(answer: { _, number in
            // The first notification is held, so every later event queues up behind it.
            if number == 1 {
                await gate.wait()
            }
            return .ok
        }) { url, inbox in
            defer { gate.open() }
            // The held first delivery must not time out and be retried while 150 events are emitted on a loaded machine.
            try await withEmulator(webhookURL: url, webhookTimeout: .seconds(600)) { emulator in
                let uids = ["batch-a", "batch-b", "batch-c"]
                try await emulator.control.createUsers(uids.map { EmulatorNewUser(uid: $0, provider: "google") })
                let first = try await emulator.control.emitEvent(uid: "batch-a", type: "accountLoggedIn")
                #expect(try await eventually { inbox.all.count == 1 })
                var emitted: [EmulatorWebhookEvent] = []
                for index in 0..<150 {
                    emitted.append(try await emulator.control.emitEvent(uid: uids[index % 3], type: "accountUpdated"))
                }
                gate.open()
                #expect(try await eventually { inbox.all.count == 3 })
                let seen = inbox.all
                try #require(seen.count == 3)
                #expect(seen[0].eventIDs == [first.id])
                #expect(seen[1].eventIDs == emitted.prefix(100).map(\.id))
                #expect(seen[2].eventIDs == emitted.suffix(50).map(\.id))
                #expect(seen[1].eventUIDs == emitted.prefix(100).map(\.uid))
                for notification in seen {
                    try await verifySignatures(notification, emulator: emulator)
                }
                // The 2.0 envelope, exactly.
                #expect(Set(seen[1].json.keys) == ["events", "nonce", "timestamp"])
                let event = try #require(seen[1].events.first)
                #expect(Set(event.keys) == ["type", "id", "timestamp", "callId", "version", "apiKey", "data"])
                #expect(event["type"] as? String == "accountUpdated")
                #expect(event["version"] as? String == "2.0")
                #expect(event["apiKey"] as? String == "3_TESTAPIKEY")
                #expect(event["timestamp"] as? Int == 1_700_000_000)
                #expect((event["callId"] as? String)?.count == 32)
                let id = try #require(event["id"] as? String)
                #expect(UUID(uuidString: id) != nil && id == id.lowercased())
                #expect(event["data"] as? [String: String] == ["accountType": "full", "uid": "batch-a"])
                #expect(seen[1].timestamp == 1_700_000_000)
                #expect(UUID(uuidString: try #require(seen[1].nonce)) != nil)

                let log = try await emulator.control.webhookDeliveries()
                #expect(log.map(\.events.count) == [1, 100, 50])
                #expect(log.allSatisfy { $0.delivered && $0.attempts == 1 && !$0.duplicate && !$0.gaveUp && !$0.undeliverable })
                #expect(log.map(\.nonce) == seen.map(\.nonce))
            }
        }
    }

    @Test func aRetrySendsTheSameBodyUntilItsJWTWouldHaveExpired() async throws {
        let clock = ManualWallClock(1_700_000_000)
        try await withWebhookReceiver(answer: { _, number in
            switch number {
            case 1: return .internalServerError
            case 3:
                // The second notification's JWT (exp = timestamp + 60) has expired by its retry.
                clock.advance(by: 61)
                return .serviceUnavailable
            case 2, 4: return .ok
            default: return .badGateway
            }
        }) { url, inbox in
            try await withEmulator(clock: clock) { emulator in
                try await emulator.control.createUsers([EmulatorNewUser(uid: "retry-1", provider: "google")])
                // The target is a runtime setting: set after the emulator started.
                emulator.setWebhookURL(url)
                let first = try await emulator.control.emitEvent(uid: "retry-1", type: "accountLoggedIn")
                #expect(try await eventually { try await emulator.control.webhookDeliveries().first?.delivered == true })
                let second = try await emulator.control.emitEvent(uid: "retry-1", type: "accountUpdated")
                #expect(try await eventually { try await emulator.control.webhookDeliveries().count == 2 && inbox.all.count == 4 })
                let third = try await emulator.control.emitEvent(uid: "retry-1", type: "accountUpdated")
                #expect(try await eventually { try await emulator.control.webhookDeliveries().last?.gaveUp == true })

                let seen = inbox.all
                try #require(seen.count == 7)
                #expect(seen[0].body == seen[1].body)
                #expect(seen[0].hmac == seen[1].hmac && seen[0].jwt == seen[1].jwt)
                #expect(seen[0].eventIDs == [first.id])
                #expect(seen[2].nonce != seen[3].nonce)
                #expect(seen[2].timestamp == 1_700_000_000)
                #expect(seen[3].timestamp == 1_700_000_061)
                #expect(seen[2].eventIDs == [second.id] && seen[3].eventIDs == [second.id])
                #expect(seen[4...].allSatisfy { $0.eventIDs == [third.id] })
                for notification in [seen[1], seen[2], seen[3], seen[6]] {
                    try await verifySignatures(notification, emulator: emulator)
                }
                let log = try await emulator.control.webhookDeliveries()
                #expect(log.map(\.attempts) == [2, 2, 3])
                #expect(log.map(\.delivered) == [true, true, false])
                #expect(log[1].nonce == seen[3].nonce)
                #expect(log[2].lastStatus == 502)
            }
        }
    }

    @Test func redeliveriesRepeatTheEventIDsUnderANewNonceOrTheSameBody() async throws {
        try await withWebhookReceiver { url, inbox in
            try await withEmulator(webhookURL: url) { emulator in
                try await emulator.control.createUsers([EmulatorNewUser(uid: "again-1", provider: "google")])
                let event = try await emulator.control.emitEvent(uid: "again-1", type: "accountLoggedIn")
                #expect(try await eventually { try await emulator.control.webhookDeliveries().first?.delivered == true })
                let original = try #require(try await emulator.control.webhookDeliveries().first)
                let again = try await emulator.control.redeliverWebhook()
                #expect(again.duplicate)
                #expect(again.events.map(\.id) == [event.id])
                #expect(again.nonce != original.nonce)
                let same = try await emulator.control.redeliverWebhook(nonce: original.nonce, sameBody: true)
                #expect(same.nonce == original.nonce)
                #expect(try await eventually { inbox.all.count == 3 })
                let seen = inbox.all
                #expect(seen.map(\.eventIDs) == [[event.id], [event.id], [event.id]])
                #expect(seen[1].nonce == again.nonce)
                #expect(seen[2].body == seen[0].body)
                for notification in seen {
                    try await verifySignatures(notification, emulator: emulator)
                }
                let log = try await emulator.control.webhookDeliveries()
                #expect(log.map(\.duplicate) == [false, true, true])
                #expect(try await eventually { try await emulator.control.webhookDeliveries().allSatisfy(\.delivered) })
                await #expect(throws: EmulatorControlError.self) {
                    try await emulator.control.redeliverWebhook(nonce: "no-such-nonce")
                }
            }
        }
    }

    @Test func duplicateDeliveriesSendEveryNotificationTwice() async throws {
        try await withWebhookReceiver { url, inbox in
            try await withEmulator(webhookURL: url, duplicateDeliveries: true) { emulator in
                try await emulator.control.createUsers([EmulatorNewUser(uid: "twice-1", provider: "google")])
                let event = try await emulator.control.emitEvent(uid: "twice-1", type: "accountLoggedIn")
                #expect(try await eventually { inbox.all.count == 2 })
                let seen = inbox.all
                #expect(seen.map(\.eventIDs) == [[event.id], [event.id]])
                #expect(seen[0].nonce != seen[1].nonce)
                try await verifySignatures(seen[1], emulator: emulator)
                #expect(try await eventually { try await emulator.control.webhookDeliveries().map(\.duplicate) == [false, true] })
            }
        }
    }

    @Test func theTargetIsSetWhileRunningAndNotificationsWithoutOneAreLoggedUndeliverable() async throws {
        try await withWebhookReceiver { url, inbox in
            try await withEmulator { emulator in
                #expect(emulator.webhookURL == nil)
                let login = try await emulator.control.login(provider: "google")
                #expect(try await eventually { try await emulator.control.webhookDeliveries().first?.undeliverable == true })
                let logged = try #require(try await emulator.control.webhookDeliveries().first)
                #expect(logged.attempts == 0 && !logged.delivered && !logged.gaveUp)
                #expect(logged.events.map(\.type) == ["accountLoggedIn"])
                #expect(logged.events.map(\.uid) == [login.UID])

                emulator.setWebhookURL(url)
                #expect(try await emulator.control.webhookTarget().url == url)
                try await emulator.control.redeliverWebhook(nonce: logged.nonce)
                #expect(try await eventually { inbox.all.count == 1 })
                #expect(inbox.all.first?.eventIDs == logged.events.map(\.id))

                #expect(try await emulator.control.setWebhookTarget(nil).url == nil)
                #expect(emulator.webhookURL == nil)
                let bad = try await send(.POST, emulator.baseURL + "/_emulator/webhooks/target", body: #"{"url":"ftp://x/hook"}"#, contentType: "application/json")
                #expect(bad.status == 400)
                #expect(try await emulator.control.setWebhookTarget(url).url == url)

                try await emulator.control.deleteUser(uid: login.UID)
                #expect(try await eventually { inbox.all.count == 2 })
                let deleted = try #require(inbox.all.last)
                #expect(deleted.events.map { $0["type"] as? String } == ["accountDeleted"])
                #expect(deleted.eventUIDs == [login.UID])
                try await verifySignatures(deleted, emulator: emulator)
            }
        }
    }

    @Test func theSignRouteSignsAnyBodyWithTheCurrentOrAForeignKey() async throws {
        try await withEmulator { emulator in
            let body = #"{"events":[],"nonce":"n-1","timestamp":1700000000}"#
            let signed = try await emulator.control.signWebhook(EmulatorWebhookSignRequest(body: body))
            try await verifySignatures(ReceivedNotification(body: Array(body.utf8), hmac: signed.hmac, jwt: signed.jwt), emulator: emulator)

            let foreign = try await emulator.control.signWebhook(EmulatorWebhookSignRequest(body: body, signing: .foreignKey))
            #expect(foreign.hmac == signed.hmac)
            let verifier = IDTokenVerifier(apiKey: "3_TESTAPIKEY", clock: ManualWallClock(1_700_000_000))
            let keys = try await publishedKeys(emulator)
            do {
                _ = try await verifier.verify(foreign.jwt, expectedUID: bodyDigest(Array(body.utf8)), keys: keys)
                Issue.record("a JWT signed by an unpublished key verified")
            } catch let refusal as IDTokenRefusal {
                guard case .unknownKeyID = refusal else {
                    Issue.record("expected an unknown kid, got \(refusal)")
                    return
                }
            }

            let overridden = try await emulator.control.signWebhook(EmulatorWebhookSignRequest(body: body, issuedAt: 1_600_000_000, jti: "other"))
            let claims = try await IDTokenVerifier(apiKey: "3_TESTAPIKEY", clock: ManualWallClock(1_600_000_000))
                .verify(overridden.jwt, expectedUID: bodyDigest(Array(body.utf8)), keys: keys)
            #expect(claims.issuedAt == 1_600_000_000)
            #expect(claims.all["jti"] == .string("other"))

            // A body that is not a notification still gets both signatures; iat then follows the emulator clock.
            let plain = try await emulator.control.signWebhook(EmulatorWebhookSignRequest(body: "not json"))
            #expect(try GigyaSecret(base64: testSecret).isValidSignature(plain.hmac, forBytes: Array("not json".utf8)))
            let plainClaims = try await verifier.verify(plain.jwt, expectedUID: bodyDigest(Array("not json".utf8)), keys: keys)
            #expect(plainClaims.issuedAt == 1_700_000_000)
        }
    }
}
