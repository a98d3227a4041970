import AsyncHTTPClient
import Foundation
import Histogram
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Synchronization

/// How a benchmark offers load: a fixed number of clients (closed loop) or a fixed rate (open loop).
public enum LoadShape: Sendable, Equatable, CustomStringConvertible {
    /// `concurrency` clients, each sending its next request as soon as its previous one is answered.
    case closed(concurrency: Int)
    /// Requests started at `rate` a second whatever the answers, with at most `maxOutstanding` in flight.
    case open(rate: Double, maxOutstanding: Int)

    /// Requests that can be in flight at once: the size of the HTTP connection pool and of the baseline's pool.
    public var concurrency: Int {
        switch self {
        case .closed(let concurrency): concurrency
        case .open(_, let maxOutstanding): maxOutstanding
        }
    }

    /// The `key=value` pair naming the shape in a report's last line.
    var keyValue: String {
        switch self {
        case .closed(let concurrency): "concurrency=\(concurrency)"
        case .open(let rate, _): "rate=\(Int(rate))"
        }
    }

    /// The shape in words.
    public var description: String {
        switch self {
        case .closed(let concurrency): "closed loop, \(concurrency) concurrent clients"
        case .open(let rate, let maxOutstanding): "open loop, \(Int(rate))/s, at most \(maxOutstanding) outstanding"
        }
    }
}

/// What one timed operation came to: success (with an optional value such as an event id) or an error kind.
enum LoadOutcome: Sendable {
    case success(String?)
    case failure(String)
}

/// Latencies in microseconds through HdrHistogram (3 significant digits, up to an hour), read back in milliseconds.
struct LatencyHistogram: Sendable {
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    /// Records one latency.
    mutating func record(_ duration: Duration) {
        histogram.record(UInt64(max(1, min(3_600_000_000, duration.microseconds))))
    }

    /// Records one latency given in milliseconds.
    mutating func record(milliseconds: Double) {
        record(.microseconds(Int64(max(0, milliseconds) * 1000)))
    }

    /// Adds another histogram's counts.
    mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    var count: Int { Int(histogram.totalCount) }

    /// The value at `percentile` (0–100) in milliseconds; 0 when empty.
    func milliseconds(atPercentile percentile: Double) -> Double {
        count == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    /// The largest recorded value in milliseconds; 0 when empty.
    var maxMilliseconds: Double { count == 0 ? 0 : Double(histogram.max) / 1000 }
}

/// Counters the load tasks bump and the progress line reads.
final class LoadCounters: Sendable {
    private let succeededCount = Atomic<Int>(0)
    private let failedCount = Atomic<Int>(0)
    private let nextIndex = Atomic<Int>(0)

    var succeeded: Int { succeededCount.load(ordering: .relaxed) }
    var failed: Int { failedCount.load(ordering: .relaxed) }

    /// Counts one outcome.
    func count(_ outcome: LoadOutcome) {
        switch outcome {
        case .success: succeededCount.add(1, ordering: .relaxed)
        case .failure: failedCount.add(1, ordering: .relaxed)
        }
    }

    /// The next request index, shared by the closed loop's clients.
    func takeIndex() -> Int { nextIndex.add(1, ordering: .relaxed).oldValue }
}

/// The figures of one load phase.
struct LoadRun: Sendable {
    var latencies = LatencyHistogram()
    /// The values successes carried (event ids), in no particular order.
    var values: [String] = []
    var succeeded = 0
    var errors: [String: Int] = [:]
    /// From the first request's start to the last answer.
    var elapsed: Duration = .zero
    /// Requests started.
    var started = 0

    /// Folds one outcome and its latency in.
    mutating func add(_ outcome: LoadOutcome, latency: Duration) {
        started += 1
        latencies.record(latency)
        switch outcome {
        case .success(let value):
            succeeded += 1
            if let value { values.append(value) }
        case .failure(let kind):
            errors[kind, default: 0] += 1
        }
    }

