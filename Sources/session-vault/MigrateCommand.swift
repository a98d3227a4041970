import ArgumentParser
import VaultServer
import VaultStore

/// `session-vault migrate [--dry-run]`: applies the forward-only migrations in sql/.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations.")

    @OptionGroup var options: ServerOptions

    @Flag(help: "List what would be applied without changing anything.")
    var dryRun = false

    func run() async throws {
        try await options.withVault(logLevel: "info", label: "session-vault.migrate") { vault, database in
            if case .inconsistent(let reason) = try await vault.migrator.status() {
                print("schema is inconsistent with sql/: \(reason)")
                throw ExitCode(1)
            }
            let migrations = try await vault.migrator.migrate(dryRun: dryRun)
            if migrations.isEmpty {
                print("schema is up to date (\(database))")
            }
            for migration in migrations {
                print("\(dryRun ? "would apply" : "applied") \(migration.version) \(migration.name)")
            }
        }
    }
}
