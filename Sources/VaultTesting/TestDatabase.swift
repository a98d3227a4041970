public import Foundation
public import Logging
public import PostgresNIO
import Synchronization
import LocalPostgres
import VaultStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the migration files live in this checkout, found from this source file so tests run from any directory.
public enum SQLMigrations {
    /// `<repository>/sql`.
    public static var sourceDirectory: String {
        // Sources/VaultTesting/TestDatabase.swift → repository root → sql/
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("sql").path
    }
}

/// One throwaway, fully migrated database for one test.
public struct TestDatabase: Sendable {
    /// A running client for this database (cancelled when the test body returns).
    public let client: PostgresClient
    /// `postgres://…` for subprocesses.
    public let url: String
    /// The configuration `client` was built from.
    public let configuration: PostgresClient.Configuration
    /// The database name (`t_<random>`).
    public let name: String
}

/// Runs `body` against a fresh database copied from the migrated template, then drops it.
/// Throws the EmbeddedPostgres error when PostgreSQL is not installed (tests fail, they are never skipped).
public func withTestDatabase<T: Sendable>(_ body: (TestDatabase) async throws -> T) async throws -> T {
    try await withTestDatabase(migrated: true, body)
}

/// Like `withTestDatabase(_:)`; with `migrated: false` the database is empty (no `schema_migrations`), for migrator tests.
public func withTestDatabase<T: Sendable>(migrated: Bool, _ body: (TestDatabase) async throws -> T) async throws -> T {
    let server = try await TestServer.shared.ready()
    let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
    try await TestServer.shared.createDatabase(name, template: migrated ? TestServer.templateName : "template0")
    let configuration = server.clientConfiguration(database: name)
    let client = PostgresClient(configuration: configuration, backgroundLogger: TestServer.quietLogger)
    let database = TestDatabase(client: client, url: server.url(database: name), configuration: configuration, name: name)
    let result: Result<T, any Error> = await withTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        do {
            return .success(try await body(database))
        } catch {
            return .failure(error)
        }
    }
    await TestServer.shared.dropDatabase(name)
    return try result.get()
}

/// The one PostgreSQL server of this test process: started on first use, stopped at exit.
actor TestServer {
    static let shared = TestServer()
    static let templateName = "sv_template"
    /// Test servers are noisy at debug level and their logs are not what a failing test needs.
    static let quietLogger = Logger(label: "session-vault.tests.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    private var startup: Task<EmbeddedPostgresInstance, any Error>?

    /// The running server with its migrated template database, starting both on first call.
    func ready() async throws -> EmbeddedPostgresInstance {
        if let startup { return try await startup.value }
        let task = Task { try await Self.start() }
        startup = task
        return try await task.value
    }

    /// Starts a server in a fresh temporary directory, registers its shutdown at exit, and builds the template database.
    private static func start() async throws -> EmbeddedPostgresInstance {
        let root = try makeTemporaryDirectory()
        // Every test runs an application with its own pool beside the test's client, many tests at once.
        let postgres = EmbeddedPostgres(dataDirectory: root + "/data", logger: quietLogger, fsync: false, maxConnections: 500)
        let instance = try await postgres.start()
        ExitCleanup.register(dataDirectory: root + "/data", root: root)
        try await withAdminConnection(instance) { connection in
            try await connection.query("CREATE DATABASE \(unescaped: templateName)", logger: quietLogger)
        }
        let client = PostgresClient(configuration: instance.clientConfiguration(database: templateName), backgroundLogger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let migrations = try Migrator.load(directory: SQLMigrations.sourceDirectory)
            try await Migrator(client: client, migrations: migrations, logger: quietLogger).migrate(dryRun: false)
        }
        return instance
    }

    /// Copies the template; retried because PostgreSQL refuses while the template still has a (closing) connection.
    func createDatabase(_ name: String, template: String) async throws {
        let instance = try await ready()
        // Retried while the server is busy rather than wrong: the template still in use by a connection closing
        // (55006), every connection slot taken by tests running in parallel (53300), the server starting (57P03). The
        // bound is time, not attempts, and far from what a loaded machine needs.
        let giveUp = ContinuousClock.now + .seconds(60)
        while true {
            do {
                try await Self.withAdminConnection(instance) { connection in
                    try await connection.query(
                        "CREATE DATABASE \(unescaped: name) TEMPLATE \(unescaped: template)", logger: Self.quietLogger)
                }
                return
            } catch let error as PSQLError where Self.busyStates.contains(error.serverInfo?[.sqlState] ?? "") && ContinuousClock.now < giveUp {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private static let busyStates: Set<String> = ["55006", "53300", "57P03"]

    /// Drops a test database, best effort (FORCE ends connections a test left behind).
    func dropDatabase(_ name: String) async {
        guard let instance = try? await ready() else { return }
        _ = try? await Self.withAdminConnection(instance) { connection in
            try await connection.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: Self.quietLogger)
        }
    }

    /// One short-lived connection to the `postgres` database.
    private static func withAdminConnection<R: Sendable>(
        _ instance: EmbeddedPostgresInstance, _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        let configuration = PostgresConnection.Configuration(
            host: instance.host, port: instance.port, username: instance.user, password: nil, database: instance.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: quietLogger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// `/tmp/session-vault-tests-XXXXXX`, traversable by the postgres user when we run as root.
    private static func makeTemporaryDirectory() throws -> String {
        var template = Array("/tmp/session-vault-tests-XXXXXX".utf8CString)
        guard let pointer = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        let path = String(cString: pointer)
        _ = chmod(path, 0o755)
        return path
    }
}

/// Stops the test server when the test process exits, so `swift test` leaves nothing running.
enum ExitCleanup {
    /// The directories to clean at exit; a global because `atexit` takes a C function that captures nothing.
    static let paths = Mutex<(dataDirectory: String, root: String)?>(nil)

    /// Remembers the server and installs the exit hook once.
    static func register(dataDirectory: String, root: String) {
        let first = paths.withLock { current in
            defer { current = (dataDirectory, root) }
            return current == nil
        }
        if first { atexit { ExitCleanup.run() } }
    }

    /// `pg_ctl stop -m immediate`, synchronously, then removal of the temporary directory.
    static func run() {
        guard let (dataDirectory, root) = paths.withLock({ $0 }) else { return }
        EmbeddedPostgres.stopImmediately(dataDirectory: dataDirectory)
        try? FileManager.default.removeItem(atPath: root)
    }
}
