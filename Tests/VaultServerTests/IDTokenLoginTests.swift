import Configuration
import Foundation
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Prometheus
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

/// Login callbacks that carry a Gigya id_token instead of a UIDSignature (issue #10, docs/gigya-protocol.md §10), over real
/// HTTP against the emulator's keys; time is the harness's manual clock, shared by the emulator and the server.
@Suite("id_token logins")
struct IDTokenLoginTests {
    /// Makes the harness's site accept `verification`, with an optional audience; the refresher looks once an hour and
    /// fetches nothing at start, so the first fetch comes with the first login, after the emulator has made its first RSA
    /// key (slow in a debug build on a busy machine: a start-up fetch racing it could time out, and on the frozen test
    /// clock its backoff would never pass). Gigya calls get 10 s instead of the harness's 1 s for the same reason.
    static func site(_ verification: LoginVerification, audience: String? = nil) -> (inout ServerSettings) -> Void {
        { settings in
            settings.sites[0].loginVerification = verification
            settings.sites[0].idTokenAudience = audience
            settings.jwtKeys.refreshCheckInterval = .seconds(3600)
            settings.jwtKeys.fetchAtStart = false
            settings.gigyaTimeout = .seconds(10)
        }
    }

    /// A login callback body carrying an id_token.
    static func body(uid: String, token: String, provider: String = "facebook", apiKey: String? = nil) -> ByteBuffer {
        var object = ["UID": uid, "id_token": token, "provider": provider]
        if let apiKey { object["apiKey"] = apiKey }
        return ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// What a callback was answered.
    struct Answer: Sendable {
        let status: HTTPResponse.Status
        let code: String?
        let field: String?
        let eventID: String?
        let duplicate: Bool?
    }

    /// Posts a callback body and reads the answer.
    static func post(_ client: some TestClientProtocol, _ body: ByteBuffer) async throws -> Answer {
        try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: body) { response in
            Answer(
                status: response.status, code: errorCode(response.body), field: errorField(response.body),
                eventID: jsonString(response.body, "eventId"), duplicate: jsonBool(response.body, "duplicate")
            )
        }
    }

    /// How many `accounts.getJWTPublicKey` calls the emulator answered successfully.
    static func keyFetches(_ harness: VaultHarness) async throws -> Int {
        try await harness.emulatorControl.stats().ok("accounts.getJWTPublicKey")
    }

