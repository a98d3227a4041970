import Foundation
import GigyaEmulator
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Synchronization
import Testing
import VaultCore
import VaultDevelopment
import VaultServer
import VaultStore
import VaultTesting

@Suite("Reconciliation")
struct ReconciliationTests {
    static let fast: Reconciler.Settings = {
        var settings = Reconciler.Settings()
        settings.rateLimitBaseDelay = .milliseconds(10)
        settings.rateLimitMaxDelay = .milliseconds(50)
        return settings
    }()

    /// Everything reconciliation could change, to prove a dry run changes nothing.
    static func snapshot(_ harness: VaultHarness) async throws -> [String] {
        var rows: [String] = []
        for query: PostgresQuery in [
            "SELECT site || '|' || uid || '|' || provider || '|' || fetched_at::text FROM provider_sessions ORDER BY 1",
            "SELECT id::text || '|' || uid || '|' || site_uid || '|' || status || '|' || attempts::text FROM account_links ORDER BY 1",
            "SELECT id::text || '|' || uid || '|' || status FROM login_events ORDER BY 1",
            "SELECT count(*)::text FROM audit_log",
        ] {
            for try await row in try await harness.database.client.query(query, logger: harness.logger).decode(String.self) { rows.append(row) }
        }
        return rows
    }

    static func counts(_ run: ReconciliationRun) -> [ReconciliationCategory: Int] {
        var counts: [ReconciliationCategory: Int] = [:]
        for category in ReconciliationCategory.allCases { counts[category] = run.counts[category.rawValue] ?? 0 }
        return counts
    }

    static func expected(_ seeded: ReconciliationPopulation.Seeded) -> [ReconciliationCategory: Int] {
        var counts: [ReconciliationCategory: Int] = [:]
        for category in ReconciliationCategory.allCases { counts[category] = seeded.counts[category] ?? 0 }
        return counts
    }

    static func reconcile(_ harness: VaultHarness, _ mode: ReconciliationMode, purge: Bool = false, resume: Bool = false) async throws -> ReconciliationRun {
        let site = try #require(harness.vault.sites.site(apiKey: harness.site.apiKey))
        return try await harness.vault.makeReconciler(logger: harness.logger, settings: fast).run(
            ReconcileRequest(site: site, mode: mode, purgeOrphans: purge, resume: resume, startedBy: "test"))
    }

    @Test("a dry run puts every seeded user in its category and changes nothing; a repair fixes what it reports; the next run is clean")
    func dryRunRepairClean() async throws {
        try await VaultHarness.with { harness in
            let seeded = try await ReconciliationPopulation.seed(
                vault: harness.vault, site: harness.site.apiKey, emulator: harness.emulatorControl, perCategory: 2, tag: "plain")
            let before = try await Self.snapshot(harness)
            let dry = try await Self.reconcile(harness, .dryRun)
            #expect(dry.status == .completed)
            #expect(Self.counts(dry) == Self.expected(seeded))
            #expect(try await Self.snapshot(harness) == before, "a dry run changed something")
            let items = try await harness.store.items(runID: dry.id, category: .failed, limit: 10, after: nil)
            #expect(items.allSatisfy { $0.gigyaCode == 400_006 })

            let repair = try await Self.reconcile(harness, .repair, purge: true)
            #expect(Self.counts(repair) == Self.expected(seeded))
            let actions = try await harness.store.items(runID: repair.id, category: nil, limit: 100, after: nil).compactMap(\.action)
            #expect(actions.filter { $0 == "re-sent: linked" }.count == 2 * 3, "\(actions)")
            #expect(actions.filter { $0.hasPrefix("purged") }.count == 2)

            let clean = try await Self.reconcile(harness, .dryRun)
            for category in ReconciliationCategory.allCases where category.isRepairable {
                #expect(Self.counts(clean)[category] == 0, "\(category) left after a repair")
            }
            #expect(Self.counts(clean)[.ok] == 2 * 4)
            #expect(Self.counts(clean)[.conflict] == 2)
            #expect(Self.counts(clean)[.unlinked] == 2)
            let audit = try await harness.store.recentAudit(limit: 200).map(\.action)
            #expect(audit.contains("reconcile.resend") && audit.contains("reconcile.purge"))
        }
    }

