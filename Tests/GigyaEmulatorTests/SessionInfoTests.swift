import Foundation
import GigyaEmulator
import GigyaKit
import NIOHTTP1
import Testing

/// getSessionInfo's encrypted tokens, setUID's rules and the Web-SDK login.
@Suite struct SessionInfoTests {
    @Test(arguments: PaddingMode.allCases)
    func tokensDecryptUnderEachPaddingModeToThePlaintextState(padding: PaddingMode) async throws {
        try await withEmulator { emulator in
            let result = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook"))
            let answer = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": result.UID, "provider": "facebook", "paddingMode": padding.rawValue])
            #expect(answer.errorCode == 0, "\(answer.json)")
            let payload = try JSONDecoder().decode(SessionInfoPayload.self, from: Data(answer.body))
            let state = try await emulator.control.user(uid: result.UID)
            let session = try #require(state.sessions["facebook"])
            let cipher = try TokenCipher(secret: try GigyaSecret(base64: testSecret))
            let iv = try #require(payload.IV)
            #expect(try cipher.decrypt(try #require(payload.tokenSecret), ivBase64: iv, padding: padding) == session.tokenSecret)
            #expect(try cipher.decrypt(try #require(payload.sessionHandle), ivBase64: iv, padding: padding) == session.sessionHandle)
            #expect(payload.tokenSecret != session.tokenSecret)
            #expect(payload.authToken == session.authToken)
            #expect(payload.providerUID == session.providerUID)
            #expect(payload.tokenExpiration == String(session.tokenExpiration))
        }
    }

    @Test func everyCallUsesAFreshIV() async throws {
        try await withEmulator { emulator in
            let result = try await emulator.control.login(EmulatorLoginRequest(provider: "google"))
            let first = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": result.UID, "provider": "google"])
            let second = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": result.UID, "provider": "google"])
            #expect(first.json["IV"] as? String != nil)
            #expect(first.json["IV"] as? String != second.json["IV"] as? String)
        }
    }

    @Test func rotateIssuesNewTokens() async throws {
        try await withEmulator { emulator in
            let result = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook"))
            let before = try await emulator.control.user(uid: result.UID)
            try await emulator.control.rotateTokens(uid: result.UID)
            let after = try await emulator.control.user(uid: result.UID)
            #expect(after.sessions["facebook"]?.authToken != before.sessions["facebook"]?.authToken)
            #expect(after.sessions["facebook"]?.providerUID == before.sessions["facebook"]?.providerUID)
        }
    }

    @Test func loginResultCarriesAValidUIDSignature() async throws {
        try await withEmulator { emulator in
            let result = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook", email: "a@example.com"))
            #expect(result.signatureTimestamp == "1700000000")
            #expect(result.loginProvider == "facebook")
            #expect(result.user?.email == "a@example.com")
            #expect(result.isNewUser)
            let verifier = LoginSignatureVerifier(secret: try GigyaSecret(base64: testSecret), clock: ManualWallClock(1_700_000_000))
            try verifier.verifyUser(uid: result.UID, timestamp: result.signatureTimestamp, signature: result.UIDSignature)
            let again = try await emulator.control.login(EmulatorLoginRequest(uid: result.UID, provider: "google"))
            #expect(again.UID == result.UID)
            #expect(!again.isNewUser)
            #expect(again.user?.providers.split(separator: ",").sorted() == ["facebook", "google"])
        }
    }

    @Test func loginNeedsApiKeyWhenSeveralSites() async throws {
        let other = EmulatorSite(apiKey: "3_OTHER", partnerSecret: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        try await withEmulator(sites: [testSite, other]) { emulator in
            let body = #"{"provider":"facebook"}"#
            let refused = try await send(.POST, emulator.baseURL + "/_emulator/login", body: body, contentType: "application/json")
            #expect(refused.status == 400)
            #expect(refused.errorCode == 400_093)
            let result = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook", apiKey: "3_OTHER"))
            let verifier = LoginSignatureVerifier(secret: try GigyaSecret(base64: other.partnerSecret), clock: ManualWallClock(1_700_000_000))
            try verifier.verifyUser(uid: result.UID, timestamp: result.signatureTimestamp, signature: result.UIDSignature)
        }
    }

    @Test func setUIDRules() async throws {
        try await withEmulator { emulator in
            let user = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook"))
            let tooLong = String(repeating: "a", count: 253)
            #expect(try await signedCall(emulator, "socialize.setUID", ["UID": user.UID, "siteUID": tooLong]).errorCode == 400_006)
            #expect(try await signedCall(emulator, "socialize.setUID", ["UID": user.UID, "siteUID": "caf\u{e9}"]).errorCode == 400_006)
            #expect(try await signedCall(emulator, "socialize.setUID", ["UID": user.UID, "siteUID": user.UID]).errorCode == 400_006)
            #expect(try await signedCall(emulator, "socialize.setUID", ["UID": user.UID]).errorCode == 400_002)

            let siteUID = String(repeating: "s", count: 252)
            #expect(try await signedCall(emulator, "socialize.setUID", ["UID": user.UID, "siteUID": siteUID]).errorCode == 0)
            // The old Gigya UID no longer answers; the siteUID does.
            #expect(try await signedCall(emulator, "socialize.getSessionInfo", ["UID": user.UID, "provider": "facebook"]).errorCode == 403_005)
            #expect(try await signedCall(emulator, "socialize.getUserInfo", ["UID": user.UID]).errorCode == 403_005)
            #expect(try await signedCall(emulator, "socialize.getSessionInfo", ["UID": siteUID, "provider": "facebook"]).errorCode == 0)
            let info = try await signedCall(emulator, "socialize.getUserInfo", ["UID": siteUID])
            #expect(info.json["UID"] as? String == siteUID)
            #expect(info.json["isSiteUID"] as? Bool == true)
            let account = try await signedCall(emulator, "accounts.getAccountInfo", ["UID": siteUID, "include": "identities-active"])
            #expect(account.json["UID"] as? String == siteUID)
            #expect((account.json["identities"] as? [[String: Any]])?.first?["provider"] as? String == "facebook")
            // A new login of the user returns the siteUID as its UID. (Another user setting it merges: AccountLifecycleTests.)
            let relogin = try await emulator.control.login(EmulatorLoginRequest(uid: user.UID, provider: "facebook"))
            #expect(relogin.UID == siteUID)
            #expect(relogin.user?.isSiteUID == true)
        }
    }

    @Test func notifyRegistrationMarksTheUserRegistered() async throws {
        try await withEmulator { emulator in
            let user = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook"))
            #expect(try await signedCall(emulator, "socialize.notifyRegistration", ["UID": user.UID, "siteUID": "member-7"]).errorCode == 0)
            let state = try await emulator.control.user(uid: "member-7")
            #expect(state.isRegistered)
            #expect(state.siteUID == "member-7")
            #expect(state.gigyaUID == user.UID)
        }
    }
}
