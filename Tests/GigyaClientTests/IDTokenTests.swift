import Foundation
import GigyaEmulator
import GigyaKit
import Testing

@testable import GigyaClient

/// id_tokens end to end over real HTTP: the emulator signs, GigyaJWTKeyClient fetches the keys, IDTokenVerifier decides.
@Suite struct IDTokenTests {
    /// The harness site's key client against the emulator.
    static func keyClient(_ harness: EmulatorHarness) -> GigyaJWTKeyClient {
        GigyaJWTKeyClient(apiKey: EmulatorHarness.apiKey, baseURL: harness.emulator.baseURL)
    }

    /// A verifier for the harness site on the real clock (the harness emulator runs on it too).
    static let verifier = IDTokenVerifier(apiKey: EmulatorHarness.apiKey, leewaySeconds: 30)

    /// Mints a token for `uid` with changes, and returns the verifier's refusal (nil when accepted) against `keys`.
    static func refusal(
        _ harness: EmulatorHarness, keys: JWTKeySet, uid: String = "uid-1", expectedUID: String? = nil, verifier: IDTokenVerifier = verifier,
        _ change: (inout EmulatorJWTRequest) -> Void = { _ in }
    ) async throws -> IDTokenRefusal? {
        var request = EmulatorJWTRequest(apiKey: EmulatorHarness.apiKey, uid: uid)
        change(&request)
        let token = try await harness.control.mintJWT(request).idToken
        return await refusal(token, expectedUID: expectedUID ?? uid, keys: keys, verifier: verifier)
    }

    /// The verifier's refusal of a token, or nil.
    static func refusal(_ token: String, expectedUID: String, keys: JWTKeySet, verifier: IDTokenVerifier = verifier) async -> IDTokenRefusal? {
        do {
            _ = try await verifier.verify(token, expectedUID: expectedUID, keys: keys)
            return nil
        } catch {
            return error
        }
    }

    @Test func aLoginsIDTokenVerifiesWithTheFetchedKeys() async throws {
        try await EmulatorHarness.with { harness in
            let login = try await harness.control.loginWithIDToken(apiKey: EmulatorHarness.apiKey, provider: "google", audience: "vault")
            let token = try #require(login.idToken)
            let keys = try await Self.keyClient(harness).jwtPublicKeys(dataCenter: .us1)
            let verifier = IDTokenVerifier(apiKey: EmulatorHarness.apiKey, audience: "vault")
            let claims = try await verifier.verify(token, expectedUID: login.UID, keys: keys)
            #expect(claims.subject == login.UID)
            #expect(claims.apiKey == EmulatorHarness.apiKey)
            #expect(claims.expiresAt - claims.issuedAt == 300)
            #expect(claims.audience == ["vault"])
            #expect(try await harness.control.login(apiKey: EmulatorHarness.apiKey, provider: "google").idToken == nil)
        }
    }

    @Test func getJWTIssuesATokenWithRequestedFieldsAndLifetime() async throws {
        try await EmulatorHarness.with { harness in
            let login = try await harness.control.login(
                EmulatorLoginRequest(provider: "google", apiKey: EmulatorHarness.apiKey, email: "ada@example.com")
            )
            let answer = try await harness.client().call(
                method: "accounts.getJWT",
                params: ["targetUID": login.UID, "fields": "profile.email,profile.nickname", "expiration": "60", "audience": "vault"]
            )
            let token = try #require(answer["id_token"]?.stringValue)
            #expect(answer["ignoredFields"]?.stringValue == "profile.nickname")
            let keys = try await Self.keyClient(harness).jwtPublicKeys(dataCenter: .us1)
            let claims = try await IDTokenVerifier(apiKey: EmulatorHarness.apiKey, audience: "vault").verify(token, expectedUID: login.UID, keys: keys)
            #expect(claims.expiresAt - claims.issuedAt == 60)
            #expect(claims.all["email"] == .string("ada@example.com"))
        }
    }

