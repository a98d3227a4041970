import AsyncHTTPClient
import Foundation
import GigyaEmulator
import GigyaKit
public import Logging
import VaultCore
import VaultServer
import VaultStore

/// `bench reconcile`: how fast a dry run checks a large site, by `accounts.search` snapshot (accounts sites) and, as the
/// baseline measured in the same run, by one `getUserInfo` per user (other sites).
public enum ReconcileBenchmark {
    public struct Options: Sendable {
        /// Accounts at the emulator.
        public var accounts = 100_000
        /// Of those, users with a stored session in session-vault.
        public var users = 10_000
        public var showProgress = true

        public init() {}
    }

    public struct Report: Sendable {
        public var lines: [String]
    }

    public static func run(_ options: Options, logger: Logger) async throws -> Report {
        let directory = temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stack = try await DevelopmentStack.start(stateDirectory: directory, logger: logger)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let result: Result<Report, any Error>
        do {
            result = .success(try await measure(options, stack: stack, client: client, logger: logger))
        } catch {
            result = .failure(error)
        }
        try? await client.shutdown()
        await stack.stop()
        return try result.get()
    }

    private static func measure(_ options: Options, stack: DevelopmentStack, client: HTTPClient, logger: Logger) async throws -> Report {
        let emulator = EmulatorControlClient(baseURL: stack.emulatorURL, token: stack.emulatorToken, httpClient: client, timeout: .seconds(120))
        let apiKey = stack.site.apiKey
        @Sendable func progress(_ text: String) {
            if options.showProgress { FileHandle.standardError.write(Data("\r\(text)\u{1B}[K".utf8)) }
        }
        // The accounts, in chunks; the first `users` of them get a stored session here.
        var stored: [(uid: String, providerUID: String)] = []
        var created = 0
        while created < options.accounts {
            let chunk = min(5_000, options.accounts - created)
            let users = try await emulator.createUsers((0..<chunk).map { EmulatorNewUser(uid: "bench-\(created + $0)", provider: "facebook") }, apiKey: apiKey)
            for user in users where stored.count < options.users {
                stored.append((user.gigyaUID, user.sessions["facebook"]?.providerUID ?? ""))
            }
            created += chunk
            progress("accounts at the emulator: \(created)")
        }
        var settings = stack.serverSettings(ServerSettings())
        settings.workers = 0
        settings.linkWorkers = false
        var quiet = logger
        quiet.logLevel = .critical
        return try await buildApplication(settings, logger: quiet).withDatabase { vault in
            _ = try await vault.migrator.migrate(dryRun: false)
            let toStore = stored
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<16 {
                    group.addTask {
                        for index in stride(from: lane, to: toStore.count, by: 16) {
                            let record = SessionRecord(
                                site: apiKey, uid: toStore[index].uid, provider: "facebook", providerUID: toStore[index].providerUID,
                                authToken: "token-\(index)", tokenSecret: nil, sessionHandle: nil, tokenExpiration: nil, sessionExpiration: nil,
                                fetchedAt: Date())
                            try await vault.store.upsert(record, eventID: nil, fetchStartedAt: Date())
                        }
                    }
                }
                try await group.waitForAll()
            }
            progress("sessions stored: \(stored.count)")
            // 1 % renamed at Gigya without the event reaching us, 1 % deleted.
            let drifted = max(1, stored.count / 100)
            for index in 0..<drifted {
                _ = try await emulator.renameUser(uid: stored[index].uid, to: "moved-\(index)", notify: false, apiKey: apiKey)
                _ = try await emulator.deleteUser(uid: stored[drifted + index].uid, apiKey: apiKey)
            }
            var lines = ["bench reconcile: \(options.accounts) accounts at the emulator, \(stored.count) users with a stored session, \(drifted) renamed and \(drifted) deleted without the event"]
            var rates: [String: Double] = [:]
            for accountsAPI in [true, false] {
                guard let base = vault.sites.site(apiKey: apiKey) else { throw BenchmarkFailure.serverDidNotStart }
                let site = GigyaSite(
                    apiKey: base.apiKey, verifier: base.verifier, gigya: base.gigya, providers: base.providers, directory: base.directory,
                    accounts: SiteAccountOptions(accountsAPI: accountsAPI))
                let reconciler = vault.makeReconciler(logger: quiet)
                let clock = ContinuousClock()
                let started = clock.now
                let run = try await reconciler.run(ReconcileRequest(site: site, mode: .dryRun, startedBy: "bench")) { state in
                    progress("\(accountsAPI ? "accounts.search" : "getUserInfo"): \(state.phase) \(state.checked)/\(state.total)")
                }
                let elapsed = clock.now - started
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let rate = Double(run.checked) / seconds
                rates[accountsAPI ? "search" : "lookup"] = rate
                let counts = ReconciliationCategory.allCases.map { "\($0.rawValue)=\(run.counts[$0.rawValue] ?? 0)" }.joined(separator: " ")
                lines.append(
                    "\(accountsAPI ? "accounts.search snapshot" : "getUserInfo per user (baseline)"): \(run.checked) checked in "
                        + "\(String(format: "%.1f", seconds)) s = \(String(format: "%.0f", rate))/s; \(counts)")
            }
            progress("")
            let ratio = (rates["search"] ?? 0) / max(rates["lookup"] ?? 1, 0.001)
            lines.append(
                "accounts=\(options.accounts) users=\(stored.count) search_per_s=\(String(format: "%.0f", rates["search"] ?? 0)) "
                    + "lookup_per_s=\(String(format: "%.0f", rates["lookup"] ?? 0)) ratio_search_to_lookup=\(String(format: "%.2f", ratio))")
            return Report(lines: lines)
        }
    }
}
