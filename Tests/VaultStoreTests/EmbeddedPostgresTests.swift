import Foundation
import Logging
import PostgresNIO
import Testing
import LocalPostgres
import VaultStore

/// The embedded server used by zero-config `serve`: init, start, reuse, stop, and the error when PostgreSQL is absent.
@Suite struct EmbeddedPostgresTests {
    static let logger = Logger(label: "test.embedded")

    @Test func missingBinariesAreReportedWithTheInstallHint() async throws {
        let postgres = EmbeddedPostgres(dataDirectory: "/tmp/sv-never-created/data", logger: Self.logger, searchPath: ["/nonexistent/bin"])
        await #expect {
            _ = try await postgres.start()
        } throws: { error in
            let text = String(describing: error)
            return text.contains("PostgreSQL server binaries (initdb, pg_ctl) not found")
                && text.contains("apt-get install postgresql") && text.contains("brew install postgresql@15") && text.contains("DATABASE_URL")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/sv-never-created"))
    }

    @Test func startingTwiceOnOneDirectoryReusesTheRunningServer() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sv-embedded-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        _ = chmod(root, 0o755)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let postgres = EmbeddedPostgres(dataDirectory: root + "/data", logger: Self.logger, fsync: false)
        let first = try await postgres.start()
        do {
            let second = try await EmbeddedPostgres(dataDirectory: root + "/data", logger: Self.logger).start()
            #expect(second.port == first.port)
            #expect(first.url(database: "postgres") == "postgres://postgres@127.0.0.1:\(first.port)/postgres")
            let client = PostgresClient(configuration: second.clientConfiguration(database: "postgres"), backgroundLogger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                let rows = try await client.query("SELECT current_user, current_setting('listen_addresses')")
                for try await (user, listen) in rows.decode((String, String).self) {
                    #expect(user == "postgres")
                    #expect(listen == "127.0.0.1")
                }
            }
            #expect(FileManager.default.fileExists(atPath: postgres.logFile))
        } catch {
            try? await postgres.stop()
            throw error
        }
        try await postgres.stop()
        #expect(!FileManager.default.fileExists(atPath: root + "/data/postmaster.pid"))
        // A stopped server on an initialised directory starts again without initdb.
        let third = try await postgres.start()
        #expect(third.port > 0)
        try await postgres.stop()
    }
}
