import Foundation
import GigyaClient
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import VaultCore
import VaultServer
import VaultStore

@Suite("Read API")
struct ReadAPITests {
    /// Stores one facebook session for a fresh user and returns its UID.
    private func storedUser(_ harness: VaultHarness, provider: String = "facebook") async throws -> String {
        let login = try await harness.login(provider: provider)
        _ = try await harness.vault.intake.accept(login)
        try await harness.drain()
        return login.uid
    }

    @Test("requests without a key, with an unknown key or with a revoked key get 401")
    func authentication() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            let key = try await harness.accessKey([.sessionsRead], name: "soon-revoked")
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook", method: .get) { response in
                    #expect(response.status == .unauthorized)
                    #expect(errorCode(response.body) == "unauthenticated")
                }
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook", method: .get, headers: [.authorization: "Bearer svk_nope_nope"]) {
                    #expect($0.status == .unauthorized)
                }
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook", method: .get, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .ok)
                }
                #expect(try await harness.store.revokeKey(nameOrID: "soon-revoked"))
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook", method: .get, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .unauthorized)
                }
            }
        }
    }

    @Test("each route demands its scope: 403 without it, and metadata never carries tokens")
    func scopes() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            let metadataOnly = try await harness.accessKey([.sessionsMetadata])
            let admin = try await harness.accessKey([.admin])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/users/\(uid)/sessions", method: .get, headers: [.authorization: "Bearer \(metadataOnly)"]) { response in
                    #expect(response.status == .ok)
                    let body = String(buffer: response.body)
                    #expect(!body.contains("authToken") && !body.contains("tokenSecret"))
                    let sessions = try #require(try jsonObject(response.body)["sessions"] as? [[String: Any]])
                    #expect(sessions.map { $0["provider"] as? String } == ["facebook"])
                    #expect(sessions.first?["keyId"] as? String == "k1")
                }
                for (method, path) in [
                    (HTTPRequest.Method.get, "/v1/users/\(uid)/sessions/facebook"), (.delete, "/v1/users/\(uid)/sessions/facebook"),
                    (.post, "/v1/users/\(uid)/sessions/facebook/refresh"), (.get, "/v1/login-callbacks/\(UUID().uuidString)"),
                ] {
                    try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(metadataOnly)"]) { response in
                        #expect(response.status == .forbidden, "\(method) \(path)")
                        #expect(String(buffer: response.body).contains("insufficient_scope"))
                    }
                }
                // `admin` implies every scope but token reads: the key people sign in to the admin page with reads no token.
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook", method: .get, headers: [.authorization: "Bearer \(admin)"]) {
                    #expect($0.status == .forbidden)
                    #expect(errorCode($0.body) == "insufficient_scope")
                }
                try await client.execute(uri: "/v1/users/\(uid)/sessions", method: .get, headers: [.authorization: "Bearer \(admin)"]) {
                    #expect($0.status == .ok)
                }
            }
        }
    }

    @Test("token reads and deletes are written to the audit log with the key that made them")
    func auditTrail() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            let key = try await harness.accessKey([.sessionsRead, .sessionsDelete], name: "billing-backend")
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook", method: .get, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .ok)
                }
                try await client.execute(uri: "/v1/users/\(uid)/sessions/twitter", method: .get, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .notFound)
                }
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook", method: .delete, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .ok)
                    #expect(jsonInt($0.body, "deleted") == 1)
                }
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook", method: .get, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .notFound)
                }
            }
            let audit = try await harness.store.recentAudit(limit: 20).filter { $0.actorName == "billing-backend" }
            let trail = audit.map { "\($0.action) \($0.provider ?? "-") \($0.detail ?? "-")" }.sorted()
            #expect(trail == ["session.delete facebook deleted=1 cancelled=0", "session.read facebook not_found", "session.read facebook ok", "session.read twitter not_found"])
            #expect(try await harness.count("provider_sessions") == 0)
        }
    }

    @Test("DELETE without a provider removes every session of the user")
    func deleteAllSessions() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login(uid: "multi", provider: "facebook")
            _ = try await harness.vault.intake.accept(login)
            harness.emulatorClock.advance(by: 1)
            let second = try await harness.login(uid: "multi", provider: "google")
            _ = try await harness.vault.intake.accept(second)
            try await harness.drain()
            let key = try await harness.accessKey([.sessionsDelete])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/users/multi/sessions", method: .delete, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .ok)
                    #expect(jsonInt($0.body, "deleted") == 2)
                }
            }
            #expect(try await harness.count("provider_sessions") == 0)
        }
    }

    @Test("refresh fetches new tokens from Gigya; concurrent refreshes of one session make one Gigya call")
    func refreshIsCoalesced() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            _ = try await harness.emulatorControl.rotateTokens(uid: uid)
            let site = try #require(harness.vault.sites.site(apiKey: harness.site.apiKey))
            let counting = CountingGigya(wrapping: site.gigya)
            let service = SessionService(
                sessions: harness.store, audit: harness.store,
                sites: SiteDirectory([GigyaSite(apiKey: site.apiKey, verifier: site.verifier, gigya: counting)]),
                metrics: .discarding, gigyaCalls: InFlightLimit(limit: 64)
            )
            let countingSite = try service.site(apiKey: nil)
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 300, count: 1))
            let actor = AccessActor(keyID: nil, name: "test")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask { _ = try await service.refresh(site: countingSite, uid: uid, provider: "facebook", actor: actor) }
                }
                try await group.waitForAll()
            }
            #expect(counting.calls == 1)
            let stored = try #require(try await harness.store.session(site: site.apiKey, uid: uid, provider: "facebook"))
            let truth = try await harness.emulatorSession(uid: uid, provider: "facebook")
            #expect(stored.authToken == truth.authToken)
        }
    }

    @Test("refresh over HTTP answers the new metadata; a provider without a Gigya session is 404")
    func refreshOverHTTP() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            let key = try await harness.accessKey([.sessionsRefresh])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook/refresh", method: .post, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .ok)
                    #expect(jsonString($0.body, "provider") == "facebook")
                }
                try await client.execute(uri: "/v1/users/\(uid)/sessions/linkedin/refresh", method: .post, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .notFound)
                    #expect(errorCode($0.body) == "not_found")
                }
            }
        }
    }
}

/// A pass-through session source that counts getSessionInfo calls; the calls still go to the emulator.
final class CountingGigya: GigyaSessionSource {
    private let wrapped: any GigyaSessionSource
    private let counter = Mutex(0)

    init(wrapping wrapped: any GigyaSessionSource) {
        self.wrapped = wrapped
    }

    var calls: Int { counter.withLock { $0 } }

    func getSessionInfo(uid: String, provider: String) async throws(GigyaCallError) -> ProviderSession {
        counter.withLock { $0 += 1 }
        return try await wrapped.getSessionInfo(uid: uid, provider: provider)
    }
}
