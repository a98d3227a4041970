import Foundation
import Logging
import Testing
import VaultDevelopment

@Suite("Benchmarks")
struct PipelineBenchmarkTests {
    @Test("bench pipeline in-process with tiny numbers: every accepted callback is stored, the report adds up")
    func pipelineReportIsConsistent() async throws {
        var options = PipelineBenchmark.Options(requests: 40, shape: .closed(concurrency: 4))
        options.gigyaLatencyMilliseconds = 20
        options.workers = 4
        options.baselineSeconds = 0.5
        options.drainTimeout = 90
        options.showProgress = false
        var logger = Logger(label: "bench-pipeline-test")
        logger.logLevel = .error

        let report = try await PipelineBenchmark.run(options, logger: logger)

        #expect(report.posted == 40)
        #expect(report.accepted == 40, "errors: \(report.errors)")
        #expect(report.errors.isEmpty)
        #expect(report.stored == report.accepted)
        #expect(report.lost == 0)
        #expect(report.failed == 0)
        #expect(report.unfinished == 0)
        #expect(report.baselineRows > 0)
        #expect(report.gigyaLatencyMilliseconds == 20)
        #expect(report.workers == 4)
        // The last line carries the keys scripts read, with the values above.
        let last = try #require(report.lines.last)
        let pairs = Dictionary(
            last.split(separator: " ").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }.map { ($0[0], $0.count > 1 ? $0[1] : "") },
            uniquingKeysWith: { first, _ in first }
        )
        for key in ["accepted_per_s", "stored_per_s", "baseline_inserts_per_s", "accept_p99_ms", "stored_p99_ms", "lost"] {
            #expect(pairs[key] != nil, "missing \(key) in: \(last)")
        }
        #expect(pairs["lost"] == "0")
        #expect(pairs["accepted"] == "40")
        #expect(pairs["stored"] == "40")
        #expect(pairs["concurrency"] == "4")
    }
}
