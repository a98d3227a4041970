import Foundation
import GigyaEmulator
import GigyaKit
import NIOHTTP1
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// Faults on demand, and signed webhook delivery with retries.
@Suite struct FaultAndWebhookTests {
    /// Installs a fault written as raw JSON (to prove the route's own validation) and returns the HTTP answer.
    private func addRawFault(_ emulator: RunningEmulator, _ json: String) async throws -> HTTPAnswer {
        try await send(.POST, emulator.baseURL + "/_emulator/faults", body: json, contentType: "application/json")
    }

    @Test func injectedFaultsApplyForTheirCountAndClear() async throws {
        try await withEmulator { emulator in
            let user = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook"))
            let params = ["UID": user.UID, "provider": "facebook"]
            let added = try await emulator.control.injectFault(EmulatorFault(method: "socialize.getSessionInfo", errorCode: 500_001, count: 2))
            #expect(added.count == 1)
            #expect(try await signedCall(emulator, "socialize.getSessionInfo", params).errorCode == 500_001)
            #expect(try await signedCall(emulator, "socialize.getUserInfo", ["UID": user.UID]).errorCode == 0)
            #expect(try await signedCall(emulator, "socialize.getSessionInfo", params).errorCode == 500_001)
            #expect(try await signedCall(emulator, "socialize.getSessionInfo", params).errorCode == 0)

            try await emulator.control.injectFault(EmulatorFault(method: "*", httpStatus: 503))
            let unavailable = try await signedCall(emulator, "socialize.getSessionInfo", params)
            #expect(unavailable.status == 503)
            #expect(try await emulator.control.faults().count == 1)
            try await emulator.control.clearFaults()
            #expect(try await emulator.control.faults().isEmpty)
            #expect(try await signedCall(emulator, "socialize.getSessionInfo", params).errorCode == 0)

            #expect(try await addRawFault(emulator, #"{"method":"*","httpStatus":404}"#).status == 400)
            #expect(try await addRawFault(emulator, #"{"method":"*"}"#).status == 400)
            await #expect(throws: EmulatorControlError.self) {
                try await emulator.control.injectFault(EmulatorFault(method: "*", httpStatus: 404))
            }
        }
    }

    @Test func latencyDelaysTheAnswer() async throws {
        try await withEmulator { emulator in
            let user = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook"))
            try await emulator.control.injectFault(EmulatorFault(method: "socialize.getUserInfo", latencyMs: 400, count: 1))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await signedCall(emulator, "socialize.getUserInfo", ["UID": user.UID]).errorCode == 0)
            #expect(clock.now - start >= .milliseconds(400))
        }
    }

    @Test func droppedConnectionSendsNoResponse() async throws {
        try await withEmulator { emulator in
            try await emulator.control.injectFault(EmulatorFault(method: "socialize.getUserInfo", dropConnection: true, count: 1))
            let request = "POST /socialize.getUserInfo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nUID=abc"
            let dropped = await rawExchange(port: emulator.port, request: request)
            #expect(dropped.connected)
            #expect(dropped.bytes.isEmpty)
            // The fault was for one call: the next raw request gets an HTTP answer.
            let answered = await rawExchange(port: emulator.port, request: request.replacingOccurrences(of: "HTTP/1.1\r\n", with: "HTTP/1.1\r\nConnection: close\r\n"))
            #expect(String(decoding: answered.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        }
    }

    @Test func accountDeletedWebhookIsSignedAndRetriedAfterNon2xx() async throws {
        /// What the receiver saw: raw bodies and signature headers.
        let received = Mutex<[(body: [UInt8], signature: String?)]>([])
        let router = Router()
        router.post("hook") { request, _ -> HTTPResponse.Status in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let count = received.withLock { seen in
                seen.append((Array(body.readableBytesView), request.headers[HTTPField.Name("X-Gigya-Sig-Hmac-Sha1")!]))
                return seen.count
            }
            return count == 1 ? .internalServerError : .ok
        }
        let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await receiver.test(.live) { client in
            try await withEmulator(webhookURL: "http://127.0.0.1:\(client.port!)/hook") { emulator in
                let user = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook"))
                #expect(try await emulator.control.deleteUser(uid: user.UID).deleted)
                var deliveries: [EmulatorWebhookDelivery] = []
                for _ in 0..<100 where deliveries.first?.delivered != true {
                    try await Task.sleep(for: .milliseconds(20))
                    deliveries = try await emulator.control.webhookDeliveries()
                }
                #expect(deliveries.first?.delivered == true)
                #expect(deliveries.first?.attempts == 2)
                let seen = received.withLock { $0 }
                #expect(seen.count == 2)
                let secret = try GigyaSecret(base64: testSecret)
                for attempt in seen {
                    #expect(secret.isValidSignature(try #require(attempt.signature), forBytes: attempt.body))
                }
                let payload = try #require(try JSONSerialization.jsonObject(with: Data(seen[0].body)) as? [String: Any])
                let event = try #require((payload["events"] as? [[String: Any]])?.first)
                #expect(event["type"] as? String == "accountDeleted")
                #expect(event["version"] as? String == "2.0")
                #expect(event["apiKey"] as? String == "3_TESTAPIKEY")
                #expect((event["callId"] as? String)?.count == 32)
                #expect((event["data"] as? [String: Any])?["uid"] as? String == user.UID)
                #expect((event["data"] as? [String: Any])?["accountType"] as? String == "full")
                #expect(payload["nonce"] as? String != nil)
                #expect(payload["timestamp"] as? Int == 1_700_000_000)
            }
        }
    }
}
