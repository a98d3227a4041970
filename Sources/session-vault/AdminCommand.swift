import ArgumentParser
import Foundation
import Logging
import UnixSignals
import VaultCore
import VaultServer
import VaultStore

/// `session-vault admin`: the admins' tools at the command line.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Admins' tools: reconcile links and stored sessions with what Gigya holds.",
        subcommands: [Reconcile.self]
    )

    /// `admin reconcile [--site K] [--dry-run | --repair] [--purge-orphans] [--format table|json|csv] [--resume]`.
    struct Reconcile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare links and stored sessions with Gigya; report every mismatch, and with --repair fix what can be fixed.",
            discussion: """
                Categories: ok, pending (link not yet sent), failed (with Gigya's code), drift (Gigya holds another UID than \
                recorded), orphan (sessions or links under a UID Gigya no longer knows), conflict (one siteUID claimed by two \
                accounts), unlinked (sessions without a link, for information). A dry run (the default) changes nothing. \
                --repair re-sends pending and failed links, re-keys drift where Gigya is right, and with --purge-orphans \
                removes orphans; every change is audited. Every run is stored; Ctrl-C interrupts it, --resume continues it.
                """
        )

        @OptionGroup var options: ServerOptions

        @Option(help: "The site API key (default: every configured site).")
        var site: String?

        @Flag(help: "Report only; change nothing (the default).")
        var dryRun = false

        @Flag(help: "Fix what can be fixed: re-send links, re-key drift.")
        var repair = false

        @Flag(help: "With --repair: remove sessions and links under UIDs Gigya no longer knows.")
        var purgeOrphans = false

        @Flag(help: "Continue the newest interrupted run of the site and mode.")
        var resume = false

        @Option(help: "table, json or csv.")
        var format: ReportFormat = .table

        func validate() throws {
            if dryRun && repair { throw ValidationError("give at most one of --dry-run and --repair") }
            if purgeOrphans && !repair { throw ValidationError("--purge-orphans needs --repair") }
        }

        func run() async throws {
            let mode: ReconciliationMode = repair ? .repair : .dryRun
            try await options.withVault(label: "session-vault.admin") { vault, database in
                let sites: [GigyaSite]
                if let site {
                    guard let found = vault.sites.site(apiKey: site) else { throw ValidationError("site \(site) is not configured") }
                    sites = [found]
                } else {
                    sites = vault.sites.apiKeys.compactMap { vault.sites.site(apiKey: $0) }
                }
                let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
                var logger = Logger(label: "session-vault.admin")
                logger.logLevel = .warning
                let reconciler = vault.makeReconciler(logger: logger)
                var reports: [(ReconciliationRun, [ReconciliationItem])] = []
                for site in sites {
                    let request = ReconcileRequest(site: site, mode: mode, purgeOrphans: purgeOrphans, resume: resume, startedBy: "cli")
                    let run: ReconciliationRun
                    do {
                        run = try await Self.interruptible { try await reconciler.run(request) { progress.show($0) } }
                    } catch is CancellationError {
                        progress.finish()
                        FileHandle.standardError.write(Data("interrupted: the run is stored; continue it with --resume\n".utf8))
                        throw ExitCode(130)
                    }
                    progress.finish()
                    reports.append((run, try await Self.allItems(of: run, store: vault.store)))
                }
                print(ReconciliationReportFormatter(format: format).render(reports, database: database))
            }
        }

        /// Runs `work`, cancelling it on SIGINT or SIGTERM (the run is then marked interrupted and resumable).
        static func interruptible<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
            try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await work() }
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { return nil }
                    return nil
                }
                defer { group.cancelAll() }
                while let next = try await group.next() {
                    if let result = next { return result }
                    // A signal: cancel the work and let it mark the run interrupted.
                    group.cancelAll()
                }
                throw CancellationError()
            }
        }

        static func allItems(of run: ReconciliationRun, store: PostgresVaultStore) async throws -> [ReconciliationItem] {
            var items: [ReconciliationItem] = []
            var after: String?
            while true {
                let page = try await store.items(runID: run.id, category: nil, limit: 1000, after: after)
                items += page
                guard page.count == 1000, let last = page.last else { return items }
                after = last.key
            }
        }
    }
}

/// How a reconciliation report is printed.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
    case csv
}

/// A progress line on a terminal: count, rate and time left, rewritten in place.
final class ProgressLine: Sendable {
    let enabled: Bool

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func show(_ progress: ReconcileProgress) {
        guard enabled else { return }
        let left = progress.remaining.map { " about \($0.components.seconds) s left" } ?? ""
        let limited = progress.rateLimited > 0 ? " (rate-limited \(progress.rateLimited)×)" : ""
        let line = "\r\(progress.phase): \(progress.checked)/\(progress.total) checked, \(String(format: "%.0f", progress.rate))/s\(left)\(limited)\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