    /// Logs a new user in at the emulator with `include: "id_token"` and returns the UID and the token.
    static func idTokenLogin(_ harness: VaultHarness, uid: String? = nil, provider: String = "facebook", audience: String? = nil) async throws
        -> (uid: String, token: String)
    {
        let login = try await harness.emulatorControl.loginWithIDToken(apiKey: harness.site.apiKey, uid: uid, provider: provider, audience: audience)
        return (login.UID, try #require(login.idToken))
    }

    /// Proves nothing was stored by a refused callback.
    static func expectNothingStored(_ harness: VaultHarness) async throws {
        #expect(try await harness.count("login_events") == 0)
        #expect(try await harness.count("replay_keys") == 0)
    }

    // MARK: - Accepted

    @Test("an id_token login is accepted, fetched from Gigya, sealed and served back; iat is the event's timestamp")
    func acceptedEndToEnd() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let (uid, token) = try await Self.idTokenLogin(harness, provider: "google")
            let reader = try await harness.accessKey([.sessionsRead])
            try await harness.application().test(.router) { client in
                let answer = try await Self.post(client, Self.body(uid: uid, token: token, provider: "google"))
                #expect(answer.status == .accepted)
                let eventID = try #require(answer.eventID.flatMap(UUID.init(uuidString:)))
                try await harness.drain()
                let event = try #require(try await harness.store.event(id: eventID))
                #expect(event.status == .stored)
                #expect(event.signatureTimestamp == harness.emulatorClock.now())
                let truth = try await harness.emulatorSession(uid: uid, provider: "google")
                let headers: HTTPFields = [.authorization: "Bearer \(reader)"]
                try await client.execute(uri: "/v1/users/\(uid)/sessions/google", method: .get, headers: headers) { response in
                    #expect(response.status == .ok)
                    let json = try jsonObject(response.body)
                    #expect(json["authToken"] as? String == truth.authToken)
                    #expect(json["tokenSecret"] as? String == truth.tokenSecret)
                }
            }
            #expect(try await harness.count("provider_sessions") == 1)
        }
    }

    @Test("a legacy keyid header and an id_token from accounts.getJWT-like minting are accepted")
    func legacyKeyIDHeader() async throws {
        try await VaultHarness.with(configure: Self.site(.idTokens)) { harness in
            let minted = try await harness.emulatorControl.mintJWT(EmulatorJWTRequest(uid: "legacy-user", legacyKeyIDHeader: true))
            try await harness.application().test(.router) { client in
                let answer1 = try await Self.post(client, Self.body(uid: "legacy-user", token: minted.idToken))
                #expect(answer1.status == .accepted)
            }
        }
    }

    // MARK: - Refusals

    /// One token the verifier must refuse, and the answer it gets.
    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        let code: String
        let status: HTTPResponse.Status
        /// Makes the token to post for `uid`, given the harness (its clock and emulator).
        let token: @Sendable (VaultHarness, String) async throws -> String

        var testDescription: String { name }

        init(
            _ name: String, _ code: String, status: HTTPResponse.Status = .unauthorized,
            token: @escaping @Sendable (VaultHarness, String) async throws -> String
        ) {
            self.name = name
            self.code = code
            self.status = status
            self.token = token
        }

        /// A token minted by the emulator with `change` applied to the request.
        static func minted(_ name: String, _ code: String, _ change: @escaping @Sendable (inout EmulatorJWTRequest, Int64) -> Void) -> Refusal {
            Refusal(name, code) { harness, uid in
                var request = EmulatorJWTRequest(uid: uid)
                change(&request, harness.emulatorClock.now())
                return try await harness.emulatorControl.mintJWT(request).idToken
            }
        }
    }

    static let refusals: [Refusal] = [
        .minted("expired beyond the leeway", "id_token_expired") { request, now in
            request.issuedAt = now - 1000
            request.lifetimeSeconds = 300
        },
        .minted("iat in the future beyond the leeway", "id_token_issued_in_future") { request, now in request.issuedAt = now + 600 },
        .minted("wrong iss", "id_token_wrong_issuer") { request, _ in
            request.claims = ["iss": .string("https://fidm.gigya.com/jwt/3_SOMEONE_ELSE/")]
        },
        Refusal("iss without the trailing slash", "id_token_wrong_issuer") { harness, uid in
            let claims: [String: GigyaJSON] = ["iss": .string("https://fidm.gigya.com/jwt/\(harness.site.apiKey)")]
            return try await harness.emulatorControl.mintJWT(EmulatorJWTRequest(uid: uid, claims: claims)).idToken
        },
        .minted("no iss", "id_token_wrong_issuer") { request, _ in request.claims = ["iss": .null] },
        .minted("wrong apiKey", "id_token_wrong_api_key") { request, _ in request.claims = ["apiKey": .string("3_SOMEONE_ELSE")] },
        .minted("sub of another user", "id_token_subject_mismatch") { request, _ in request.uid = "someone-else" },
        .minted("no exp", "id_token_missing_time_claim") { request, _ in request.claims = ["exp": .null] },
        .minted("alg none, unsigned", "id_token_alg_not_allowed") { request, _ in request.signing = .unsigned },
        .minted("HS256 keyed with the public key", "id_token_alg_not_allowed") { request, _ in request.signing = .hmacWithPublicKey },
        .minted("RS256 header over an HS256 signature", "id_token_bad_signature") { request, _ in
            request.signing = .hmacWithPublicKey
            request.alg = "RS256"
        },
        .minted("signed by a key Gigya never published", "id_token_bad_signature") { request, _ in request.signing = .foreignKey },
        Refusal("tampered payload", "id_token_bad_signature") { harness, uid in
            let token = try await harness.emulatorControl.mintJWT(EmulatorJWTRequest(uid: uid)).idToken
            let parts = token.split(separator: ".").map(String.init)
            let payloadBytes = try #require(Base64URL.decode(parts[1]))
            var claims = try #require(try JSONSerialization.jsonObject(with: Data(payloadBytes)) as? [String: Any])
            claims["exp"] = ((claims["exp"] as? NSNumber)?.int64Value ?? 0) + 86_400 * 365
            let payload = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
            return [parts[0], payload, parts[2]].joined(separator: ".")
        },
        Refusal("two parts", "id_token_malformed", status: .badRequest) { _, _ in "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0" },
        Refusal("four parts", "id_token_malformed", status: .badRequest) { _, _ in "a.b.c.d" },
        Refusal("bad base64url", "id_token_malformed", status: .badRequest) { _, _ in "e*J.eyJ9.sig" },
        Refusal("header not JSON", "id_token_malformed", status: .badRequest) { _, _ in Base64URL.encode(Array("nope".utf8)) + ".e30.c2ln" },
        Refusal("huge header", "id_token_malformed", status: .badRequest) { _, _ in
            let header = "{\"alg\":\"RS256\",\"kid\":\"" + String(repeating: "k", count: 9000) + "\"}"
            return Base64URL.encode(Array(header.utf8)) + ".e30.c2ln"
        },
    ]

    @Test("each refused id_token gets its own code and stores nothing", arguments: refusals)
    func refusedToken(_ refusal: Refusal) async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let uid = "refusal-user"
            let token = try await refusal.token(harness, uid)
            try await harness.application().test(.router) { client in
                let answer = try await Self.post(client, Self.body(uid: uid, token: token))
                #expect(answer.status == refusal.status)
                #expect(answer.code == refusal.code)
                #expect(answer.field == "id_token")
            }
            try await Self.expectNothingStored(harness)
            let exposition = harness.vault.registry.emitToString()
            #expect(exposition.contains("vault_id_token_failures_total{reason=\"\(refusal.code)\"} 1"))
        }
    }

    @Test("within the leeway, a just-expired token and one issued a little ahead of our clock are accepted")
    func leeway() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let now = harness.emulatorClock.now()
            let late = try await harness.emulatorControl.mintJWT(EmulatorJWTRequest(uid: "late-user", issuedAt: now - 330, lifetimeSeconds: 300))
            let early = try await harness.emulatorControl.mintJWT(EmulatorJWTRequest(uid: "early-user", issuedAt: now + 30))
            try await harness.application().test(.router) { client in
                let answer2 = try await Self.post(client, Self.body(uid: "late-user", token: late.idToken))
                #expect(answer2.status == .accepted)
                let answer3 = try await Self.post(client, Self.body(uid: "early-user", token: early.idToken))
                #expect(answer3.status == .accepted)
            }
        }
    }

    @Test("with an audience configured, a token must hold it in aud")
    func audience() async throws {
        try await VaultHarness.with(configure: Self.site(.idTokens, audience: "https://app.example")) { harness in
            let right = try await Self.idTokenLogin(harness, audience: "https://app.example")
            let none = try await Self.idTokenLogin(harness)
            let other = try await Self.idTokenLogin(harness, audience: "https://other.example")
            try await harness.application().test(.router) { client in
                let answer4 = try await Self.post(client, Self.body(uid: right.uid, token: right.token))
                #expect(answer4.status == .accepted)
                let answer5 = try await Self.post(client, Self.body(uid: none.uid, token: none.token))
                #expect(answer5.code == "id_token_audience_mismatch")
                let answer6 = try await Self.post(client, Self.body(uid: other.uid, token: other.token))
                #expect(answer6.code == "id_token_audience_mismatch")
            }
            #expect(try await harness.count("login_events") == 1)
        }
    }

    // MARK: - Site modes

    @Test("a signatures-only site refuses an id_token with id_tokens_not_accepted, and fetches no keys")
    func signaturesOnlySiteRefusesTokens() async throws {
        try await VaultHarness.with { harness in
            #expect(harness.vault.warmKeyDataCenters.isEmpty)
            let (uid, token) = try await Self.idTokenLogin(harness)
            try await harness.application().test(.router) { client in
                let answer = try await Self.post(client, Self.body(uid: uid, token: token))
                #expect(answer.status == .unauthorized)
                #expect(answer.code == "id_tokens_not_accepted")
            }
            try await Self.expectNothingStored(harness)
            #expect(try await Self.keyFetches(harness) == 0)
        }
    }

    @Test("an id_tokens-only site refuses a UIDSignature with signatures_not_accepted")
    func idTokensOnlySiteRefusesSignatures() async throws {
        try await VaultHarness.with(configure: Self.site(.idTokens)) { harness in
            let login = try await harness.login()
            try await harness.application().test(.router) { client in
                let headers: HTTPFields = [.contentType: "application/json"]
                try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: headers, body: login.jsonBody) { response in
                    #expect(response.status == .unauthorized)
                    #expect(errorCode(response.body) == "signatures_not_accepted")
                }
            }
            try await Self.expectNothingStored(harness)
        }
    }

    @Test("a callback carrying both is checked by what the site accepts: the signature on a signatures-only site, the token otherwise")
    func bothCredentials() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.emulatorControl.loginWithIDToken(apiKey: harness.site.apiKey, provider: "facebook")
            var fields = [
                "UID": login.UID, "UIDSignature": login.UIDSignature, "signatureTimestamp": login.signatureTimestamp, "provider": "facebook",
            ]
            fields["id_token"] = "not-even-a-token"
            let garbage = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: fields))
            fields["id_token"] = login.idToken
            let both = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: fields))
            try await harness.application().test(.router) { client in
                // The token is still shape-checked first: garbage is a 400 even where it would be ignored.
                let answer7 = try await Self.post(client, garbage)
                #expect(answer7.code == "id_token_malformed")
                let answer8 = try await Self.post(client, both)
                #expect(answer8.status == .accepted)
            }
            #expect(try await Self.keyFetches(harness) == 0)
        }
    }

    @Test("keys are per data centre: two sites share one fetch, and one site's valid token is refused by the other (iss)")
    func anotherSitesToken() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let (uid, token) = try await Self.idTokenLogin(harness)
            let other = GigyaEmulator.demoSite()
            _ = try await #require(harness.vault.idTokens.keys).keys(dataCenter: .us1)
            let fetchesBefore = try await Self.keyFetches(harness)
            // A second server site in the same data centre (us1) that also takes id_tokens; its cache starts cold.
            let addingOther: (inout ServerSettings) -> Void = { settings in
                Self.site(.both)(&settings)
                settings.sites.append(
                    SiteSettings(apiKey: other.apiKey, secret: other.partnerSecret, baseURL: harness.emulator.baseURL, loginVerification: .idTokens)
                )
            }
            try await harness.withApplication(addingOther) { app in
                #expect(app.vault.idTokens.keys?.dataCenters == [.us1])
                try await app.routerOnly.test(.router) { client in
                    let own = try await Self.post(client, Self.body(uid: uid, token: token, apiKey: harness.site.apiKey))
                    #expect(own.status == .accepted)
                    let foreign = try await Self.post(client, Self.body(uid: uid, token: token, apiKey: other.apiKey))
                    #expect(foreign.status == .unauthorized)
                    #expect(foreign.code == "id_token_wrong_issuer")
                }
            }
            #expect(try await Self.keyFetches(harness) == fetchesBefore + 1)
            #expect(try await harness.count("login_events") == 1)
        }
    }

    // MARK: - Replay

    @Test("the same token posted twice is one event: 200 with the same event id; the replay key lives until exp + leeway")
    func replay() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let (uid, token) = try await Self.idTokenLogin(harness)
            try await harness.application().test(.router) { client in
                let first = try await Self.post(client, Self.body(uid: uid, token: token))
                let second = try await Self.post(client, Self.body(uid: uid, token: token))
                #expect(first.status == .accepted)
                #expect(second.status == .ok)
                #expect(second.duplicate == true)
                #expect(second.eventID == first.eventID)
                // The same token for another provider is another login.
                let answer9 = try await Self.post(client, Self.body(uid: uid, token: token, provider: "google"))
                #expect(answer9.status == .accepted)
            }
            #expect(try await harness.count("login_events") == 2)
            let expiry = try await Self.replayExpiries(harness)
            // exp = iat + 300; leeway 60; margin 60.
            #expect(expiry == [harness.emulatorClock.now() + 300 + 60 + 60])
        }
    }

    /// The distinct replay-key expiries, in Unix seconds.
    static func replayExpiries(_ harness: VaultHarness) async throws -> Set<Int64> {
        var expiries: Set<Int64> = []
        let rows = try await harness.database.client.query("SELECT extract(epoch FROM expires_at)::bigint FROM replay_keys", logger: harness.logger)
        for try await value in rows.decode(Int64.self) { expiries.insert(value) }
        return expiries
    }

    // MARK: - Keys: cache, rotation, failures

    @Test("an unknown kid that appears after a rotation is refetched once and accepted")
    func rotation() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let before = try await Self.idTokenLogin(harness)
            try await harness.application().test(.router) { client in
                let answer10 = try await Self.post(client, Self.body(uid: before.uid, token: before.token))
                #expect(answer10.status == .accepted)
                #expect(try await Self.keyFetches(harness) == 1)
                try await harness.emulatorControl.rotateJWTKeys(dropPrevious: true)
                let after = try await Self.idTokenLogin(harness)
                let answer11 = try await Self.post(client, Self.body(uid: after.uid, token: after.token))
                #expect(answer11.status == .accepted)
                #expect(try await Self.keyFetches(harness) == 2)
                let again = try await Self.idTokenLogin(harness)
                let answer12 = try await Self.post(client, Self.body(uid: again.uid, token: again.token))
                #expect(answer12.status == .accepted)
                #expect(try await Self.keyFetches(harness) == 2)
            }
            let exposition = harness.vault.registry.emitToString()
            #expect(exposition.contains("trigger=\"unknown_kid\""))
        }
    }

    @Test("a kid that never appears is refused with id_token_unknown_kid after at most one refetch per interval")
    func unknownKidRateLimited() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let warm = try await Self.idTokenLogin(harness)
            let mint: @Sendable (String) async throws -> String = { kid in
                try await harness.emulatorControl.mintJWT(EmulatorJWTRequest(uid: "kid-user", kid: kid)).idToken
            }
            try await harness.application().test(.router) { client in
                let answer13 = try await Self.post(client, Self.body(uid: warm.uid, token: warm.token))
                #expect(answer13.status == .accepted)
                #expect(try await Self.keyFetches(harness) == 1)
                for kid in ["never-1", "never-2", "never-3"] {
                    let answer = try await Self.post(client, Self.body(uid: "kid-user", token: try await mint(kid)))
                    #expect(answer.status == .unauthorized)
                    #expect(answer.code == "id_token_unknown_kid")
                }
                #expect(try await Self.keyFetches(harness) == 2)
                harness.emulatorClock.advance(by: 31)
                let answer14 = try await Self.post(client, Self.body(uid: "kid-user", token: try await mint("never-4")))
                #expect(answer14.code == "id_token_unknown_kid")
                #expect(try await Self.keyFetches(harness) == 3)
            }
            #expect(try await harness.count("login_events") == 1)
        }
    }

    @Test("many concurrent logins on a cold cache share one key fetch")
    func singleFlight() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            var minted: [(uid: String, token: String)] = []
            for _ in 0..<20 { minted.append(try await Self.idTokenLogin(harness)) }
            let logins = minted
            // Warm this application's cache first, so its refresher has nothing left to fetch while we count.
            _ = try await #require(harness.vault.idTokens.keys).keys(dataCenter: .us1)
            let fetchesBefore = try await Self.keyFetches(harness)
            // A second application over the same database and emulator, without services: its cache is cold and no
            // refresher warms it. The key fetch is slowed so every request arrives while it is in flight.
            try await harness.injectFault(EmulatorFault(method: "accounts.getJWTPublicKey", latencyMs: 500, count: 1))
            try await harness.withApplication(Self.site(.both)) { app in
                try await app.routerOnly.test(.router) { client in
                    let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                        for login in logins {
                            group.addTask { try await Self.post(client, Self.body(uid: login.uid, token: login.token)).status }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    #expect(statuses.count == 20)
                    #expect(statuses.allSatisfy { $0 == .accepted })
                }
            }
            #expect(try await Self.keyFetches(harness) == fetchesBefore + 1)
            #expect(try await harness.count("login_events") == 20)
        }
    }

    @Test("the refresher fetches the keys again in the background before they expire, so no login waits for a fetch")
    func backgroundRefresh() async throws {
        try await VaultHarness.with(configure: { settings in
            Self.site(.both)(&settings)
            settings.jwtKeys.refreshCheckInterval = .milliseconds(50)
        }) { harness in
            let first = try await Self.idTokenLogin(harness)
            try await harness.application().test(.router) { client in
                let accepted = try await Self.post(client, Self.body(uid: first.uid, token: first.token))
                #expect(accepted.status == .accepted)
                #expect(try await Self.keyFetches(harness) == 1)
                // 90 % of the day-long TTL has passed: the refresher (looking every 50 ms) fetches before the set expires.
                harness.emulatorClock.advance(by: 80_000)
                let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                while try await Self.keyFetches(harness) < 2, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(try await Self.keyFetches(harness) == 2)
                let later = try await Self.idTokenLogin(harness)
                let laterAnswer = try await Self.post(client, Self.body(uid: later.uid, token: later.token))
                #expect(laterAnswer.status == .accepted)
                #expect(try await Self.keyFetches(harness) == 2)
            }
            #expect(harness.vault.registry.emitToString().contains("trigger=\"background\",outcome=\"ok\""))
        }
    }

    @Test("a failed refresh keeps serving the cached keys, and the failure shows in metrics")
    func fetchFailureKeepsCachedKeys() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let first = try await Self.idTokenLogin(harness)
            try await harness.application().test(.router) { client in
                let answer15 = try await Self.post(client, Self.body(uid: first.uid, token: first.token))
                #expect(answer15.status == .accepted)
                try await harness.injectFault(EmulatorFault(method: "accounts.getJWTPublicKey", errorCode: 500001))
                // A day later the cached set has expired; Gigya fails, the old keys still verify today's tokens.
                harness.emulatorClock.advance(by: 86_400 + 1)
                let later = try await Self.idTokenLogin(harness)
                let answer16 = try await Self.post(client, Self.body(uid: later.uid, token: later.token))
                #expect(answer16.status == .accepted)
            }
            let exposition = harness.vault.registry.emitToString()
            #expect(exposition.contains("outcome=\"error\""))
            #expect(exposition.contains("vault_jwt_keys_fetched_at_seconds"))
            #expect(try await harness.count("login_events") == 2)
        }
    }

    @Test("with no cached keys and Gigya failing, a token is answered 503 id_token_keys_unavailable, retried only after a backoff")
    func noKeysAtAll() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let login = try await Self.idTokenLogin(harness)
            try await harness.injectFault(EmulatorFault(method: "accounts.getJWTPublicKey", httpStatus: 503))
            try await harness.withApplication(Self.site(.both)) { app in
                try await app.routerOnly.test(.router) { client in
                    let refused = try await client.execute(
                        uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"],
                        body: Self.body(uid: login.uid, token: login.token)
                    ) { response in
                        #expect(response.headers[.retryAfter] != nil)
                        return (response.status, errorCode(response.body))
                    }
                    #expect(refused.0 == .serviceUnavailable)
                    #expect(refused.1 == "id_token_keys_unavailable")
                    try await harness.emulatorControl.clearFaults()
                    // Gigya failed moments ago: no new fetch for every login until the backoff (1 s, doubling) has passed.
                    let beforeRetry = try await Self.keyFetches(harness)
                    let answer17 = try await Self.post(client, Self.body(uid: login.uid, token: login.token))
                    #expect(answer17.code == "id_token_keys_unavailable")
                    #expect(try await Self.keyFetches(harness) == beforeRetry)
                    harness.emulatorClock.advance(by: 2)
                    let answer18 = try await Self.post(client, Self.body(uid: login.uid, token: login.token))
                    #expect(answer18.status == .accepted)
                }
            }
            #expect(try await harness.count("login_events") == 1)
        }
    }

    // MARK: - Configuration

    @Test("settings: the login verification per site, the audience, the leeway and the key cache's intervals; bad values are refused")
    func settings() throws {
        let values: [AbsoluteConfigKey: ConfigValue] = [
            "gigya.apiKey": "3_A", "gigya.secret": "c2VjcmV0", "gigya.loginVerification": "both", "gigya.idTokenAudience": "https://app.example",
            "gigya.sites": ConfigValue(.stringArray(["3_B:c2VjcmV0:eu1:id_tokens", "3_C:c2VjcmV0"]), isSecret: true),
            "idToken.leewaySeconds": 30, "idToken.keysTtlSeconds": 3600, "idToken.refetchIntervalSeconds": 10,
        ]
        let settings = try ServerSettings.load(from: ConfigReader(providers: [InMemoryProvider(values: values)]))
        #expect(settings.sites.map(\.loginVerification) == [.both, .idTokens, .both])
        #expect(settings.sites.map(\.idTokenAudience) == ["https://app.example", "https://app.example", "https://app.example"])
        #expect(settings.idTokenLeewaySeconds == 30)
        #expect(settings.jwtKeys.ttlSeconds == 3600)
        #expect(settings.jwtKeys.refetchIntervalSeconds == 10)
        #expect(ServerSettings().sites.isEmpty && SiteSettings(apiKey: "3_D", secret: "c2VjcmV0").loginVerification == .signatures)

        let bad: [(AbsoluteConfigKey, ConfigValue)] = [
            ("gigya.loginVerification", "tokens"), ("idToken.leewaySeconds", 121), ("idToken.keysTtlSeconds", 10),
            ("idToken.refetchIntervalSeconds", 0),
        ]
        for (key, value) in bad {
            #expect(throws: SettingsError.self) { try ServerSettings.load(from: ConfigReader(providers: [InMemoryProvider(values: [key: value])])) }
        }
        #expect(throws: SettingsError.self) { try SiteSettings.parse("3_E:c2VjcmV0:us1:everything") }
        // Without a partner secret nothing can decrypt getSessionInfo's tokens, whatever the site verifies logins with.
        let missing = #expect(throws: SettingsError.self) {
            let values: [AbsoluteConfigKey: ConfigValue] = ["gigya.apiKey": "3_F", "gigya.loginVerification": "id_tokens"]
            return try ServerSettings.load(from: ConfigReader(providers: [InMemoryProvider(values: values)]))
        }
        #expect(missing.map { "\($0)" }?.contains("partner secret decrypts") == true)
    }

    @Test("a site without a partner secret is refused when the application is built, naming why it is needed")
    func partnerSecretRequired() async throws {
        try await VaultHarness.with { harness in
            var settings = harness.vault.settings
            settings.sites[0].secret = ""
            settings.sites[0].loginVerification = .idTokens
            let refused = #expect(throws: SettingsError.self) { _ = try buildApplication(settings, logger: harness.logger) }
            let message = refused.map { "\($0)" } ?? ""
            #expect(message.contains("gigya.secret") && message.contains("decrypts the provider tokens"))
        }
    }
}