    @Test("a repair without --purge-orphans keeps orphans and says how to remove them")
    func orphansNeedTheFlag() async throws {
        try await VaultHarness.with { harness in
            let seeded = try await ReconciliationPopulation.seed(
                vault: harness.vault, site: harness.site.apiKey, emulator: harness.emulatorControl, tag: "keep")
            let orphan = try #require(seeded.expected[.orphan]?.first)
            let repair = try await Self.reconcile(harness, .repair)
            let items = try await harness.store.items(runID: repair.id, category: .orphan, limit: 10, after: nil)
            #expect(items.first?.action?.contains("--purge-orphans") == true)
            #expect(try await !harness.store.metadata(site: harness.site.apiKey, uid: orphan).isEmpty)
        }
    }

    @Test("on an accounts site: accounts.search pages with one cursor, a rename without its event is drift re-keyed by a repair, and 403048 is waited out")
    func accountsSite() async throws {
        try await VaultHarness.with(configure: { $0.sites[0].accounts = SiteAccountOptions(accountsAPI: true, allowRenameOnAccountsSite: true) }) { harness in
            let seeded = try await ReconciliationPopulation.seed(
                vault: harness.vault, site: harness.site.apiKey, emulator: harness.emulatorControl, tag: "raas")
            // Enough other accounts for three pages of 1,000.
            _ = try await harness.emulatorControl.createUsers(
                (0..<2_200).map { EmulatorNewUser(uid: "bulk-\($0)", provider: "facebook") }, apiKey: harness.site.apiKey)
            _ = try await harness.emulatorControl.injectFault(EmulatorFault(method: "accounts.search", errorCode: 403_048, count: 6))
            let searchesBefore = try await harness.emulatorControl.stats().calls["accounts.search"].map { $0.ok + $0.error } ?? 0
            let dry = try await Self.reconcile(harness, .dryRun)
            #expect(Self.counts(dry) == Self.expected(seeded))
            let searches = try await harness.emulatorControl.stats().calls["accounts.search"]
            #expect((searches?.ok ?? 0) >= 3)
            #expect((searches.map { $0.ok + $0.error } ?? 0) - searchesBefore >= 9, "the rate-limited pages were asked again")
            let renamed = try #require(try await harness.store.items(runID: dry.id, category: .drift, limit: 10, after: nil).first { $0.gigyaUID?.hasPrefix("renamed-") == true })

            _ = try await Self.reconcile(harness, .repair, purge: true)
            let moved = try #require(renamed.gigyaUID)
            #expect(try await !harness.store.metadata(site: harness.site.apiKey, uid: moved).isEmpty)
            #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: renamed.uid).isEmpty)
            let clean = try await Self.reconcile(harness, .dryRun)
            for category in ReconciliationCategory.allCases where category.isRepairable {
                #expect(Self.counts(clean)[category] == 0, "\(category) left after a repair")
            }
        }
    }

    @Test("on an accounts site a repair asks Gigya about each UID before it purges or re-keys: a user stored after the snapshot is no orphan, a re-key target deleted since is not used")
    func aSnapshotIsCheckedPerUIDBeforeItActs() async throws {
        try await VaultHarness.with(configure: { $0.sites[0].accounts = SiteAccountOptions(accountsAPI: true, allowRenameOnAccountsSite: true) }) { harness in
            let seeded = try await ReconciliationPopulation.seed(
                vault: harness.vault, site: harness.site.apiKey, emulator: harness.emulatorControl, tag: "late")
            let renamed = try #require(seeded.expected[.drift]?.first { !$0.hasPrefix("lost-") })
            let site = try #require(harness.vault.sites.site(apiKey: harness.site.apiKey))
            let late = Mutex<String?>(nil)
            // The snapshot has been read once links are being checked: only then does a new user register and get stored,
            // and the account a rename moved to is deleted, neither of which the snapshot can know.
            let run = try await harness.vault.makeReconciler(logger: harness.logger, settings: Self.fast).run(
                ReconcileRequest(site: site, mode: .repair, purgeOrphans: true, startedBy: "test")
            ) { progress in
                guard progress.phase == "checking links", late.withLock({ $0 == nil }) else { return }
                do {
                    let login = try await harness.login()
                    late.withLock { $0 = login.uid }
                    _ = try await harness.vault.intake.accept(login)
                    try await harness.drain()
                    _ = try await harness.emulatorControl.deleteUser(uid: "renamed-late-0", apiKey: harness.site.apiKey)
                } catch {
                    Issue.record("could not make the late changes: \(error)")
                }
            }
            #expect(run.status == .completed)
            let lateUID = try #require(late.withLock { $0 })
            let items = try await harness.store.items(runID: run.id, category: nil, limit: 200, after: nil)
            let lateItem = try #require(items.first { $0.key == "user:\(lateUID)" })
            #expect(lateItem.category == .unlinked, "\(lateItem)")
            #expect(try await !harness.store.metadata(site: harness.site.apiKey, uid: lateUID).isEmpty, "a user stored after the snapshot was purged")
            let renamedItem = try #require(items.first { $0.key == "user:\(renamed)" })
            #expect(renamedItem.category == .orphan, "\(renamedItem)")
            #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: "renamed-late-0").isEmpty, "sessions were moved to a deleted account")
            // What the snapshot says still holds for the rest.
            let orphan = try #require(seeded.expected[.orphan]?.first)
            #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: orphan).isEmpty)
        }
    }

