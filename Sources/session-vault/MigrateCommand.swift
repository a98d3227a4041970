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
        let settings = try await options.load()
        let logger = makeLogger("session-vault.migrate", level: settings.logLevel)
        try await VaultTool.withStore(settings: settings, logger: logger) { context in
            if case .inconsistent(let reason) = try await context.migrator.status() {
                print("schema is inconsistent with sql/: \(reason)")
                throw ExitCode(1)
            }
            let migrations = try await context.migrator.migrate(dryRun: dryRun)
            if migrations.isEmpty {
                print("schema is up to date (\(context.databaseDescription))")
            }
            for migration in migrations {
                print("\(dryRun ? "would apply" : "applied") \(migration.version) \(migration.name)")
            }
        }
    }
}