    /// Folds another part in.
    mutating func add(_ other: LoadRun) {
        latencies.add(other.latencies)
        values += other.values
        succeeded += other.succeeded
        started += other.started
        errors.merge(other.errors, uniquingKeysWith: +)
    }

    var errorCount: Int { errors.values.reduce(0, +) }
}

/// Runs `total` operations (or fewer, when `duration` ends first) in a closed or an open loop.
///
/// `prepare` builds a request outside the timed span; `execute` is the timed span. In the open loop a latency is
/// measured from the request's intended start, so time spent waiting for a free slot counts (no coordinated omission).
enum LoadDriver {
    /// Drives the load and returns its figures.
    static func run<Prepared: Sendable>(
        shape: LoadShape,
        total: Int,
        duration: Duration?,
        counters: LoadCounters,
        prepare: @escaping @Sendable (Int) -> Prepared,
        execute: @escaping @Sendable (Prepared) async -> LoadOutcome
    ) async -> LoadRun {
        let start = ContinuousClock.now
        let end = duration.map { start + $0 }
        var run: LoadRun
        switch shape {
        case .closed(let concurrency):
            run = await withTaskGroup(of: LoadRun.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var part = LoadRun()
                        while !Task.isCancelled {
                            if let end, ContinuousClock.now >= end { break }
                            let index = counters.takeIndex()
                            if index >= total { break }
                            let prepared = prepare(index)
                            let sent = ContinuousClock.now
                            let outcome = await execute(prepared)
                            let latency = ContinuousClock.now - sent
                            counters.count(outcome)
                            part.add(outcome, latency: latency)
                        }
                        return part
                    }
                }
                return await group.reduce(into: LoadRun()) { $0.add($1) }
            }
        case .open(let rate, let maxOutstanding):
            run = await withTaskGroup(of: (LoadOutcome, Duration).self) { group in
                var run = LoadRun()
                var inFlight = 0
                for index in 0..<total {
                    if Task.isCancelled { break }
                    let intended = start + .nanoseconds(Int64(Double(index) * 1e9 / rate))
                    if let end, intended >= end { break }
                    if intended > ContinuousClock.now {
                        try? await Task.sleep(until: intended, clock: .continuous)
                    }
                    while inFlight >= maxOutstanding, let (outcome, latency) = await group.next() {
                        inFlight -= 1
                        run.add(outcome, latency: latency)
                    }
                    let prepared = prepare(index)
                    group.addTask {
                        let outcome = await execute(prepared)
                        let latency = ContinuousClock.now - intended
                        counters.count(outcome)
                        return (outcome, latency)
                    }
                    inFlight += 1
                }
                for await (outcome, latency) in group {
                    run.add(outcome, latency: latency)
                }
                return run
            }
        }
        run.elapsed = ContinuousClock.now - start
        return run
    }
}

/// A progress line on stderr every second: rewritten in place with `\r` on a terminal, one line each otherwise.
struct ProgressLine: Sendable {
    private let isTerminal = isatty(STDERR_FILENO) == 1

    /// Starts printing `line()` every second until the returned task is cancelled; then ends the line on a terminal.
    func start(_ line: @escaping @Sendable () async -> String) -> Task<Void, Never> {
        let isTerminal = self.isTerminal
        return Task {
            let started = ContinuousClock.now
            var printed = false
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(1)) } catch { break }
                let text = String(format: "[%5.1f s] ", (ContinuousClock.now - started).seconds) + (await line())
                Self.write(isTerminal ? "\r\u{1B}[K" + text : text + "\n")
                printed = true
            }
            if isTerminal && printed { Self.write("\n") }
        }
    }

    /// Writes to stderr.
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// The kind of a failed HTTP request, as reports count it: `http_<status>`, `timeout` or `transport`.
func errorKind(_ error: any Error) -> String {
    if let error = error as? HTTPClientError, [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
        return "timeout"
    }
    return "transport"
}

