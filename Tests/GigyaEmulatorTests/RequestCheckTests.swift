import Foundation
import GigyaEmulator
import GigyaKit
import NIOHTTP1
import Testing

/// Every request check answers with Gigya's code.
@Suite struct RequestCheckTests {
    @Test func checksAnswerWithGigyasCodes() async throws {
        let clock = ManualWallClock(1_700_000_000)
        try await withEmulator(clock: clock) { emulator in
            let user = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook"))
            let call = "/socialize.getSessionInfo"

            let noKey = try await send(.POST, emulator.baseURL + call, body: "UID=\(user.UID)&provider=facebook")
            #expect(noKey.errorCode == 400_093)
            #expect(noKey.status == 200)
            let unknownKey = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook"], apiKey: "3_NOPE")
            #expect(unknownKey.errorCode == 400_093)

            let missingProvider = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID])
            #expect(missingProvider.errorCode == 400_002)
            #expect((missingProvider.json["errorDetails"] as? String)?.contains("provider") == true)
            let missingSig = try await send(.POST, emulator.baseURL + call, body: "apiKey=3_TESTAPIKEY&UID=\(user.UID)&provider=facebook&timestamp=1700000000&nonce=1")
            #expect(missingSig.errorCode == 400_002)
            #expect((missingSig.json["errorDetails"] as? String)?.contains("sig") == true)

            let secretOverHTTP = try await send(.POST, emulator.baseURL + call, body: "apiKey=3_TESTAPIKEY&secret=\(testSecret)&UID=\(user.UID)&provider=facebook")
            #expect(secretOverHTTP.errorCode == 403_006)

            let wrongSecret = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook"], secret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            #expect(wrongSecret.errorCode == 403_003)
            let unknownUserKey = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook"], userKey: "NOPE")
            #expect(unknownUserKey.errorCode == 403_003)
            let userKey = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook"], userKey: "AUSERKEY123")
            #expect(userKey.errorCode == 0)

            let stale = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook"], timestamp: 1_700_000_000 - 121)
            #expect(stale.errorCode == 403_002)
            let edge = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook"], timestamp: 1_700_000_000 + 120)
            #expect(edge.errorCode == 0)

            let first = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook"], nonce: "n-1")
            #expect(first.errorCode == 0)
            let reused = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook"], nonce: "n-1")
            #expect(reused.errorCode == 403_004)

            let unknownUID = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": "nobody", "provider": "facebook"])
            #expect(unknownUID.errorCode == 403_005)
            let noSession = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "twitter"])
            #expect(noSession.errorCode == 403_012)

            let withStatus = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": "nobody", "provider": "facebook", "httpStatusCodes": "true"])
            #expect(withStatus.status == 403)
            #expect(withStatus.errorCode == 403_005)
            #expect(withStatus.json["statusReason"] as? String == "Forbidden")
            #expect((withStatus.json["callId"] as? String)?.count == 32)
            #expect((withStatus.json["time"] as? String)?.hasPrefix("2023-11-14T22:13:20.") == true)
            #expect(withStatus.json["apiVersion"] as? Int == 2)

            let xml = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook", "format": "xml"])
            #expect(xml.errorCode == 400_001)
            let unknownMethod = try await signedCall(emulator, "socialize.deleteAccount", ["UID": user.UID])
            #expect(unknownMethod.errorCode == 400_001)

            // GET with a query string works the same way (the signature covers method GET).
            let signer = RequestSigner(apiKey: "3_TESTAPIKEY", secret: try GigyaSecret(base64: testSecret))
            let url = emulator.baseURL + "/socialize.getUserInfo"
            let base = signer.sign(method: "socialize.getUserInfo", params: ["UID": user.UID], url: url, timestamp: 1_700_000_000, nonce: "get-1")
            var params = base.params
            params["sig"] = nil
            params["sig"] = try GigyaSecret(base64: testSecret).signature(
                for: RequestSignatureCheck.expectedBaseString(httpMethod: "GET", url: url, params: params)
            )
            let get = try await send(.GET, url + "?" + FormEncoding.encode(params))
            #expect(get.errorCode == 0, "\(get.json)")
            #expect(get.json["UID"] as? String == user.UID)

            // A deleted account answers to nothing.
            #expect(try await emulator.control.deleteUser(uid: user.UID).deleted)
            #expect(try await signedCall(emulator, "accounts.getAccountInfo", ["UID": user.UID]).errorCode == 403_005)
            #expect(try await emulator.control.user(uid: user.UID).deleted)
        }
    }

    @Test func stopReleasesThePort() async throws {
        let emulator = try await GigyaEmulator.start(configuration: EmulatorConfiguration(sites: [testSite]))
        #expect(try await emulator.control.health() == EmulatorHealth(status: "ok", sites: [testSite.apiKey]))
        await emulator.stop()
        let after = await rawExchange(port: emulator.port, request: "GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        // Tests run in parallel: another server may bind the freed port at once, so the claim is that no HTTP server
        // answers there any more, not that the port stays closed.
        #expect(!after.connected || !String(decoding: after.bytes, as: UTF8.self).hasPrefix("HTTP/"))
    }

    @Test func siteSpecsParse() throws {
        let site = try GigyaEmulator.parseSite("3_KEY:\(testSecret):eu1")
        #expect(site == EmulatorSite(apiKey: "3_KEY", partnerSecret: testSecret, dataCenter: "eu1"))
        #expect(try GigyaEmulator.parseSite("3_KEY:\(testSecret)").dataCenter == "us1")
        #expect(throws: EmulatorSiteError.self) { try GigyaEmulator.parseSite("3_KEY") }
        #expect(throws: EmulatorSiteError.self) { try GigyaEmulator.parseSite("3_KEY:not*base64") }
        let demo = GigyaEmulator.demoSite()
        #expect(demo.apiKey.hasPrefix("3_"))
        #expect(Data(base64Encoded: demo.partnerSecret)?.count == 24)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sites-\(UUID().uuidString).json")
        try Data(#"[{"apiKey":"3_A","partnerSecret":"\#(testSecret)","userKeys":{"U1":"\#(testSecret)"}}]"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let loaded = try GigyaEmulator.loadSites(fromJSONFile: file.path)
        #expect(loaded.first?.userKeys["U1"] == testSecret)
        #expect(loaded.first?.dataCenter == "us1")
    }
}
