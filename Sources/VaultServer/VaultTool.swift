import Foundation
public import Logging
import PostgresNIO
public import VaultStore

/// The database side of the operator commands (`migrate`, `keys`, `data-keys`): the configured database, or the
/// zero-config one under the state directory when nothing is configured.
public enum VaultTool {
    /// What an operator command works with.
    public struct Context: Sendable {
        public let store: PostgresVaultStore
        public let migrator: Migrator
        public let databaseDescription: String
    }

    /// Runs `body` with a connected store; fails clearly when no database or no data-key ring is configured.
    public static func withStore<T: Sendable>(
        settings: ServerSettings,
        logger: Logger,
        _ body: (Context) async throws -> T
    ) async throws -> T {
        var settings = settings
        var description = "DATABASE_URL"
        if settings.databaseURL == nil {
            guard FileManager.default.fileExists(atPath: "\(settings.stateDirectory)/postgres") else {
                throw SettingsError.invalid(
                    key: "database.url",
                    reason: "DATABASE_URL is not set and there is no zero-config database under \(settings.stateDirectory)/ (run `session-vault serve` once)"
                )
            }
            let postgres = EmbeddedPostgres(dataDirectory: "\(settings.stateDirectory)/postgres", logger: logger)
            let instance = try await postgres.start()
            settings.databaseURL = instance.url(database: "postgres")
            description = "the zero-config database under \(settings.stateDirectory)/postgres"
            if settings.dataKeys == nil,
                let keys = try? String(contentsOfFile: "\(settings.stateDirectory)/data-keys", encoding: .utf8)
            {
                settings.dataKeys = keys.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        guard let dataKeys = settings.dataKeys else { throw SettingsError.incomplete(missing: ["DATA_KEYS"]) }
        // A one-shot command leases its first connection while the pool is still starting; that is expected here, so
        // the pool's own chatter is kept to errors.
        var poolLogger = logger
        poolLogger.logLevel = .error
        let database = try VaultDatabase(
            url: settings.databaseURL ?? "", dataKeys: dataKeys, sqlDirectory: settings.sqlDirectory, logger: logger, poolLogger: poolLogger
        )
        let context = Context(store: database.store, migrator: database.migrator, databaseDescription: description)
        // A zero-config database started here keeps running: a `serve` may be using it, and the next `serve` stops it.
        let result = try await database.withRunningPool { try await body(context) }
        return result
    }
}
