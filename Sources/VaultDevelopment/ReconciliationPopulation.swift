public import GigyaEmulator
import GigyaClient
import GigyaKit
import Logging
import VaultCore
public import VaultServer
public import VaultStore

/// Seeds a site with users in every reconciliation category, at the emulator and in session-vault, for tests and demos:
/// `ok`, `pending`, `failed`, `drift` (a link Gigya lost, and on accounts sites a UID renamed without the event reaching
/// session-vault), `orphan`, `conflict` and `unlinked`.
public enum ReconciliationPopulation {
    /// The seeded users by the category a dry run should put them in.
    public struct Seeded: Sendable {
        public var expected: [ReconciliationCategory: [String]] = [:]

        /// How many of each category a dry run should find.
        public var counts: [ReconciliationCategory: Int] { expected.mapValues(\.count) }
    }

    /// Seeds `perCategory` users of each category on `site` (the vault's database must be running). The emulator must
    /// serve the site; its webhooks must not reach this vault, or the renames and deletions would be followed instead of
    /// drifting. Renames without an event need the accounts API (`site.accounts.accountsAPI`).
    public static func seed(vault: Vault, site apiKey: String, emulator: EmulatorControlClient, perCategory: Int = 1, tag: String) async throws -> Seeded {
        guard let site = vault.sites.site(apiKey: apiKey) else { throw SeedError("site \(apiKey) is not configured") }
        var logger = Logger(label: "seed")
        logger.logLevel = .critical
        let settings = WorkerSettings(concurrency: 1, lease: .seconds(30), idlePoll: .milliseconds(20), retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20)))
        let sessions = vault.makeWorker(settings: settings, logger: logger)
        let links = vault.makeLinkWorker(settings: settings, logger: logger)
        let store = vault.store
        var seeded = Seeded()

        /// A user logged in at the emulator with a stored session.
        func user(_ provider: String = "facebook") async throws -> String {
            let login = try await emulator.login(apiKey: apiKey, provider: provider)
            let result = LoginResult(
                uid: login.UID, uidSignature: login.UIDSignature, signatureTimestamp: login.signatureTimestamp, provider: provider, apiKey: apiKey)
            _ = try await vault.intake.accept(result)
            // Stored by this worker, or by the server's own when one runs.
            for _ in 0..<500 {
                _ = await sessions.runOnce(workerID: "seed-\(tag)")
                if try await !store.metadata(site: apiKey, uid: login.UID).isEmpty { return login.UID }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw SeedError("the session of \(login.UID) was never stored")
        }
        func request(_ uid: String, _ siteUID: String, via: LinkMethod = .notifyRegistration) async throws -> AccountLink {
            guard case .created(let link) = try await store.requestLink(
                NewAccountLink(site: apiKey, uid: uid, siteUID: siteUID, via: via, requestedBy: "seed", requestedByKeyID: nil))
            else { throw SeedError("the link \(siteUID) exists already") }
            return link
        }
        func send(_ siteUID: String) async throws {
            for _ in 0..<200 {
                _ = await links.runOnce(workerID: "seed-\(tag)")
                if let link = try await store.link(site: apiKey, siteUID: siteUID), link.status == .linked || link.status == .failed { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw SeedError("the link \(siteUID) was never sent")
        }

        // Links that are sent come first: the worker sends whatever link is due, so the ones meant to stay pending are
        // asked for once nothing else will be sent.
        for index in 0..<perCategory {
            let suffix = "\(tag)-\(index)"
            // ok: linked here and at Gigya.
            let ok = try await user()
            _ = try await request(ok, "ok-\(suffix)")
            try await send("ok-\(suffix)")
            seeded.expected[.ok, default: []].append("ok-\(suffix)")

            // failed: Gigya refused the link once (a fault), so a repair's second try goes through.
            let refused = try await user()
            _ = try await emulator.injectFault(EmulatorFault(method: "socialize.setUID", errorCode: 400_006, count: 1))
            _ = try await request(refused, "failed-\(suffix)", via: .setUID)
            try await send("failed-\(suffix)")
            seeded.expected[.failed, default: []].append(refused)

            // drift: linked here and at Gigya, then Gigya lost the siteUID (the account answers to its Gigya UID again)
            // without the event reaching session-vault.
            let lost = try await user()
            _ = try await request(lost, "lost-\(suffix)")
            try await send("lost-\(suffix)")
            _ = try await emulator.renameUser(uid: "lost-\(suffix)", to: lost, notify: false, apiKey: apiKey)
            seeded.expected[.drift, default: []].append("lost-\(suffix)")

            // orphan: deleted at Gigya without the event reaching session-vault.
            let deleted = try await user()
            _ = try await emulator.deleteUser(uid: deleted, apiKey: apiKey)
            seeded.expected[.orphan, default: []].append(deleted)

            // unlinked: sessions and no link.
            seeded.expected[.unlinked, default: []].append(try await user())

            // drift: renamed at Gigya without the event (found by its identities, on accounts sites).
            if site.accounts.accountsAPI {
                let renamed = try await user()
                _ = try await emulator.renameUser(uid: renamed, to: "renamed-\(suffix)", notify: false, apiKey: apiKey)
                seeded.expected[.drift, default: []].append(renamed)
            }
        }
        for index in 0..<perCategory {
            let suffix = "\(tag)-\(index)"
            // pending: asked for, not sent yet.
            let waiting = try await user()
            _ = try await request(waiting, "pending-\(suffix)")
            seeded.expected[.pending, default: []].append(waiting)

            // conflict: the siteUID asked for is meanwhile another account at Gigya.
            let claimant = try await user()
            _ = try await request(claimant, "taken-\(suffix)")
            _ = try await emulator.login(apiKey: apiKey, uid: "taken-\(suffix)", provider: "google")
            seeded.expected[.conflict, default: []].append(claimant)
        }
        return seeded
    }

    public struct SeedError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
