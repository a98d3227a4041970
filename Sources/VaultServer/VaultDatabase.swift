public import Logging
public import PostgresNIO
public import VaultStore

/// The database side of session-vault built from settings: the connection pool, the store sealing with the data-key
/// ring, and the migrator over `sql/`. `serve` and the operator commands both start here.
public struct VaultDatabase: Sendable {
    public let client: PostgresClient
    public let store: PostgresVaultStore
    public let migrator: Migrator
    /// `host:port`, for messages about reaching the database.
    public let target: String

    /// - Parameter poolLogger: the pool's background logger; one-shot commands quiet it.
    public init(url: String, dataKeys: String, sqlDirectory: String?, logger: Logger, poolLogger: Logger? = nil) throws {
        let configuration = try DatabaseURL.configuration(from: url)
        client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger ?? logger)
        store = PostgresVaultStore(client: client, keyRing: try DataKeyRing.parse(dataKeys), logger: logger)
        migrator = Migrator(client: client, migrations: try Migrator.load(directory: Migrator.locateDirectory(explicit: sqlDirectory)), logger: logger)
        target = configuration.host.map { "\($0):\(configuration.port ?? 5432)" } ?? "the configured address"
    }

    /// Runs `body` while the pool runs; the pool stops when `body` returns or throws.
    public func withRunningPool<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
