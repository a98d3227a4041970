import Crypto
public import Foundation
public import Logging
public import PostgresNIO

/// One forward-only migration file, `NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var sql: String
    /// SHA-256 (hex) of the file's bytes, recorded when applied and compared on every run.
    public var checksum: String

    public init(version: Int, name: String, sql: String, checksum: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = checksum
    }

    /// Builds a migration from file bytes, computing the checksum.
    public init(version: Int, name: String, bytes: Data) {
        self.init(
            version: version, name: name, sql: String(decoding: bytes, as: UTF8.self),
            checksum: SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
    }
}

/// Where the database schema stands against the migration files.
public enum MigrationStatus: Sendable, Equatable {
    /// Every file is applied; the highest version (0 when there are no files).
    case upToDate(Int)
    /// These files are not applied yet, in order.
    case pending([Migration])
    /// Applied versions are not a prefix of the files, or a checksum differs; the reason names the version.
    case inconsistent(String)
}

/// Why migrations could not be loaded or applied.
public enum MigrationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The database disagrees with the files (reason names the version).
    case inconsistent(String)
    /// No migrations directory was found; the places tried.
    case directoryNotFound(tried: [String])
    /// A `.sql` file whose name is not `NNNN_name.sql`.
    case invalidFileName(String)
    /// Two files share a version.
    case duplicateVersion(Int)
    /// A statement of a migration failed; the server's message (migration SQL holds no secrets).
    case statementFailed(version: Int, statement: Int, message: String)

    public var description: String {
        switch self {
        case .inconsistent(let reason): "schema is inconsistent with the migration files: \(reason)"
        case .directoryNotFound(let tried): "no migrations directory found (tried: \(tried.joined(separator: ", ")))"
        case .invalidFileName(let name): "migration file '\(name)' is not named NNNN_name.sql"
        case .duplicateVersion(let version): "two migration files have version \(version)"
        case .statementFailed(let version, let statement, let message): "migration \(version), statement \(statement) failed: \(message)"
        }
    }
}

/// Applies `sql/NNNN_name.sql` files in order, each in one transaction, under an advisory lock.
public struct Migrator: Sendable {
    /// `pg_advisory_lock` key shared by every session-vault instance ("sessvlt" in ASCII).
    static let advisoryLockKey: Int64 = 0x7365_7373_766C_74

    let client: PostgresClient
    let migrations: [Migration]
    let logger: Logger

