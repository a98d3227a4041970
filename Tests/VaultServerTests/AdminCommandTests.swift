import Dispatch
import Foundation
import GigyaEmulator
import Synchronization
import Testing
import VaultDevelopment
import VaultServer
import VaultStore
import VaultTesting

/// `session-vault admin reconcile`, run as the real executable against a seeded world.
@Suite("admin reconcile (command line)")
struct AdminCommandTests {
    /// Runs the executable off Swift's cooperative threads with `environment` added; returns its status and output.
    static func run(_ arguments: [String], environment extra: [String: String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try #require(FileManager.default.isExecutableFile(atPath: GigyaCallCommandTests.binary), "run `swift build` before `swift test`")
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: GigyaCallCommandTests.binary)
                process.arguments = arguments
                var environment = ProcessInfo.processInfo.environment
                for name in ["GIGYA_API_KEY", "GIGYA_SECRET", "GIGYA_USER_KEY", "GIGYA_BASE_URL", "GIGYA_API_DOMAIN", "GIGYA_SITES", "DATABASE_URL"] {
                    environment[name] = nil
                }
                environment.merge(extra) { _, new in new }
                process.environment = environment
                let output = Pipe()
                let errors = Pipe()
                process.standardOutput = output
                process.standardError = errors
                process.standardInput = FileHandle.nullDevice
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                let stderrData = Mutex<Data>(Data())
                let group = DispatchGroup()
                group.enter()
                DispatchQueue.global().async {
                    stderrData.withLock { $0 = errors.fileHandleForReading.readDataToEndOfFile() }
                    group.leave()
                }
                let stdout = output.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                continuation.resume(returning: (
                    process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderrData.withLock { $0 }, as: UTF8.self)
                ))
            }
        }
    }

    @Test("a dry run prints every category as JSON and CSV; --repair fixes; flags are checked")
    func reconcileFromTheCommandLine() async throws {
        try await VaultHarness.with { harness in
            let seeded = try await ReconciliationPopulation.seed(
                vault: harness.vault, site: harness.site.apiKey, emulator: harness.emulatorControl, tag: "cli")
            let environment = [
                "DATABASE_URL": harness.database.url, "DATA_KEYS": VaultHarness.dataKeys, "GIGYA_API_KEY": harness.site.apiKey,
                "GIGYA_SECRET": harness.site.partnerSecret, "GIGYA_BASE_URL": harness.emulator.baseURL,
                "SQL_DIRECTORY": SQLMigrations.sourceDirectory,
            ]
            let json = try await Self.run(["admin", "reconcile", "--format", "json"], environment: environment)
            #expect(json.status == 0, "\(json.stderr)")
            let reports = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            let items = try #require(reports.first?["items"] as? [[String: Any]])
            for (category, count) in seeded.counts {
                #expect(items.filter { $0["category"] as? String == category.rawValue }.count == count, "\(category)")
            }
            #expect(!json.stdout.contains(harness.site.partnerSecret) && !json.stderr.contains(harness.site.partnerSecret))

            let csv = try await Self.run(["admin", "reconcile", "--dry-run", "--format", "csv"], environment: environment)
            #expect(csv.status == 0)
            let lines = csv.stdout.split(separator: "\n")
            #expect(lines.first == "run,site,category,key,uid,site_uid,gigya_uid,gigya_code,detail,action")
            #expect(lines.count == 1 + items.count)

            let table = try await Self.run(["admin", "reconcile", "--repair", "--purge-orphans"], environment: environment)
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("re-sent: linked"))
            let after = try await Self.run(["admin", "reconcile", "--format", "json"], environment: environment)
            let clean = try #require((try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [[String: Any]])?.first?["items"] as? [[String: Any]])
            #expect(clean.allSatisfy { !["pending", "failed", "drift", "orphan"].contains($0["category"] as? String ?? "") })

            let bad = try await Self.run(["admin", "reconcile", "--dry-run", "--repair"], environment: environment)
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("at most one of --dry-run and --repair"))
            let unknown = try await Self.run(["admin", "reconcile", "--site", "3_nope"], environment: environment)
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("not configured"))
        }
    }
}