/// One signed login buys one login's events, however it is spelled and however long its `exp` (docs/security.md).
extension IDTokenLoginTests {
    @Test("a token re-spelled (padding, ignored trailing bits) is refused as malformed; only the canonical text makes an event")
    func reSpellingsMakeNoNewEvents() async throws {
        try await VaultHarness.with(configure: Self.site(.both)) { harness in
            let (uid, token) = try await Self.idTokenLogin(harness)
            let parts = token.split(separator: ".").map(String.init)
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            let signature = parts[2]
            let lastCharacter = try #require(signature.last)
            let last = try #require(alphabet.firstIndex(of: lastCharacter))
            var spellings = [token + "=", token + "=="]
            // A 256-byte signature is 342 characters: its last one carries 4 ignored bits.
            for flip in 1...15 where signature.count % 4 == 2 {
                spellings.append(parts[0] + "." + parts[1] + "." + signature.dropLast() + String(alphabet[last ^ flip]))
            }
            #expect(spellings.count >= 2)
            let respelled = spellings
            try await harness.application().test(.router) { client in
                #expect(try await Self.post(client, Self.body(uid: uid, token: token)).status == .accepted)
                for spelling in respelled {
                    let answer = try await Self.post(client, Self.body(uid: uid, token: spelling, provider: "google"))
                    #expect(answer.status == .badRequest)
                    #expect(answer.code == "id_token_malformed")
                }
            }
            #expect(try await harness.count("login_events") == 1)
        }
    }

