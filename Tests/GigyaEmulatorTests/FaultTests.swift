import Foundation
import GigyaEmulator
import GigyaKit
import NIOHTTP1
import Testing

/// Faults on demand.
@Suite struct FaultTests {
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

    @Test func faultsApplyToAccountsSearchAsRateLimits() async throws {
        try await withEmulator { emulator in
            try await emulator.control.createUsers([EmulatorNewUser(uid: "limited", provider: "google")])
            try await emulator.control.injectFault(EmulatorFault(method: "accounts.search", errorCode: 403_048, count: 1))
            let params = ["query": "SELECT UID FROM accounts"]
            let limited = try await signedCall(emulator, "accounts.search", params)
            #expect(limited.errorCode == 403_048)
            let answered = try await signedCall(emulator, "accounts.search", params)
            #expect(answered.errorCode == 0, "\(answered.json)")
            #expect(answered.json["totalCount"] as? Int == 1)
            let stats = try await emulator.control.stats()
            #expect(stats.calls["accounts.search"]?.ok == 1)
            #expect(stats.calls["accounts.search"]?.error == 1)
        }
    }
}
