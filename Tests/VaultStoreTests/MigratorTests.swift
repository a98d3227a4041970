import Foundation
import Logging
import PostgresNIO
import Testing
import VaultTesting

@testable import VaultStore

/// The forward-only migrator against real, initially empty databases.
@Suite struct MigratorTests {
    static let logger = Logger(label: "test.migrator")

    /// Writes `files` (name → SQL) into a fresh temporary directory and loads them.
    static func migrations(_ files: [String: String]) throws -> [Migration] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sv-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, sql) in files { try sql.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return try Migrator.load(directory: directory.path)
    }

    /// Whether a table exists in the test database.
    static func tableExists(_ name: String, _ client: PostgresClient) async throws -> Bool {
        let rows = try await client.query("SELECT to_regclass(\(name)) IS NOT NULL")
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    static let one = "0001_first.sql"
    static let two = "0002_second.sql"

    @Test func theRepositoryMigrationsApplyToAnEmptyDatabaseAndThenAreUpToDate() async throws {
        try await withTestDatabase(migrated: false) { db in
            let migrations = try Migrator.load(directory: SQLMigrations.sourceDirectory)
            let migrator = Migrator(client: db.client, migrations: migrations, logger: Self.logger)
            #expect(try await migrator.status() == .pending(migrations))
            let applied = try await migrator.migrate(dryRun: false)
            #expect(applied.map(\.version) == migrations.map(\.version))
            for table in ["login_events", "replay_keys", "provider_sessions", "api_keys", "audit_log", "schema_migrations"] {
                #expect(try await Self.tableExists(table, db.client), "\(table)")
            }
            #expect(try await migrator.status() == .upToDate(migrations.last?.version ?? 0))
            #expect(try await migrator.migrate(dryRun: false).isEmpty)
        }
    }

    @Test("sessions stored under a provider name with capitals are readable under the lower-case name after 0007 and the start's re-sealing; the newer fetch wins a clash")
    func providerNamesMoveReSealed() async throws {
        try await withTestDatabase(migrated: false) { db in
            let migrations = try Migrator.load(directory: SQLMigrations.sourceDirectory)
            try await Migrator(client: db.client, migrations: migrations.filter { $0.version < 7 }, logger: Self.logger).migrate(dryRun: false)
            let store = Fixtures.store(db)
            let earlier = Date().addingTimeInterval(-60)
            for (uid, provider, token, fetchedAt) in [
                ("a", "Facebook", "tok-a", Date()), ("b", "Google", "old-b", earlier), ("b", "google", "new-b", Date()),
                ("c", "Twitter", "new-c", Date()), ("c", "twitter", "old-c", earlier),
            ] {
                try await store.upsert(Fixtures.session(uid: uid, provider: provider, token: token, fetchedAt: fetchedAt), eventID: nil, fetchStartedAt: fetchedAt)
            }
            try await Migrator(client: db.client, migrations: migrations, logger: Self.logger).migrate(dryRun: false)
            let moved = try await store.normalizeProviderNames(batchSize: 2)
            #expect(moved.moved == 3 && moved.unopenable.isEmpty)
            #expect(try await store.session(site: "3_site", uid: "a", provider: "facebook")?.authToken == "tok-a")
            #expect(try await store.session(site: "3_site", uid: "b", provider: "google")?.authToken == "new-b")
            #expect(try await store.session(site: "3_site", uid: "c", provider: "twitter")?.authToken == "new-c")
            let rows = try await db.client.query("SELECT count(*)::int FROM provider_sessions WHERE provider <> lower(provider)", logger: Self.logger)
            for try await count in rows.decode(Int.self) { #expect(count == 0) }
            #expect(try await store.normalizeProviderNames().moved == 0)
        }
    }

    @Test func theTemplateDatabaseIsAlreadyCurrent() async throws {
        try await withTestDatabase { db in
            let migrations = try Migrator.load(directory: SQLMigrations.sourceDirectory)
            #expect(try await Migrator(client: db.client, migrations: migrations, logger: Self.logger).status() == .upToDate(migrations.count))
        }
    }

    @Test func aDryRunReportsPendingMigrationsAndAppliesNothing() async throws {
        try await withTestDatabase(migrated: false) { db in
            let migrations = try Self.migrations([Self.one: "CREATE TABLE a (id int);", Self.two: "CREATE TABLE b (id int);"])
            let migrator = Migrator(client: db.client, migrations: migrations, logger: Self.logger)
            #expect(try await migrator.migrate(dryRun: true).map(\.version) == [1, 2])
            #expect(try await !Self.tableExists("a", db.client))
            #expect(try await !Self.tableExists("schema_migrations", db.client))
            #expect(try await migrator.status() == .pending(migrations))
        }
    }

    @Test func onlyTheNewFilesApplyOnTheNextRun() async throws {
        try await withTestDatabase(migrated: false) { db in
            let first = try Self.migrations([Self.one: "CREATE TABLE a (id int);"])
            try await Migrator(client: db.client, migrations: first, logger: Self.logger).migrate(dryRun: false)
            let both = try Self.migrations([Self.one: "CREATE TABLE a (id int);", Self.two: "CREATE TABLE b (id int);"])
            let migrator = Migrator(client: db.client, migrations: both, logger: Self.logger)
            #expect(try await migrator.status() == .pending([both[1]]))
            #expect(try await migrator.migrate(dryRun: false).map(\.version) == [2])
            #expect(try await migrator.status() == .upToDate(2))
        }
    }

    @Test func aChangedAppliedFileIsInconsistentAndNamesTheVersion() async throws {
        try await withTestDatabase(migrated: false) { db in
            try await Migrator(client: db.client, migrations: Self.migrations([Self.one: "CREATE TABLE a (id int);"]), logger: Self.logger)
                .migrate(dryRun: false)
            let changed = Migrator(
                client: db.client, migrations: try Self.migrations([Self.one: "CREATE TABLE a (id bigint);"]), logger: Self.logger)
            guard case .inconsistent(let reason) = try await changed.status() else {
                Issue.record("expected inconsistent")
                return
            }
            #expect(reason.contains("version 1"))
            #expect(reason.contains("checksum"))
            await #expect(throws: MigrationError.self) { try await changed.migrate(dryRun: false) }
        }
    }

    @Test func appliedVersionsThatAreNotAPrefixOfTheFilesAreInconsistent() async throws {
        try await withTestDatabase(migrated: false) { db in
            let oneAndThree = try Self.migrations([Self.one: "CREATE TABLE a (id int);", "0003_third.sql": "CREATE TABLE c (id int);"])
            try await Migrator(client: db.client, migrations: oneAndThree, logger: Self.logger).migrate(dryRun: false)
            let withGap = try Self.migrations([
                Self.one: "CREATE TABLE a (id int);", Self.two: "CREATE TABLE b (id int);", "0003_third.sql": "CREATE TABLE c (id int);",
            ])
            #expect(
                try await Migrator(client: db.client, migrations: withGap, logger: Self.logger).status()
                    == .inconsistent("version 2 (second) is not applied but version 3 is"))
            let missingFile = try Self.migrations([Self.one: "CREATE TABLE a (id int);"])
            #expect(
                try await Migrator(client: db.client, migrations: missingFile, logger: Self.logger).status()
                    == .inconsistent("version 3 is applied but has no migration file"))
            await #expect(throws: MigrationError.inconsistent("version 2 (second) is not applied but version 3 is")) {
                try await Migrator(client: db.client, migrations: withGap, logger: Self.logger).migrate(dryRun: false)
            }
            #expect(try await !Self.tableExists("b", db.client))
        }
    }

    @Test func twoConcurrentRunsApplyEachMigrationOnce() async throws {
        try await withTestDatabase(migrated: false) { db in
            // The sleep keeps the first run inside its lock while the second one arrives.
            let migrations = try Self.migrations([Self.one: "SELECT pg_sleep(0.3);\nCREATE TABLE a (id int);"])
            async let first = Migrator(client: db.client, migrations: migrations, logger: Self.logger).migrate(dryRun: false)
            async let second = Migrator(client: db.client, migrations: migrations, logger: Self.logger).migrate(dryRun: false)
            let counts = try await [first.count, second.count]
            #expect(counts.sorted() == [0, 1])
            let rows = try await db.client.query("SELECT count(*) FROM schema_migrations")
            for try await count in rows.decode(Int.self) { #expect(count == 1) }
        }
    }

    @Test func aFailingStatementRollsBackItsWholeFile() async throws {
        try await withTestDatabase(migrated: false) { db in
            let migrations = try Self.migrations([Self.one: "CREATE TABLE a (id int);\nCREATE TABLE a (id int);"])
            await #expect {
                try await Migrator(client: db.client, migrations: migrations, logger: Self.logger).migrate(dryRun: false)
            } throws: { error in
                guard case MigrationError.statementFailed(version: 1, statement: 2, let message) = error else { return false }
                return message.contains("already exists")
            }
            #expect(try await !Self.tableExists("a", db.client))
            #expect(try await Migrator(client: db.client, migrations: migrations, logger: Self.logger).status() == .pending(migrations))
        }
    }

    @Test func badFileNamesAndDuplicateVersionsAreRejected() throws {
        #expect(throws: MigrationError.invalidFileName("first.sql")) { try Self.migrations(["first.sql": "SELECT 1;"]) }
        #expect(throws: MigrationError.duplicateVersion(1)) {
            try Self.migrations([Self.one: "SELECT 1;", "0001_again.sql": "SELECT 2;"])
        }
        let loaded = try Self.migrations([Self.two: "SELECT 2;", Self.one: "SELECT 1;", "README.md": "not sql"])
        #expect(loaded.map(\.version) == [1, 2])
        #expect(loaded[0].name == "first")
        // sha256sum of the file bytes, as `printf 'SELECT 1;' | sha256sum` prints it.
        #expect(loaded[0].checksum == "17db4fd369edb9244b9f91d9aeed145c3d04ad8ba6e95d06247f07a63527d11a")
    }

    @Test func theDirectoryIsFoundFromAnExplicitPathOrTheSourceTree() throws {
        #expect(try Migrator.locateDirectory(explicit: SQLMigrations.sourceDirectory) == SQLMigrations.sourceDirectory)
        #expect(throws: MigrationError.directoryNotFound(tried: ["/nonexistent/sql"])) {
            try Migrator.locateDirectory(explicit: "/nonexistent/sql")
        }
        let found = try Migrator.locateDirectory(explicit: nil)
        #expect(FileManager.default.fileExists(atPath: found + "/0001_initial.sql"))
    }

    @Test func statementsSplitOutsideQuotesCommentsAndDollarBodies() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE t (v text DEFAULT 'a;b');
            /* block; comment /* nested; */ still; */
            CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;
            SELECT $1; SELECT "we;ird", 'it''s;';
            -- trailing comment only
            """
        let statements = SQLStatementSplitter.split(sql)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("CREATE TABLE t (v text DEFAULT 'a;b')"))
        #expect(statements[1].hasPrefix("/* block; comment /* nested; */ still; */"))
        #expect(statements[1].hasSuffix("$body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql"))
        #expect(statements[2] == "SELECT $1")
        #expect(statements[3] == "SELECT \"we;ird\", 'it''s;'")
    }
}