    @Test("a token issued longer ago than idToken.maxAgeSeconds is refused whatever its exp says (30 days old, valid for 90)")
    func anOldTokenIsRefused() async throws {
        try await VaultHarness.with(configure: Self.site(.idTokens)) { harness in
            let uid = try await Self.idTokenLogin(harness).uid
            let now = harness.emulatorClock.now()
            let old = try await harness.emulatorControl.mintJWT(
                EmulatorJWTRequest(apiKey: harness.site.apiKey, uid: uid, issuedAt: now - 30 * 86_400, lifetimeSeconds: 90 * 86_400)
            ).idToken
            let recent = try await harness.emulatorControl.mintJWT(
                EmulatorJWTRequest(apiKey: harness.site.apiKey, uid: uid, issuedAt: now - 200, lifetimeSeconds: 90 * 86_400)
            ).idToken
            try await harness.application().test(.router) { client in
                let answer = try await Self.post(client, Self.body(uid: uid, token: old))
                #expect(answer.status == .unauthorized)
                #expect(answer.code == "id_token_too_old")
                #expect(try await Self.post(client, Self.body(uid: uid, token: recent)).status == .accepted)
            }
            #expect(try await harness.count("login_events") == 1)
            // Its replay key lives until the token's age runs out (iat + 300 + leeway 60), plus the 60 s margin.
            #expect(try await Self.replayExpiries(harness) == [now - 200 + 300 + 60 + 60])
        }
    }
}