    @Test("an interrupted run is stored with its checkpoint and resumes where it stopped, finding everything once")
    func interruptAndResume() async throws {
        try await VaultHarness.with { harness in
            let seeded = try await ReconciliationPopulation.seed(
                vault: harness.vault, site: harness.site.apiKey, emulator: harness.emulatorControl, perCategory: 2, tag: "resume")
            let site = try #require(harness.vault.sites.site(apiKey: harness.site.apiKey))
            var settings = Self.fast
            settings.batchSize = 2
            let reconciler = harness.vault.makeReconciler(logger: harness.logger, settings: settings)
            let holder = Mutex<Task<ReconciliationRun, any Error>?>(nil)
            let task = Task {
                try await reconciler.run(ReconcileRequest(site: site, mode: .dryRun, startedBy: "test")) { progress in
                    if progress.checked >= 4 { holder.withLock { $0?.cancel() } }
                }
            }
            holder.withLock { $0 = task }
            await #expect(throws: CancellationError.self) { _ = try await task.value }
            let interrupted = try #require(try await harness.store.latestRun(site: site.apiKey))
            #expect(interrupted.status == .interrupted)
            #expect(interrupted.checkpoint != nil)
            #expect(interrupted.checked < interrupted.total)

            let resumed = try await reconciler.run(ReconcileRequest(site: site, mode: .dryRun, resume: true, startedBy: "test"))
            #expect(resumed.id == interrupted.id)
            #expect(resumed.status == .completed)
            #expect(Self.counts(resumed) == Self.expected(seeded))
        }
    }

    @Test("GET /v1/admin/reconciliations/latest needs admin and returns the last report, filtered and paged")
    func latestReport() async throws {
        try await VaultHarness.with { harness in
            let seeded = try await ReconciliationPopulation.seed(
                vault: harness.vault, site: harness.site.apiKey, emulator: harness.emulatorControl, perCategory: 2, tag: "api")
            let admin = try await harness.accessKey([.admin])
            let reader = try await harness.accessKey([.sessionsRead, .linksRead])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/admin/reconciliations/latest", method: .get, headers: [.authorization: "Bearer \(admin)"]) {
                    #expect($0.status == .notFound)
                    #expect(errorCode($0.body) == "no_reconciliation")
                }
                _ = try await Self.reconcile(harness, .dryRun)
                try await client.execute(uri: "/v1/admin/reconciliations/latest", method: .get, headers: [.authorization: "Bearer \(reader)"]) {
                    #expect($0.status == .forbidden)
                }
                try await client.execute(
                    uri: "/v1/admin/reconciliations/latest?category=orphan&limit=1", method: .get, headers: [.authorization: "Bearer \(admin)"]
                ) { response in
                    #expect(response.status == .ok)
                    let object = try jsonObject(response.body)
                    let run = try #require(object["run"] as? [String: Any])
                    #expect((run["counts"] as? [String: Int])?["orphan"] == seeded.counts[.orphan])
                    #expect((object["items"] as? [[String: Any]])?.count == 1)
                    #expect(object["nextCursor"] is String)
                }
                try await client.execute(uri: "/v1/admin/reconciliations/latest?category=bogus", method: .get, headers: [.authorization: "Bearer \(admin)"]) {
                    #expect($0.status == .badRequest)
                }
            }
        }
    }
}
