import Foundation
import GigyaEmulator
import GigyaKit
import GigyaVectors
import NIOHTTP1
import Testing

/// The official SDKs' signed requests (the GigyaVectors fixture), replayed byte for byte with the emulator clock at 1700000000.
@Suite struct VectorReplayTests {
    /// Logs in the vectors' user so its session exists.
    private func seedVectorUser(_ emulator: RunningEmulator, uid: String, provider: String) async throws {
        let result = try await emulator.control.login(EmulatorLoginRequest(uid: uid, provider: provider))
        #expect(result.UID == uid)
    }

    @Test(arguments: [
        ("getSessionInfo_http_signed", "facebook"),
        ("setUID_http_signed", "facebook"),
        ("method_without_namespace", "facebook"),
    ])
    func plainHTTPVectorIsAccepted(name: String, provider: String) async throws {
        let vector = try OfficialSDKVectors.vector("rest_request_signing", name)
        let url = try #require(vector["url"] as? String)
        let postBody = try #require(vector["postBody"] as? String)
        let inputs = try #require(vector["inputs"] as? [String: Any])
        let params = try #require(inputs["params"] as? [String: Any])
        let uid = try #require(params["uid"] as? String)
        let domain = try #require(url.range(of: ".gigya.com"))
        let path = String(url[domain.upperBound...])
        try await withEmulator { emulator in
            try await seedVectorUser(emulator, uid: uid, provider: provider)
            let answer = try await send(.POST, emulator.baseURL + path, body: postBody, headers: [("Host", "socialize.us1.gigya.com")])
            #expect(answer.status == 200)
            #expect(answer.errorCode == 0, "\(name): \(answer.json)")
            if name == "getSessionInfo_http_signed" {
                // signIDs=true: providerUIDSig must verify over timestamp_providerUID (docs/gigya-protocol.md §4).
                let json = answer.json
                let timestamp = try #require(json["timestamp"] as? String)
                let providerUID = try #require(json["providerUID"] as? String)
                let signature = try #require(json["providerUIDSig"] as? String)
                let verifier = LoginSignatureVerifier(secret: try GigyaSecret(base64: testSecret), clock: ManualWallClock(1_700_000_000))
                try verifier.verifyProviderUID(providerUID: providerUID, timestamp: timestamp, signature: signature)
            }
            // The very same bytes again are a replay.
            let replay = try await send(.POST, emulator.baseURL + path, body: postBody, headers: [("Host", "socialize.us1.gigya.com")])
            #expect(replay.errorCode == 403_004)
        }
    }

    @Test func javaPortVectorIsAcceptedWithTheHostPort() async throws {
        let vector = try OfficialSDKVectors.vector("rest_request_signing", "port_normalization_java")
        let http8080 = try #require(vector["http_8080"] as? [String: Any])
        var params = try #require(vector["params"] as? [String: String])
        params["sig"] = try #require(http8080["sig"] as? String)
        try await withEmulator { emulator in
            try await seedVectorUser(emulator, uid: "abc", provider: "google")
            let body = FormEncoding.encode(params)
            let answer = try await send(.POST, emulator.baseURL + "/socialize.getUserInfo", body: body, headers: [("Host", "Socialize.US1.gigya.com:8080")])
            #expect(answer.errorCode == 0, "\(answer.json)")
            // The same parameters for a Host without the port are another base string (checked before the nonce).
            let withoutPort = try await send(.POST, emulator.baseURL + "/socialize.getUserInfo", body: FormEncoding.encode(params),
                headers: [("Host", "socialize.us1.gigya.com")])
            #expect(withoutPort.errorCode == 403_003)
        }
    }

    @Test(arguments: [("getSessionInfo_https_flag_signed", "facebook"), ("getSessionInfo_eu1_userKey", "twitter")])
    func httpsVectorNeedsATrustedForwardedProto(name: String, provider: String) async throws {
        let vector = try OfficialSDKVectors.vector("rest_request_signing", name)
        let url = try #require(vector["url"] as? String)
        let postBody = try #require(vector["postBody"] as? String)
        let host = String(url.dropFirst("https://".count).prefix { $0 != "/" })
        let path = "/socialize.getSessionInfo"
        for trust in [false, true] {
            try await withEmulator(trustForwardedProto: trust) { emulator in
                try await seedVectorUser(emulator, uid: "6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a", provider: provider)
                let answer = try await send(.POST, emulator.baseURL + path, body: postBody, headers: [("Host", host), ("X-Forwarded-Proto", "https")])
                // Untrusted, the request arrived over http, so an https signature is wrong, as it would be at Gigya.
                #expect(answer.errorCode == (trust ? 0 : 403_003), "\(name) trust=\(trust): \(answer.json)")
                if trust {
                    // Over https `encrypt` defaults to false (getSessionInfo docs): no IV, plain fields.
                    #expect(answer.json["IV"] == nil)
                    let state = try await emulator.control.user(uid: "6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a")
                    #expect(answer.json["tokenSecret"] as? String == state.sessions[provider]?.tokenSecret)
                }
            }
        }
    }

    @Test func encodingEdgeCasesVectorIsAcceptedAndStoresItsData() async throws {
        let vector = try OfficialSDKVectors.vector("rest_request_signing", "encoding_edge_cases")
        let url = try #require(vector["url"] as? String)
        let postBody = try #require(vector["postBody"] as? String)
        let host = String(url.dropFirst("https://".count).prefix { $0 != "/" })
        let path = "/accounts.setAccountInfo"
        let uid = "6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a"
        let headers = [("Host", host), ("X-Forwarded-Proto", "https")]
        try await withEmulator(trustForwardedProto: true) { emulator in
            try await seedVectorUser(emulator, uid: uid, provider: "google")
            // One byte of `status` changed ("Hello" → "Jello"): the signature no longer covers the parameters.
            let tamperedBody = postBody.replacingOccurrences(of: "status=Hello", with: "status=Jello")
            #expect(tamperedBody != postBody)
            let tampered = try await send(.POST, emulator.baseURL + path, body: tamperedBody, headers: headers)
            #expect(tampered.errorCode == 403_003, "\(tampered.json)")
            #expect(try await emulator.control.user(uid: uid).data.isEmpty)
            // A refused signature records no nonce, so the genuine bytes still pass.
            let answer = try await send(.POST, emulator.baseURL + path, body: postBody, headers: headers)
            #expect(answer.errorCode == 0, "\(answer.json)")
            #expect(try await emulator.control.user(uid: uid).data == ["b": .number(1), "a": .string("x y")])
            let account = try await signedCall(emulator, "accounts.getAccountInfo", ["UID": uid])
            #expect(account.errorCode == 0, "\(account.json)")
            let data = try #require(account.json["data"] as? [String: Any])
            #expect(data.count == 2)
            #expect(data["b"] as? Int == 1)
            #expect(data["a"] as? String == "x y")
        }
    }
}
