import ArgumentParser
import Foundation
import Logging
import VaultDevelopment

/// `bench reconcile`: a dry run over a large site, by accounts.search snapshot and by per-user lookups.
struct BenchReconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "How fast a reconciliation dry run checks a large site (accounts.search snapshot vs getUserInfo per user).",
        discussion: """
            Starts a private PostgreSQL and the emulator, creates --accounts accounts there, stores a session for --users of \
            them, renames and deletes 1 % of those at the emulator without telling session-vault, then times a dry run that \
            reads Gigya with accounts.search (1,000 a page, one cursor) and one that asks getUserInfo per user (8 at a time), \
            the baseline. The last line is key=value pairs.
            """
    )

    @Option(help: "Accounts at the emulator.")
    var accounts = 100_000

    @Option(help: "Users with a stored session (at most --accounts).")
    var users = 10_000

    @Flag(help: "No progress line.")
    var quiet = false

    func validate() throws {
        guard accounts > 0, users > 0, users <= accounts else { throw ValidationError("need 0 < --users <= --accounts") }
    }

    func run() async throws {
        var options = ReconcileBenchmark.Options()
        options.accounts = accounts
        options.users = users
        options.showProgress = !quiet
        var logger = Logger(label: "session-vault.bench")
        logger.logLevel = .error
        let report = try await ReconcileBenchmark.run(options, logger: logger)
        for line in report.lines { output(line) }
    }
}
