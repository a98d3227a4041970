import Foundation
import GigyaEmulator
import GigyaKit
import NIOHTTP1
import Testing

/// The emulator's id_token surface: the two REST methods and the `/_emulator/jwt` routes.
@Suite struct JWTTests {
    @Test func getJWTPublicKeyNeedsNoSignatureAndAnswersV1AndV2() async throws {
        try await withEmulator { emulator in
            let v2 = try await send(.GET, emulator.baseURL + "/accounts.getJWTPublicKey?apiKey=3_TESTAPIKEY&V2=true")
            #expect(v2.errorCode == 0)
            let keys = try JWTKeySet(json: Data(v2.body))
            #expect(keys.keyIDs.count == 1)
            let v1 = try await send(.GET, emulator.baseURL + "/accounts.getJWTPublicKey?apiKey=3_TESTAPIKEY")
            #expect(v1.json["kid"] as? String == keys.keyIDs.first)
            #expect(v1.json["kty"] as? String == "RSA")
            #expect(v1.json["keys"] == nil)
            #expect(try JWTKeySet(json: Data(v1.body)).keys == keys.keys)
            let unknown = try await send(.GET, emulator.baseURL + "/accounts.getJWTPublicKey?apiKey=3_NOPE&V2=true")
            #expect(unknown.errorCode == 400_093)
        }
    }

    @Test func keysArePerDataCentre() async throws {
        let eu = EmulatorSite(apiKey: "3_EU", partnerSecret: testSecret, dataCenter: "eu1")
        let us2 = EmulatorSite(apiKey: "3_US_TOO", partnerSecret: testSecret, dataCenter: "us1")
        try await withEmulator(sites: [testSite, eu, us2]) { emulator in
            /// The published kids for a site.
            func kids(_ apiKey: String) async throws -> [String] {
                try JWTKeySet(json: Data(try await send(.GET, emulator.baseURL + "/accounts.getJWTPublicKey?V2=true&apiKey=" + apiKey).body)).keyIDs
            }
            let us = try await kids("3_TESTAPIKEY")
            let euKids = try await kids("3_EU")
            #expect(try await kids("3_US_TOO") == us)
            #expect(euKids != us)
            let noKey = try await send(.GET, emulator.baseURL + "/accounts.getJWTPublicKey?V2=true", headers: [("Host", "accounts.eu1.gigya.com")])
            #expect(try JWTKeySet(json: Data(noKey.body)).keyIDs == euKids)
        }
    }

    @Test func getJWTIsASignedCallForALiveUser() async throws {
        try await withEmulator { emulator in
            let user = try await emulator.control.login(provider: "facebook")
            let missing = try await signedCall(emulator, "accounts.getJWT", [:])
            #expect(missing.errorCode == 400_002)
            let unsigned = try await send(.POST, emulator.baseURL + "/accounts.getJWT", body: "apiKey=3_TESTAPIKEY&targetUID=\(user.UID)")
            #expect(unsigned.errorCode == 400_002)
            let nobody = try await signedCall(emulator, "accounts.getJWT", ["targetUID": "nobody"])
            #expect(nobody.errorCode == 403_005)
            let badExpiration = try await signedCall(emulator, "accounts.getJWT", ["targetUID": user.UID, "expiration": "-5"])
            #expect(badExpiration.errorCode == 400_006)
            let answer = try await signedCall(emulator, "accounts.getJWT", ["targetUID": user.UID, "fields": "isLoggedIn,data.none"])
            #expect(answer.errorCode == 0)
            #expect(answer.json["ignoredFields"] as? String == "data.none")
            let token = try #require(answer.json["id_token"] as? String)
            let keys = try JWTKeySet(json: Data(try await send(.GET, emulator.baseURL + "/accounts.getJWTPublicKey?apiKey=3_TESTAPIKEY&V2=true").body))
            // The harness clock stands at 1700000000 and the emulator signed with it.
            let verifier = IDTokenVerifier(apiKey: "3_TESTAPIKEY", clock: ManualWallClock(1_700_000_000))
            let claims = try await verifier.verify(token, expectedUID: user.UID, keys: keys)
            #expect(claims.issuedAt == 1_700_000_000)
            #expect(claims.expiresAt == 1_700_000_300)
            #expect(claims.all["isLoggedIn"] == .bool(true))
        }
    }

    @Test func mintingRefusesBadRequestsWithClearErrors() async throws {
        try await withEmulator { emulator in
            let notJSON = try await send(.POST, emulator.baseURL + "/_emulator/jwt", body: "uid=x", contentType: "application/json")
            #expect(notJSON.status == 400)
            await #expect(throws: EmulatorControlError.self) {
                _ = try await emulator.control.mintJWT(EmulatorJWTRequest(apiKey: "3_NOPE", uid: "x"))
            }
            await #expect(throws: EmulatorControlError.self) {
                _ = try await emulator.control.mintJWT(EmulatorJWTRequest(uid: "x", signing: .publishedKey, signingKeyID: "nope"))
            }
            let badRotation = try await send(.POST, emulator.baseURL + "/_emulator/jwt/rotate", body: "[", contentType: "application/json")
            #expect(badRotation.status == 400)
        }
    }

    @Test func mintedHeadersFollowTheRequest() async throws {
        try await withEmulator { emulator in
            /// The decoded header of a minted token.
            func header(_ request: EmulatorJWTRequest) async throws -> [String: Any] {
                let token = try await emulator.control.mintJWT(request).idToken
                let bytes = try #require(Base64URL.decode(token.split(separator: ".")[0]))
                return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            }
            #expect(try await header(EmulatorJWTRequest(uid: "u"))["alg"] as? String == "RS256")
            #expect(try await header(EmulatorJWTRequest(uid: "u", signing: .unsigned))["alg"] as? String == "none")
            #expect(try await header(EmulatorJWTRequest(uid: "u", signing: .hmacWithPublicKey))["alg"] as? String == "HS256")
            let legacy = try await header(EmulatorJWTRequest(uid: "u", legacyKeyIDHeader: true))
            #expect(legacy["kid"] == nil && legacy["keyid"] != nil)
            let minted = try await emulator.control.mintJWT(EmulatorJWTRequest(uid: "u", lifetimeSeconds: 60, claims: ["iat": .null]))
            #expect(minted.claims["iat"] == nil)
            #expect(minted.claims["exp"] == .number(1_700_000_060))
        }
    }
}
