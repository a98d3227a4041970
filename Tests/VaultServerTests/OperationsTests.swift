import Configuration
import Foundation
import GigyaEmulator
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

@Suite("Operations")
struct OperationsTests {
    @Test("rotating data keys re-seals old rows under the new primary key; old rows stay readable throughout")
    func dataKeyRotation() async throws {
        let oldKey = VaultHarness.dataKeys
        let newRing = "k2:" + Data(repeating: 9, count: 32).base64EncodedString() + "," + oldKey
        try await VaultHarness.with(dataKeys: oldKey) { harness in
            let login = try await harness.login()
            _ = try await harness.vault.intake.accept(login)
            try await harness.drain()
            let before = try #require(try await harness.store.session(site: harness.site.apiKey, uid: login.uid, provider: "facebook"))

            let rotated = PostgresVaultStore(client: harness.database.client, keyRing: try DataKeyRing.parse(newRing), logger: harness.logger)
            #expect(try await rotated.rowsPerKey() == ["k1": 1])
            let readableBefore = try #require(try await rotated.session(site: harness.site.apiKey, uid: login.uid, provider: "facebook"))
            #expect(readableBefore.tokenSecret == before.tokenSecret)

            let report = try await rotated.rotateDataKeys(batchSize: 1)
            #expect(report.rowsReencrypted == 1)
            #expect(report.rowsPerKey == ["k2": 1])
            let after = try #require(try await rotated.session(site: harness.site.apiKey, uid: login.uid, provider: "facebook"))
            #expect(after.tokenSecret == before.tokenSecret)
            #expect(try await rotated.rotateDataKeys(batchSize: 1).rowsReencrypted == 0)

            // A ring that lost the key rows are sealed under is refused at startup, naming the key.
            let lostKey = PostgresVaultStore(client: harness.database.client, keyRing: try DataKeyRing.parse(oldKey), logger: harness.logger)
            #expect(try await lostKey.unknownKeyIDs() == ["k2"])
            try await harness.withApplication({ $0.dataKeys = oldKey }) { app in
                await #expect(throws: StartupError.self) { try await app.vault.checkStartup(logger: harness.logger) }
            }
        }
    }

    @Test("a row under a key missing from the ring does not stop rotation of the others; it stays reported")
    func rotationSkipsRowsUnderUnknownKeys() async throws {
        func ring(_ spec: [(String, UInt8)]) throws -> DataKeyRing {
            try DataKeyRing.parse(spec.map { "\($0.0):" + Data(repeating: $0.1, count: 32).base64EncodedString() }.joined(separator: ","))
        }
        try await VaultHarness.with { harness in
            let client = harness.database.client
            // "a-lost" sorts first, so a rotation that stopped on it would never reach the other row.
            let lost = PostgresVaultStore(client: client, keyRing: try ring([("lost", 1)]), logger: harness.logger)
            try await lost.upsert(SessionRecord(site: "s", uid: "a-lost", provider: "facebook", tokenSecret: "one"), eventID: nil, fetchStartedAt: Date())
            let old = PostgresVaultStore(client: client, keyRing: try ring([("old", 2)]), logger: harness.logger)
            try await old.upsert(SessionRecord(site: "s", uid: "b-old", provider: "facebook", tokenSecret: "two"), eventID: nil, fetchStartedAt: Date())

            let current = PostgresVaultStore(client: client, keyRing: try ring([("new", 3), ("old", 2)]), logger: harness.logger)
            let report = try await current.rotateDataKeys(batchSize: 1)
            #expect(report.rowsReencrypted == 1)
            #expect(report.rowsPerKey == ["new": 1, "lost": 1])
            #expect(try await current.session(site: "s", uid: "b-old", provider: "facebook")?.tokenSecret == "two")
            #expect(try await current.unknownKeyIDs() == ["lost"])
        }
    }