    public init(client: PostgresClient, migrations: [Migration], logger: Logger) {
        self.client = client
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Reads every `NNNN_name.sql` in `directory`, sorted by version; other files are ignored.
    public static func load(directory: String) throws -> [Migration] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }
        var migrations: [Migration] = []
        for file in names {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0,
                stem[..<underscore].allSatisfy(\.isASCII), stem.index(after: underscore) < stem.endIndex
            else { throw MigrationError.invalidFileName(file) }
            if migrations.contains(where: { $0.version == version }) { throw MigrationError.duplicateVersion(version) }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(file))
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), bytes: bytes))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Finds the migrations directory: `explicit`, then `$SESSION_VAULT_SQL_DIR`, `./sql`,
    /// `<executable dir>/../share/session-vault/sql`, and the source tree this file was built from.
    public static func locateDirectory(explicit: String?, sourceFile: String = #filePath) throws -> String {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let env = ProcessInfo.processInfo.environment["SESSION_VAULT_SQL_DIR"], !env.isEmpty { candidates.append(env) }
        candidates.append(FileManager.default.currentDirectoryPath + "/sql")
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("../share/session-vault/sql").standardized.path)
        }
        // Sources/VaultStore/Migrator.swift → repository root → sql/
        candidates.append(
            URL(fileURLWithPath: sourceFile).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("sql").path)
        var isDirectory: ObjCBool = false
        // An explicit directory that does not exist is an error, not a reason to pick another one silently.
        if let explicit, !(FileManager.default.fileExists(atPath: explicit, isDirectory: &isDirectory) && isDirectory.boolValue) {
            throw MigrationError.directoryNotFound(tried: [explicit])
        }
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory) && isDirectory.boolValue {
            return candidate
        }
        throw MigrationError.directoryNotFound(tried: candidates)
    }

    /// Compares the applied versions with the files without changing anything.
    public func status() async throws -> MigrationStatus {
        try await client.withConnection { connection in
            let applied = try await appliedMigrations(on: connection)
            switch plan(applied: applied) {
            case .failure(let error): return .inconsistent(error.reason)
            case .success(let pending) where pending.isEmpty: return .upToDate(migrations.last?.version ?? 0)
            case .success(let pending): return .pending(pending)
            }
        }
    }

    /// Applies pending migrations (or, with `dryRun`, only reports them); returns the migrations applied or to apply.
    @discardableResult
    public func migrate(dryRun: Bool) async throws -> [Migration] {
        try await client.withConnection { connection in
            // Session-level lock held on this connection for the whole run: a second instance waits, then finds nothing to do.
            try await connection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger)
            do {
                let result = try await migrateLocked(on: connection, dryRun: dryRun)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                throw error
            }
        }
    }

    /// The body of `migrate`, run while holding the advisory lock.
    private func migrateLocked(on connection: PostgresConnection, dryRun: Bool) async throws -> [Migration] {
        let applied = try await appliedMigrations(on: connection)
        let pending: [Migration]
        switch plan(applied: applied) {
        case .failure(let error): throw MigrationError.inconsistent(error.reason)
        case .success(let list): pending = list
        }
        if dryRun || pending.isEmpty { return pending }
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        for migration in pending {
            let statements = SQLStatementSplitter.split(migration.sql)
            try await connection.query("BEGIN", logger: logger)
            for (index, statement) in statements.enumerated() {
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                } catch let error as PSQLError {
                    throw MigrationError.statementFailed(
                        version: migration.version, statement: index + 1, message: error.serverInfo?[.message] ?? String(reflecting: error))
                }
            }
            try await connection.query(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                logger: logger)
            try await connection.query("COMMIT", logger: logger)
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        return pending
    }

    /// A row of `schema_migrations`.
    struct AppliedMigration: Sendable {
        var version: Int
        var checksum: String
    }

    /// Applied migrations in version order; empty when the bookkeeping table does not exist yet.
    private func appliedMigrations(on connection: PostgresConnection) async throws -> [AppliedMigration] {
        let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            .collect().first?.decode(Bool.self) ?? false
        guard exists else { return [] }
        var applied: [AppliedMigration] = []
        let rows = try await connection.query("SELECT version, checksum FROM schema_migrations ORDER BY version", logger: logger)
        for try await (version, checksum) in rows.decode((Int, String).self) {
            applied.append(AppliedMigration(version: version, checksum: checksum))
        }
        return applied
    }

    /// Why the applied list cannot be extended by the files.
    struct Inconsistency: Error {
        var reason: String
    }

    /// Checks that the applied versions are a prefix of the files with equal checksums; returns the rest.
    func plan(applied: [AppliedMigration]) -> Result<[Migration], Inconsistency> {
        for (index, row) in applied.enumerated() {
            guard index < migrations.count else {
                return .failure(Inconsistency(reason: "version \(row.version) is applied but has no migration file"))
            }
            let file = migrations[index]
            guard file.version == row.version else {
                return .failure(
                    Inconsistency(
                        reason: row.version > file.version
                            ? "version \(file.version) (\(file.name)) is not applied but version \(row.version) is"
                            : "version \(row.version) is applied but has no migration file"))
            }
            guard file.checksum == row.checksum else {
                return .failure(Inconsistency(reason: "version \(row.version) (\(file.name)) was changed after it was applied (checksum differs)"))
            }
        }
        return .success(Array(migrations.dropFirst(applied.count)))
    }
}