    @Test func everyRefusalOverRealHTTP() async throws {
        try await EmulatorHarness.with { harness in
            let keys = try await Self.keyClient(harness).jwtPublicKeys(dataCenter: .us1)
            let now = SystemWallClock().now()
            #expect(try await Self.refusal(harness, keys: keys) == nil)
            #expect(try await Self.refusal(harness, keys: keys) { $0.legacyKeyIDHeader = true } == nil)
            #expect(try await Self.refusal(harness, keys: keys) { $0.issuedAt = now - 1_000 } == .expired)
            #expect(try await Self.refusal(harness, keys: keys) { $0.issuedAt = now + 1_000 } == .issuedInFuture)
            #expect(try await Self.refusal(harness, keys: keys) { $0.claims = ["iss": .string("https://fidm.gigya.com/jwt/3_CLIENT_TESTS")] } == .wrongIssuer)
            #expect(try await Self.refusal(harness, keys: keys) { $0.claims = ["apiKey": .string("3_OTHER")] } == .wrongAPIKey)
            #expect(try await Self.refusal(harness, keys: keys, expectedUID: "uid-2") == .subjectMismatch)
            #expect(try await Self.refusal(harness, keys: keys) { $0.signing = .unsigned } == .algorithmNotAllowed("none"))
            #expect(try await Self.refusal(harness, keys: keys) { $0.signing = .hmacWithPublicKey } == .algorithmNotAllowed("HS256"))
            #expect(try await Self.refusal(harness, keys: keys) { $0.signing = .unsigned; $0.alg = "RS256" } == .badSignature)
            #expect(try await Self.refusal(harness, keys: keys) { $0.signing = .foreignKey } == .badSignature)
            #expect(try await Self.refusal(harness, keys: keys) { $0.kid = "no-such-key" } == .unknownKeyID("no-such-key"))
            #expect(try await Self.refusal(harness, keys: keys) { $0.claims = ["exp": .null] } == .missingTimeClaim("exp"))
            let strict = IDTokenVerifier(apiKey: EmulatorHarness.apiKey, audience: "vault")
            #expect(try await Self.refusal(harness, keys: keys, verifier: strict) { $0.audience = "other" } == .audienceMismatch)
            #expect(try await Self.refusal(harness, keys: keys, verifier: strict) { $0.audience = "vault" } == nil)

            let genuine = try await harness.control.mintJWT(EmulatorJWTRequest(apiKey: EmulatorHarness.apiKey, uid: "uid-1")).idToken
            let other = try await harness.control.mintJWT(EmulatorJWTRequest(apiKey: EmulatorHarness.apiKey, uid: "uid-2")).idToken
            let parts = genuine.split(separator: ".")
            let tampered = [parts[0], other.split(separator: ".")[1], parts[2]].joined(separator: ".")
            #expect(await Self.refusal(tampered, expectedUID: "uid-2", keys: keys) == .badSignature)
        }
    }

    @Test func aRotatedKeyIsUnknownUntilTheKeysAreFetchedAgain() async throws {
        try await EmulatorHarness.with { harness in
            let keyClient = Self.keyClient(harness)
            let before = try await keyClient.jwtPublicKeys(dataCenter: .us1)
            let oldToken = try await harness.control.mintJWT(EmulatorJWTRequest(uid: "uid-1")).idToken

            let rotated = try await harness.control.rotateJWTKeys()
            #expect(rotated.keys.count == 2)
            #expect(rotated.currentKeyID != before.keyIDs.first)
            let newToken = try await harness.control.mintJWT(EmulatorJWTRequest(uid: "uid-1")).idToken
            #expect(await Self.refusal(newToken, expectedUID: "uid-1", keys: before) == .unknownKeyID(rotated.currentKeyID))
            #expect(IDTokenVerifier.keyID(of: newToken) == rotated.currentKeyID)

            let after = try await keyClient.jwtPublicKeys(dataCenter: .us1)
            #expect(after.keyIDs == rotated.keys.map(\.kid))
            #expect(await Self.refusal(newToken, expectedUID: "uid-1", keys: after) == nil)
            // The previous key is still published, so tokens issued before the rotation keep verifying: no downtime.
            #expect(await Self.refusal(oldToken, expectedUID: "uid-1", keys: after) == nil)

            let dropped = try await harness.control.rotateJWTKeys(dropPrevious: true)
            #expect(dropped.keys.count == 1)
            let latest = try await keyClient.jwtPublicKeys(dataCenter: .us1)
            #expect(await Self.refusal(oldToken, expectedUID: "uid-1", keys: latest) == .unknownKeyID(before.keyIDs.first))
        }
    }

    @Test func aGigyaErrorFromTheKeyCallIsAGigyaCallError() async throws {
        try await EmulatorHarness.with { harness in
            let wrongSite = GigyaJWTKeyClient(apiKey: "3_UNKNOWN", baseURL: harness.emulator.baseURL)
            await #expect(throws: GigyaCallError.self) {
                _ = try await wrongSite.jwtPublicKeys(dataCenter: .us1)
            }
            #expect(wrongSite.url(dataCenter: .eu1).hasPrefix(harness.emulator.baseURL + "/accounts.getJWTPublicKey?"))
            #expect(GigyaJWTKeyClient(apiKey: "3_K").url(dataCenter: .eu1).hasPrefix("https://accounts.eu1.gigya.com/accounts.getJWTPublicKey?"))
        }
    }
}