    @Test("health, readiness and Prometheus metrics answer")
    func healthAndMetrics() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/health/ready", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(jsonBool(response.body, "ready") == true)
                }
                try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody) {
                    #expect($0.status == .accepted)
                }
                var tampered = login
                tampered.uid = "x"
                try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: tampered.jsonBody) {
                    #expect($0.status == .unauthorized)
                }
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.status == .ok)
                    let text = String(buffer: response.body)
                    #expect(text.contains("vault_login_callbacks_total{outcome=\"accepted\"} 1"))
                    #expect(text.contains("vault_signature_failures_total{reason=\"signature_mismatch\"} 1"))
                    #expect(text.contains("vault_inbox_events{status=\"pending\"} 1"))
                }
            }
        }
    }

    @Test("the janitor purges replay keys only once their login results can no longer pass the window")
    func replayKeysArePurgedAfterTheWindow() async throws {
        try await VaultHarness.with { harness in
            _ = try await harness.vault.intake.accept(try await harness.login())
            let janitor = InboxJanitor(inbox: harness.store, logger: harness.logger)
            #expect(await janitor.purgeOnce().replayKeys == 0)
            #expect(try await harness.count("replay_keys") == 1)
            // Past the 300 s window plus the margin, the key can never match an acceptable login result again.
            #expect(await janitor.purgeOnce(now: Date().addingTimeInterval(400)).replayKeys == 1)
            #expect(try await harness.count("replay_keys") == 0)
            #expect(try await harness.count("login_events") == 1)
        }
    }

    @Test("the janitor deletes cancelled events, tombstones, audit rows and reconciliation runs past their retentions, and keeps what is still needed")
    func historyHasRetentions() async throws {
        try await VaultHarness.with { harness in
            let site = harness.site.apiKey
            // A user deleted while an event waited: a cancelled event, a tombstone and audit rows.
            let gone = try await harness.login()
            _ = try await harness.vault.intake.accept(gone)
            _ = try await harness.store.purgeUser(
                site: site, uid: gone.uid, audit: AuditEntry(actorKeyID: nil, actorName: "test", action: "test.purge", site: site, uid: gone.uid, detail: nil))
            // A tombstone that an unfinished older event still needs.
            let waiting = try await harness.login()
            _ = try await harness.vault.intake.accept(waiting)
            try await harness.database.client.query(
                "INSERT INTO session_tombstones (site, uid, provider, deleted_at) VALUES (\(site), \(waiting.uid), 'facebook', now())", logger: harness.logger)
            // Two finished runs of one site and mode: the older may go, the newest stays.
            for _ in 0..<2 {
                let run = try await harness.store.createRun(site: site, mode: .dryRun, purgeOrphans: false, startedBy: "test", total: 0)
                try await harness.store.markRun(id: run.id, status: .completed, total: nil, error: nil)
            }
            #expect(try await harness.scalar("SELECT count(*)::int FROM login_events WHERE status = 'cancelled'") == 1)
            let audit = try await harness.count("audit_log")
            #expect(audit > 0)

            let janitor = InboxJanitor(
                inbox: harness.store, history: harness.store,
                retention: .init(events: .seconds(86_400), audit: .seconds(10 * 86_400), reconciliationRuns: .seconds(30 * 86_400)), logger: harness.logger)
            // Within every retention nothing goes.
            let none = await janitor.purgeOnce()
            #expect(none.finishedEvents == 0 && none.history.values.allSatisfy { $0 == 0 }, "\(none)")
            // Two days on: the cancelled event and the tombstone nothing needs are past the events' retention.
            let later = await janitor.purgeOnce(now: Date().addingTimeInterval(2 * 86_400))
            #expect(later.finishedEvents == 1)
            #expect(later.history[.tombstones] == 1)
            #expect(try await harness.scalar("SELECT count(*)::int FROM login_events WHERE status = 'cancelled'") == 0)
            #expect(try await harness.count("session_tombstones") == 1, "the tombstone an older unfinished event needs was deleted")
            #expect(try await harness.count("audit_log") == audit)
            // Past the audit and reconciliation retentions.
            let much = await janitor.purgeOnce(now: Date().addingTimeInterval(40 * 86_400))
            #expect(much.history[.auditRows] == audit)
            #expect(much.history[.reconciliationRuns] == 1)
            #expect(try await harness.count("reconciliation_runs") == 1)
            #expect(try await harness.count("session_tombstones") == 1)
        }
    }

    @Test("an unreachable database stops startup within its deadline, naming where it looked")
    func unreachableDatabaseFailsClearly() async throws {
        var logger = Logger(label: "unreachable-test")
        logger.logLevel = .critical
        var settings = ServerSettings()
        settings.databaseURL = "postgres://postgres@127.0.0.1:1/nowhere"
        settings.dataKeys = VaultHarness.dataKeys
        settings.sqlDirectory = SQLMigrations.sourceDirectory
        // Only the deadline produces this error; the pool's own give-up would name no address.
        try await buildApplication(settings, logger: logger).withDatabase { vault in
            await #expect {
                try await vault.checkStartup(deadline: .seconds(1), logger: logger)
            } throws: { error in
                (error as? StartupError)?.description.contains("127.0.0.1:1") == true
            }
        }
    }

    @Test("the server refuses to start on pending migrations unless told to migrate")
    func refusesPendingSchema() async throws {
        try await VaultHarness.with { harness in
            // The checkout's migrations plus one the database has not seen, as after deploying a new version.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sv-sql-\(UUID().uuidString.prefix(8))").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try FileManager.default.copyItem(atPath: SQLMigrations.sourceDirectory, toPath: directory)
            try "CREATE TABLE future_table (id int);\n".write(toFile: "\(directory)/9999_future.sql", atomically: true, encoding: .utf8)
            try await harness.withApplication({ $0.sqlDirectory = directory }) { app in
                await #expect(throws: StartupError.self) { try await app.vault.checkStartup(logger: harness.logger) }
                #expect(await app.vault.readiness().ready == false)
            }
        }
    }

    @Test("settings: flags beat the environment; a partial production configuration is refused, naming what is missing")
    func settingsPrecedence() async throws {
        let reader = ConfigReader(providers: [
            InMemoryProvider(values: ["http.port": 9090]),
            InMemoryProvider(values: ["http.port": 7070, "database.url": "postgres://db.example/vault", "gigya.apiKey": "3_KEY", "gigya.secret": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"]),
        ])
        let settings = try ServerSettings.load(from: reader)
        #expect(settings.port == 9090)
        #expect(settings.sites.map(\.apiKey) == ["3_KEY"])
        #expect(!settings.isZeroConfig)
        #expect(throws: SettingsError.incomplete(missing: ["DATA_KEYS"])) { try settings.checkProductionComplete() }
        #expect(ServerSettings().isZeroConfig)
        #expect(throws: SettingsError.self) { try DatabaseURL.configuration(from: "mysql://nope") }
        #expect(try SiteSettings.parse("3_A:c2VjcmV0:eu1").apiDomain == "eu1.gigya.com")
    }

    @Test("settings: an API key and secret given the wrong way round are refused, and the message never quotes either")
    func swappedKeyAndSecretAreNeverPrinted() throws {
        let apiKey = "3_Vh8kSx9pQ-2yZ_Lm"
        let secrets = ["4b4Mcq+KdZ5gCvc3Z8/Z3pr5ihUNmEnSe1MWvHMUsUg=", "c2VjcmV0c2VjcmV0c2VjcmV0"]  // one with +/=, one without
        for secret in secrets {
            var messages: [String] = []
            for values: [AbsoluteConfigKey: ConfigValue] in [
                ["gigya.sites": ConfigValue(.stringArray(["3_OK:c2VjcmV0", "\(secret):\(apiKey):eu1"]), isSecret: true)],
                ["gigya.apiKey": ConfigValue(.string(secret), isSecret: false), "gigya.secret": ConfigValue(.string(apiKey), isSecret: true)],
            ] {
                let refused = #expect(throws: SettingsError.self) { try ServerSettings.load(from: ConfigReader(providers: [InMemoryProvider(values: values)])) }
                messages.append(refused.map { "\($0)" } ?? "")
            }
            let parsed = #expect(throws: SettingsError.self) { try SiteSettings.parse("\(secret):\(apiKey)") }
            messages.append(parsed.map { "\($0)" } ?? "")
            for message in messages {
                #expect(message.contains("swapped"), "\(message)")
                #expect(!message.contains(secret) && !message.contains(secret.prefix(8)) && !message.contains(apiKey), "\(message)")
            }
            #expect(messages[0].contains("entry 2"))
        }
    }
}