/// An HTTP client for a benchmark: one pool sized to the load, so requests never queue inside the client.
func makeBenchmarkHTTPClient(connections: Int) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections))
    configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}

/// Opens up to `connections` keep-alive connections to `url` before timing starts, so connecting is not measured.
func warmUp(_ httpClient: HTTPClient, url: String, connections: Int) async {
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<max(1, connections) {
            group.addTask {
                let request = HTTPClientRequest(url: url)
                if let response = try? await httpClient.execute(request, timeout: .seconds(10)) {
                    _ = try? await response.body.collect(upTo: 1 << 20)
                }
            }
        }
    }
}

/// Sends `request` and returns the status and body, or throws the transport error.
func send(_ httpClient: HTTPClient, _ request: HTTPClientRequest, timeout: TimeAmount = .seconds(30)) async throws -> (HTTPResponseStatus, ByteBuffer) {
    let response = try await httpClient.execute(request, timeout: timeout)
    let body = try await response.body.collect(upTo: 1 << 20)
    return (response.status, body)
}

/// The yardstick: single-row autocommit INSERTs per second into PostgreSQL at a given concurrency through PostgresNIO.
enum InsertBaseline {
    /// What the baseline measured.
    struct Result: Sendable {
        var insertsPerSecond: Double
        var rows: Int
        var seconds: Double
        var connections: Int
        var errors: Int
    }

    /// Inserts into a scratch table `bench_baseline` from `concurrency` tasks over a pool of as many connections, until
    /// `rows` rows or `duration` have passed, then drops the table.
    static func run(configuration: PostgresClient.Configuration, concurrency: Int, rows: Int, duration: Duration, logger: Logger) async throws -> Result {
        var configuration = configuration
        configuration.options.maximumConnections = max(1, concurrency)
        configuration.options.minimumConnections = 0
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query("DROP TABLE IF EXISTS bench_baseline", logger: logger)
            try await client.query(
                "CREATE TABLE bench_baseline (id uuid PRIMARY KEY, payload text, created_at timestamptz DEFAULT now())", logger: logger
            )
            // Opens every connection before timing starts.
            try await withThrowingTaskGroup(of: Void.self) { warm in
                for _ in 0..<max(1, concurrency) {
                    warm.addTask { try await client.query("SELECT pg_sleep(0.05)", logger: logger) }
                }
                try await warm.waitForAll()
            }
            // About the size of a login event's row.
            let payload = String(repeating: "x", count: 160)
            let counters = LoadCounters()
            let run = await LoadDriver.run(
                shape: .closed(concurrency: max(1, concurrency)), total: rows, duration: duration, counters: counters,
                prepare: { _ in UUID() },
                execute: { id in
                    do {
                        try await client.query("INSERT INTO bench_baseline (id, payload) VALUES (\(id), \(payload))", logger: logger)
                        return .success(nil)
                    } catch {
                        return .failure("database")
                    }
                }
            )
            _ = try? await client.query("DROP TABLE IF EXISTS bench_baseline", logger: logger)
            let seconds = run.elapsed.seconds
            return Result(
                insertsPerSecond: seconds > 0 ? Double(run.succeeded) / seconds : 0, rows: run.succeeded, seconds: seconds,
                connections: max(1, concurrency), errors: run.errorCount
            )
        }
    }
}

/// Formatting shared by the benchmark reports.
enum ReportFormat {
    /// A figure with `digits` decimals.
    static func number(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

    /// `value` as a ratio to `baseline`, such as `0.52×`; `n/a` without a baseline.
    static func ratio(_ value: Double, to baseline: Double) -> String {
        baseline > 0 ? String(format: "%.2f×", value / baseline) : "n/a"
    }

    /// `kind=count` pairs, sorted; `none` when empty.
    static func errors(_ errors: [String: Int]) -> String {
        errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    /// The duration in whole microseconds.
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
