import Foundation
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

@Suite("Trust boundaries (issue 9)")
struct TrustBoundaryTests {
    /// Stores one session for a fresh user of the harness's site and returns the login result.
    private func storedLogin(_ harness: VaultHarness, uid: String? = nil, provider: String = "facebook") async throws -> LoginResult {
        let login = try await harness.login(uid: uid, provider: provider)
        _ = try await harness.vault.intake.accept(login)
        try await harness.drain()
        return login
    }

    private func post(_ client: some TestClientProtocol, _ login: LoginResult) async throws -> (HTTPResponse.Status, String?) {
        try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody) {
            ($0.status, errorCode($0.body))
        }
    }

    // MARK: Who may touch what

    @Test("an access key bound to one site cannot read, list, refresh, delete or see events of another site")
    func accessKeysAreBoundToSites() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            let receipt = try await harness.vault.intake.accept(login)
            try await harness.drain()
            let site = harness.site.apiKey
            let other = GigyaEmulator.demoSite()
            let scopes: [AccessScope] = [.sessionsRead, .sessionsMetadata, .sessionsRefresh, .sessionsDelete, .eventsRead]
            let foreign = try await harness.accessKey(scopes, sites: .only([other.apiKey]))
            let own = try await harness.accessKey(scopes, sites: .only([site]))
            let everywhere = try await harness.accessKey([.eventsRead], sites: .all)
            try await harness.withApplication({ settings in
                settings.sites.append(SiteSettings(apiKey: other.apiKey, secret: other.partnerSecret, baseURL: harness.emulator.baseURL))
            }) { app in try await app.routerOnly.test(.router) { client in
                let base = "/v1/users/\(login.uid)/sessions"
                for (method, path) in [
                    (HTTPRequest.Method.get, "\(base)?site=\(site)"), (.get, "\(base)/facebook?site=\(site)"),
                    (.post, "\(base)/facebook/refresh?site=\(site)"), (.delete, "\(base)/facebook?site=\(site)"), (.delete, "\(base)?site=\(site)"),
                ] {
                    try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(foreign)"]) {
                        #expect($0.status == .forbidden, "\(method) \(path)")
                        #expect(errorCode($0.body) == "site_not_allowed")
                    }
                }
                let event = "/v1/login-callbacks/\(receipt.eventID.uuidString.lowercased())"
                // Another site's event is as absent as an unknown one.
                try await client.execute(uri: event, method: .get, headers: [.authorization: "Bearer \(foreign)"]) {
                    #expect($0.status == .notFound)
                }
                try await client.execute(uri: event, method: .get, headers: [.authorization: "Bearer \(own)"]) { #expect($0.status == .ok) }
                try await client.execute(uri: event, method: .get, headers: [.authorization: "Bearer \(everywhere)"]) { #expect($0.status == .ok) }
                try await client.execute(uri: "\(base)/facebook?site=\(site)", method: .get, headers: [.authorization: "Bearer \(own)"]) {
                    #expect($0.status == .ok)
                }
            } }
            #expect(try await harness.count("provider_sessions") == 1)
            let listed = try await harness.store.listKeys()
            #expect(listed.map(\.sites) == [.only([other.apiKey]), .only([site]), .all])
        }
    }

    @Test("keys made before the site migration keep access to every site; a key must name its sites")
    func existingKeysKeepAllSites() async throws {
        try await withTestDatabase(migrated: false) { database in
            let logger = Logger(label: "migration-test")
            let all = try Migrator.load(directory: SQLMigrations.sourceDirectory)
            _ = try await Migrator(client: database.client, migrations: all.filter { $0.version == 1 }, logger: logger).migrate(dryRun: false)
            try await database.client.query(
                "INSERT INTO api_keys (id, name, prefix, key_hash, scopes) VALUES (\(UUID()), 'legacy', 'abc', \(Data(repeating: 1, count: 32)), '{admin}')")
            _ = try await Migrator(client: database.client, migrations: all, logger: logger).migrate(dryRun: false)
            let store = PostgresVaultStore(client: database.client, keyRing: try DataKeyRing.parse(VaultHarness.dataKeys), logger: logger)
            #expect(try await store.listKeys().first { $0.name == "legacy" }?.sites == .all)
            await #expect(throws: AccessKeyError.invalidSites) { try await store.createKey(name: "nowhere", scopes: [], sites: .only([])) }
            await #expect(throws: AccessKeyError.invalidSites) { try await store.createKey(name: "comma", scopes: [], sites: .only(["a,b"])) }
            #expect(try await store.createKey(name: "one", scopes: [], sites: .only(["3_A"])).record.sites == .only(["3_A"]))
        }
    }

    @Test("a provider the site does not allow is a 400 that stores nothing and calls no one")
    func providersMustBeAllowed() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            /// The same login result posted with another provider.
            @Sendable func with(_ provider: String) -> LoginResult {
                var changed = login
                changed.provider = provider
                return changed
            }
            try await harness.application().test(.router) { client in
                let (status, code) = try await post(client, with("evil-provider"))
                #expect(status == .badRequest)
                #expect(code == "provider_not_allowed")
                #expect(try await post(client, with("oidc-corp")).0 == .accepted)
            }
            try await harness.withApplication({ $0.sites[0].providers = ["facebook", "saml-*"] }) { app in try await app.routerOnly.test(.router) { client in
                let (status, code) = try await post(client, with("google"))
                #expect(status == .badRequest)
                #expect(code == "provider_not_allowed")
                #expect(try await post(client, with("saml-acme")).0 == .accepted)
            } }
            #expect(try await harness.count("login_events") == 2)
        }
    }

    @Test("one login result makes at most maxEventsPerLogin events, however many providers are posted, even concurrently")
    func oneLoginResultHasABudget() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            let providers = ["facebook", "google", "twitter", "linkedin", "yahoo", "microsoft", "apple", "amazon", "line", "qq", "naver", "kakao"]
            let outcomes = try await harness.application().test(.router) { client in
                try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                    for provider in providers {
                        var posted = login
                        posted.provider = provider
                        let body = posted
                        group.addTask { try await post(client, body) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            #expect(outcomes.filter { $0.0 == .accepted }.count == 4)
            #expect(outcomes.filter { $0.0 == .conflict && $0.1 == "too_many_events" }.count == providers.count - 4)
            #expect(try await harness.count("login_events") == 4)
            #expect(try await harness.count("replay_keys") == 4)
            try await harness.application().test(.router) { client in
                // A replay of an accepted one is still the same event, not a refusal.
                let accepted = try await harness.database.client.query("SELECT provider FROM login_events LIMIT 1").collect()
                var replay = login
                replay.provider = try accepted[0].decode(String.self)
                #expect(try await post(client, replay).0 == .ok)
            }
        }
    }

    // MARK: Deletes stick

    @Test("a delete cancels a pending event: the worker never writes the session back")
    func deleteCancelsPendingEvent() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            let receipt = try await harness.vault.intake.accept(login)
            let key = try await harness.accessKey([.sessionsDelete])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/users/\(login.uid)/sessions/facebook", method: .delete, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .ok)
                    #expect(jsonInt($0.body, "cancelledEvents") == 1)
                }
            }
            try await harness.drain()
            #expect(try await harness.store.event(id: receipt.eventID)?.status == .cancelled)
            #expect(try await harness.count("provider_sessions") == 0)
            let audit = try #require(try await harness.store.recentAudit(limit: 1).first)
            #expect(audit.action == "session.delete" && audit.detail == "deleted=0 cancelled=1")
        }
    }

    @Test("a delete cancels a retrying event: its next attempt never comes")
    func deleteCancelsRetryingEvent() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", errorCode: 500001, count: 3))
            let receipt = try await harness.vault.intake.accept(login)
            #expect(await harness.worker().runOnce(workerID: "w") == 1)
            let retrying = try #require(try await harness.store.event(id: receipt.eventID))
            #expect(retrying.status == .pending && retrying.attempts == 1)
            let key = try await harness.accessKey([.sessionsDelete])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/users/\(login.uid)/sessions", method: .delete, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .ok)
                    #expect(jsonInt($0.body, "cancelledEvents") == 1)
                }
            }
            try await harness.drain()
            #expect(try await harness.store.event(id: receipt.eventID)?.status == .cancelled)
            #expect(try await harness.count("provider_sessions") == 0)
        }
    }

    @Test("a delete during a refresh in flight wins: the refresh writes nothing and answers 404")
    func deleteBeatsRefreshInFlight() async throws {
        try await VaultHarness.with { harness in
            let login = try await storedLogin(harness)
            let refresher = try await harness.accessKey([.sessionsRefresh])
            let deleter = try await harness.accessKey([.sessionsDelete])
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 700, count: 1))
            try await harness.application().test(.router) { client in
                async let refreshed = client.execute(
                    uri: "/v1/users/\(login.uid)/sessions/facebook/refresh", method: .post, headers: [.authorization: "Bearer \(refresher)"]
                ) { ($0.status, errorCode($0.body)) }
                try await waitUntil("the refresh's Gigya call under way") { harness.vault.gigyaCalls.current > 0 }
                try await client.execute(uri: "/v1/users/\(login.uid)/sessions/facebook", method: .delete, headers: [.authorization: "Bearer \(deleter)"]) {
                    #expect($0.status == .ok)
                    #expect(jsonInt($0.body, "deleted") == 1)
                }
                let (status, code) = try await refreshed
                #expect(status == .notFound)
                #expect(code == "not_found")
            }
            #expect(try await harness.count("provider_sessions") == 0)
            #expect(try await harness.count("session_tombstones") == 1)
            // A new login after the delete is stored as usual (a second later: the same second would sign the same result).
            harness.emulatorClock.advance(by: 1)
            let again = try await harness.vault.intake.accept(try await harness.login(uid: login.uid))
            #expect(!again.duplicate)
            try await harness.drain()
            #expect(try await harness.count("provider_sessions") == 1)
        }
    }

    @Test("a delete while a worker holds the event: the worker's completion writes nothing")
    func deleteBeatsWorkerInFlight() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            let receipt = try await harness.vault.intake.accept(login)
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 700, count: 1))
            let worker = harness.worker()
            async let worked = worker.runOnce(workerID: "slow")
            try await waitUntil("the worker holding the event") {
                try await harness.store.event(id: receipt.eventID)?.status == .processing
            }
            let outcome = try await harness.vault.sessions.delete(
                site: harness.site.apiKey, uid: login.uid, provider: nil, actor: AccessActor(keyID: nil, name: "test"))
            #expect(outcome == DeleteOutcome(deleted: 0, cancelledEvents: 1))
            #expect(await worked == 1)
            #expect(try await harness.store.event(id: receipt.eventID)?.status == .cancelled)
            #expect(try await harness.count("provider_sessions") == 0)
        }
    }

    // MARK: Audit and metrics

    @Test("failed token reads are audited, refused refreshes too, and 401/403 on token routes are counted")
    func failedReadsAreAuditedAndRefusalsCounted() async throws {
        try await VaultHarness.with { harness in
            let login = try await storedLogin(harness)
            let reader = try await harness.accessKey([.sessionsRead, .sessionsRefresh])
            let metadataOnly = try await harness.accessKey([.sessionsMetadata])
            // A row sealed under a key this ring does not hold: it cannot be opened.
            let lost = PostgresVaultStore(
                client: harness.database.client, keyRing: try DataKeyRing.parse("gone:" + Data(repeating: 9, count: 32).base64EncodedString()),
                logger: harness.logger)
            try await lost.upsert(
                SessionRecord(site: harness.site.apiKey, uid: login.uid, provider: "google", authToken: "t"), eventID: nil, fetchStartedAt: Date())
            try await harness.application().test(.router) { client in
                let auth: HTTPFields = [.authorization: "Bearer \(reader)"]
                try await client.execute(uri: "/v1/users/nobody/sessions/facebook", method: .get, headers: auth) { #expect($0.status == .notFound) }
                try await client.execute(uri: "/v1/users/\(login.uid)/sessions/google", method: .get, headers: auth) {
                    #expect($0.status == .internalServerError)
                    #expect(errorCode($0.body) == "session_unreadable")
                }
                try await client.execute(uri: "/v1/users/nobody/sessions/facebook/refresh", method: .post, headers: auth) {
                    #expect($0.status == .notFound)
                    #expect(errorCode($0.body) == "not_found")
                }
                try await client.execute(uri: "/v1/users/\(login.uid)/sessions/facebook", method: .get) { #expect($0.status == .unauthorized) }
                try await client.execute(uri: "/v1/users/\(login.uid)/sessions/facebook", method: .get, headers: [.authorization: "Bearer \(metadataOnly)"]) {
                    #expect($0.status == .forbidden)
                }
                try await client.execute(uri: "/metrics", method: .get) { response in
                    let text = String(buffer: response.body)
                    #expect(text.contains(#"vault_token_route_refusals_total{status="401",code="unauthenticated"} 1"#))
                    #expect(text.contains(#"vault_token_route_refusals_total{status="403",code="insufficient_scope"} 1"#))
                }
            }
            let details = try await harness.store.recentAudit(limit: 3).map { "\($0.action) \($0.detail ?? "")" }
            #expect(details == ["session.refresh not_found", "session.read unreadable: unknown_key_id", "session.read not_found"])
        }
    }

    @Test("/metrics can require an access key with metrics:read, or move to a listener of its own")
    func metricsExposure() async throws {
        try await VaultHarness.with { harness in
            let scraper = try await harness.accessKey([.metricsRead])
            let reader = try await harness.accessKey([.sessionsRead])
            try await harness.withApplication({ $0.metrics.requireKey = true }) { app in try await app.routerOnly.test(.router) { client in
                try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
                try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(reader)"]) { #expect($0.status == .forbidden) }
                try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(scraper)"]) { #expect($0.status == .ok) }
                try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
            } }
            try await harness.withApplication({ $0.metrics.port = 9464 }) { app in
                try await app.routerOnly.test(.router) { client in
                    try await client.execute(uri: "/metrics", method: .get) {
                        #expect($0.status == .notFound)
                        #expect(errorCode($0.body) == "no_route")
                    }
                }
                let metrics = Application(responder: try #require(app.metricsResponder), logger: harness.logger)
                try await metrics.test(.router) { client in
                    try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
                }
            }
        }
    }

    // MARK: Input

    @Test("path parameters are percent-decoded and validated: '@' and '/' in a UID work, bad encodings are 400")
    func pathParametersAreDecoded() async throws {
        try await VaultHarness.with { harness in
            _ = try await storedLogin(harness, uid: "alice@example.com")
            _ = try await storedLogin(harness, uid: "team/bob")
            let key = try await harness.accessKey([.sessionsRead])
            try await harness.application().test(.router) { client in
                let auth: HTTPFields = [.authorization: "Bearer \(key)"]
                try await client.execute(uri: "/v1/users/alice%40example.com/sessions/facebook", method: .get, headers: auth) {
                    #expect($0.status == .ok)
                    #expect(jsonString($0.body, "uid") == "alice@example.com")
                }
                try await client.execute(uri: "/v1/users/team%2Fbob/sessions", method: .get, headers: auth) {
                    #expect($0.status == .ok)
                    #expect(jsonString($0.body, "uid") == "team/bob")
                }
                for (path, code) in [
                    ("/v1/users/%E0%A4%A/sessions", "invalid_path_encoding"), ("/v1/users/%FF/sessions", "invalid_path_encoding"),
                    ("/v1/users/a%00b/sessions", "invalid_path_parameter"), ("/v1/users/\(String(repeating: "u", count: 300))/sessions", "invalid_path_parameter"),
                    ("/v1/users/alice/sessions/face%2Fbook", "invalid_path_parameter"), ("/v1/users/alice/sessions/%ZZ", "invalid_path_encoding"),
                ] {
                    try await client.execute(uri: path, method: .get, headers: auth) {
                        #expect($0.status == .badRequest, "\(path)")
                        #expect(errorCode($0.body) == code, "\(path)")
                    }
                }
            }
        }
    }

    @Test("a store failure after authentication is 503 store_unavailable with a body, never an empty 500")
    func storeFailureAfterAuthenticationIs503() async throws {
        try await VaultHarness.with { harness in
            let key = try await harness.accessKey([.admin, .sessionsRead])
            try await harness.database.client.query("ALTER TABLE provider_sessions RENAME TO provider_sessions_gone")
            try await harness.application().test(.router) { client in
                for (method, path) in [
                    (HTTPRequest.Method.get, "/v1/users/u/sessions"), (.get, "/v1/users/u/sessions/facebook"), (.delete, "/v1/users/u/sessions"),
                    (.post, "/v1/users/u/sessions/facebook/refresh"),
                ] {
                    try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(key)"]) {
                        #expect($0.status == .serviceUnavailable, "\(method) \(path)")
                        #expect(errorCode($0.body) == "store_unavailable", "\(method) \(path)")
                    }
                }
            }
            try await harness.database.client.query("ALTER TABLE provider_sessions_gone RENAME TO provider_sessions")
        }
    }

    // MARK: Store

    @Test("two batches with the same replay keys in opposite orders never deadlock")
    func replayKeysAreInsertedInOrder() async throws {
        try await VaultHarness.with { harness in
            for round in 0..<10 {
                let events = (0..<40).map { index in
                    NewLoginEvent(
                        site: harness.site.apiKey, uid: "u\(index)", provider: "facebook", signatureTimestamp: 1, replayKey: Array(repeating: UInt8(index), count: 31) + [UInt8(round)],
                        replayExpiresAt: Date().addingTimeInterval(600), loginKey: Array(repeating: UInt8(index), count: 31) + [UInt8(round)],
                        maxEventsPerLogin: 4)
                }
                async let forward = harness.store.enqueue(events)
                async let backward = harness.store.enqueue(events.reversed())
                let (a, b) = try await (forward, backward)
                #expect(Set(a.compactMap(\.eventID)) == Set(b.compactMap(\.eventID)))
            }
            #expect(try await harness.count("login_events") == 400)
        }
    }
}
