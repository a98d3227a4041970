import ArgumentParser
import Foundation
import Logging
import VaultDevelopment

/// `bench intake`: login callbacks accepted durably per second over HTTP, group commit against one commit per request.
struct BenchIntake: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intake",
        abstract: "Durable login-callback intake per second over HTTP into a private PostgreSQL (group commit vs. none)."
    )

    @Option(help: "Callbacks posted per configuration.")
    var requests = 5_000

    @Option(help: "Concurrent HTTP clients.")
    var concurrency = 64

    @Option(help: "Comma-separated intake batch sizes to compare (1 = one commit per request).")
    var batchSizes = "256,1"

    func run() async throws {
        let sizes = batchSizes.split(separator: ",").compactMap { Int($0) }
        guard requests > 0, concurrency > 0, !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--requests, --concurrency and --batch-sizes must be positive")
        }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("session-vault-bench-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        // Each configuration's server is stopped by cancellation, which Hummingbird reports as errors: only critical ones
        // matter to a benchmark.
        var logger = Logger(label: "session-vault.bench")
        logger.logLevel = .critical
        print("private PostgreSQL under \(state); \(requests) callbacks, \(concurrency) concurrent clients, intake only (no workers)")
        let reports = try await IntakeBenchmark.run(stateDirectory: state, requests: requests, concurrency: concurrency, batchSizes: sizes, logger: logger)
        for report in reports {
            print(
                String(
                    format: "max_batch=%-4d accepted_per_s=%8.0f p50_ms=%6.2f p99_ms=%7.2f seconds=%.2f failures=%d",
                    report.maxBatch, report.acceptedPerSecond, report.p50Milliseconds, report.p99Milliseconds, report.seconds, report.failures
                )
            )
        }
        print(reports.map { "intake_per_s_batch\($0.maxBatch)=\(Int($0.acceptedPerSecond))" }.joined(separator: " "))
    }
}
