import AsyncHTTPClient
import Foundation
import GigyaEmulator
import GigyaKit
public import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import VaultServer

/// `bench pipeline`: login callbacks accepted per second, sessions stored per second behind a Gigya of a given latency,
/// the latencies of both, and a PostgreSQL insert baseline from the same run that every throughput is divided by.
public enum PipelineBenchmark {
    /// What to run.
    public struct Options: Sendable {
        /// Callbacks to post; with `duration`, the most that will be prepared.
        public var requests: Int
        /// Stop posting after this many seconds (or after `requests`, whichever comes first).
        public var duration: Double?
        public var shape: LoadShape
        /// getSessionInfo's latency in the emulator, in milliseconds (0: none).
        public var gigyaLatencyMilliseconds: Int = 150
        /// `settings.workers` of the self-started server: Gigya calls in flight; nil leaves the server's default.
        public var workers: Int?
        /// A running server to target instead of starting one.
        public var target: BenchmarkTarget?
        public var provider = "facebook"
        /// The longest the baseline runs.
        public var baselineSeconds: Double = 3
        /// The longest the benchmark waits, after the load, for every accepted event to be stored or failed.
        public var drainTimeout: Double = 120
        /// Emulator logins in flight while users are prepared.
        public var preparationConcurrency = 16
        /// The self-started server's log level.
        public var serverLogLevel: Logger.Level = .critical
        /// Prints the progress line to stderr.
        public var showProgress = true

        public init(requests: Int, duration: Double? = nil, shape: LoadShape) {
            self.requests = requests
            self.duration = duration
            self.shape = shape
        }
    }

    /// A run's figures.
    public struct Report: Sendable {
        public var shape: LoadShape
        public var gigyaLatencyMilliseconds: Int?
        public var workers: Int?
        public var posted = 0
        public var accepted = 0
        public var errors: [String: Int] = [:]
        public var loadSeconds = 0.0
        public var acceptedPerSecond = 0.0
        public var acceptP50 = 0.0, acceptP90 = 0.0, acceptP99 = 0.0, acceptMax = 0.0
        public var stored = 0
        public var failed = 0
        /// Accepted events neither stored nor failed when the wait ended.
        public var unfinished = 0
        /// Accepted events not stored: must be 0.
        public var lost: Int { accepted - stored }
        public var storedSeconds = 0.0
        public var storedPerSecond = 0.0
        public var storedP50 = 0.0, storedP90 = 0.0, storedP99 = 0.0, storedMax = 0.0
        public var drainSeconds = 0.0
        public var baselinePerSecond = 0.0
        public var baselineRows = 0
        public var baselineConnections = 0
        public var timestampPrecision = ""
        public var notes: [String] = []

        /// The human-readable lines, then the `key=value` line last.
        public var lines: [String] {
            let f = ReportFormat.number
            var lines = notes.map { "note: \($0)" }
            lines.append(
                baselineRows > 0
                    ? "baseline: \(f(baselinePerSecond, 0)) single-row inserts/s (\(baselineRows) rows, \(baselineConnections) connections)"
                    : "baseline: not measured"
            )
            lines.append(
                "accepted: \(accepted) of \(posted) in \(f(loadSeconds, 2)) s = \(f(acceptedPerSecond, 0))/s "
                    + "(\(ReportFormat.ratio(acceptedPerSecond, to: baselinePerSecond)) baseline)"
            )
            lines.append("accept latency ms: p50=\(f(acceptP50, 2)) p90=\(f(acceptP90, 2)) p99=\(f(acceptP99, 2)) max=\(f(acceptMax, 2))")
            lines.append(
                "stored: \(stored) in \(f(storedSeconds, 2)) s from the first accept = \(f(storedPerSecond, 0))/s "
                    + "(\(ReportFormat.ratio(storedPerSecond, to: baselinePerSecond)) baseline); failed=\(failed) unfinished=\(unfinished)"
            )
            lines.append(
                "accept-to-stored latency ms: p50=\(f(storedP50, 1)) p90=\(f(storedP90, 1)) p99=\(f(storedP99, 1)) max=\(f(storedMax, 1))"
                    + " (timestamps: \(timestampPrecision))"
            )
            lines.append("errors: \(ReportFormat.errors(errors)); lost=\(lost) (accepted but not stored; must be 0)")
            lines.append(keyValueLine)
            return lines
        }

        /// The last line: `key=value` pairs.
        public var keyValueLine: String {
            let f = ReportFormat.number
            var pairs = [
                "accepted_per_s=\(f(acceptedPerSecond, 0))",
                "stored_per_s=\(f(storedPerSecond, 0))",
                "baseline_inserts_per_s=\(f(baselinePerSecond, 0))",
                "accepted_ratio=\(baselinePerSecond > 0 ? f(acceptedPerSecond / baselinePerSecond, 3) : "n/a")",
                "stored_ratio=\(baselinePerSecond > 0 ? f(storedPerSecond / baselinePerSecond, 3) : "n/a")",
                "accept_p50_ms=\(f(acceptP50, 2))",
                "accept_p90_ms=\(f(acceptP90, 2))",
                "accept_p99_ms=\(f(acceptP99, 2))",
                "accept_max_ms=\(f(acceptMax, 2))",
                "stored_p50_ms=\(f(storedP50, 1))",
                "stored_p99_ms=\(f(storedP99, 1))",
                "accepted=\(accepted)",
                "stored=\(stored)",
                "lost=\(lost)",
                "failed=\(failed)",
                "errors=\(errors.values.reduce(0, +))",
                shape.keyValue,
            ]
            if let gigyaLatencyMilliseconds { pairs.append("gigya_latency_ms=\(gigyaLatencyMilliseconds)") }
            if let workers { pairs.append("workers=\(workers)") }
            return pairs.joined(separator: " ")
        }
    }

    /// Runs the benchmark: against `options.target`, or against a private stack it starts and stops.
    public static func run(_ options: Options, logger: Logger) async throws -> Report {
        if let target = options.target {
            return try await measure(options, target: target, baseline: nil, workers: nil, logger: logger)
        }
        let state = temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let stack = try await DevelopmentStack.start(stateDirectory: state, logger: logger)
        do {
            // Measured first, before the server holds any connection, over the same PostgreSQL (fsync on).
            let baseline = try await measureBaseline(options, databaseURL: stack.databaseURL, logger: logger)
            var settings = ServerSettings()
            if let workers = options.workers { settings.workers = workers }
            var serverLogger = logger
            serverLogger.logLevel = options.serverLogLevel
            let server = try await startServer(stack: stack, settings: settings, logger: serverLogger)
            let target = BenchmarkTarget(
                serverURL: server.url, siteAPIKey: stack.site.apiKey, siteSecret: stack.site.partnerSecret, emulatorURL: stack.emulatorURL,
                emulatorToken: stack.emulatorToken, databaseURL: stack.databaseURL
            )
            let report: Report
            do {
                report = try await measure(options, target: target, baseline: baseline, workers: settings.workers, logger: logger)
            } catch {
                server.task.cancel()
                _ = await server.task.result
                throw error
            }
            server.task.cancel()
            _ = await server.task.result
            await stack.stop()
            return report
        } catch {
            await stack.stop()
            throw error
        }
    }

    /// The insert baseline at the load's concurrency for `baselineSeconds`; PostgreSQL's default 100 connections cap the pool at 90.
    private static func measureBaseline(_ options: Options, databaseURL: String, logger: Logger) async throws -> InsertBaseline.Result {
        let connections = min(options.shape.concurrency, 90)
        var quiet = logger
        quiet.logLevel = .critical
        return try await InsertBaseline.run(
            configuration: try DatabaseURL.configuration(from: databaseURL), concurrency: connections, rows: 10_000_000,
            duration: .milliseconds(Int64(options.baselineSeconds * 1000)), logger: quiet
        )
    }

    /// Prepares users, drives the load, waits for the workers and reads every accepted event's timestamps.
    private static func measure(
        _ options: Options,
        target: BenchmarkTarget,
        baseline: InsertBaseline.Result?,
        workers: Int?,
        logger: Logger
    ) async throws -> Report {
        var report = Report(shape: options.shape)
        report.workers = workers
        var baseline = baseline
        var quiet = logger
        quiet.logLevel = .critical

        let httpClient = makeBenchmarkHTTPClient(connections: options.shape.concurrency)
        var databaseClient: PostgresClient?
        var databaseTask: Task<Void, Never>?
        if let databaseURL = target.databaseURL {
            if baseline == nil {
                baseline = try await measureBaseline(options, databaseURL: databaseURL, logger: logger)
            }
            let client = PostgresClient(configuration: try DatabaseURL.configuration(from: databaseURL), backgroundLogger: quiet)
            databaseClient = client
            databaseTask = Task { await client.run() }
        } else {
            report.notes.append("no database given: no insert baseline, and event timestamps come from the API")
        }
        if let baseline {
            report.baselinePerSecond = baseline.insertsPerSecond
            report.baselineRows = baseline.rows
            report.baselineConnections = baseline.connections
        }
        let emulator = target.emulatorURL.map { EmulatorControl(baseURL: $0, token: target.emulatorToken, httpClient: httpClient) }
        var installedFault = false
        do {
            defer {
                databaseTask?.cancel()
            }
            let runID = UUID().uuidString.prefix(8).lowercased()
            let uids = (0..<options.requests).map { "bench-\(runID)-\($0)" }
            let logins: [EmulatorLoginResult]
            if let emulator {
                if options.gigyaLatencyMilliseconds > 0 {
                    try await emulator.setSessionLatency(milliseconds: options.gigyaLatencyMilliseconds)
                    installedFault = true
                }
                report.gigyaLatencyMilliseconds = options.gigyaLatencyMilliseconds
                logins = try await emulator.createUsers(
                    uids, provider: options.provider, apiKey: target.siteAPIKey, concurrency: options.preparationConcurrency
                )
            } else {
                logins = []
                report.notes.append("no emulator given: users are unknown to Gigya unless the server's Gigya knows them")
            }
            let secret = try target.siteSecret.map { try GigyaSecret(base64: $0) }
            if secret == nil && logins.isEmpty {
                throw BenchmarkFailure.preparation("give the site secret or the emulator, to sign the login results")
            }

            let ledger: any EventLedger
            if let databaseClient {
                ledger = DatabaseEventLedger(client: databaseClient, logger: quiet)
            } else if let accessKey = target.accessKey {
                ledger = HTTPEventLedger(httpClient: httpClient, serverURL: target.serverURL, accessKey: accessKey)
            } else {
                throw BenchmarkFailure.preparation("give the database URL or an access key with events:read, to see the events stored")
            }
            report.timestampPrecision = ledger.precision

            await warmUp(httpClient, url: "\(target.serverURL)/health/live", connections: options.shape.concurrency)
            let storedAtStart = await storedCounter(httpClient, serverURL: target.serverURL) ?? 0
            let counters = LoadCounters()
            let progress =
                options.showProgress
                ? ProgressLine().start {
                    let stored = await storedCounter(httpClient, serverURL: target.serverURL).map { String($0 - storedAtStart) } ?? "?"
                    return "accepted=\(counters.succeeded) stored=\(stored) errors=\(counters.failed)"
                } : nil
            let provider = options.provider
            let apiKey = target.siteAPIKey
            let url = "\(target.serverURL)/v1/login-callbacks"
            let run = await LoadDriver.run(
                shape: options.shape, total: options.requests, duration: options.duration.map { .milliseconds(Int64($0 * 1000)) },
                counters: counters,
                prepare: { index in
                    let uid = uids[index]
                    let timestamp: String
                    let signature: String
                    if let secret {
                        // Signed just before posting, so a long run never leaves the signature window.
                        timestamp = String(Int64(Date().timeIntervalSince1970))
                        signature = secret.signature(for: SignatureBase.user(timestamp: timestamp, uid: uid))
                    } else {
                        timestamp = logins[index].signatureTimestamp
                        signature = logins[index].UIDSignature
                    }
                    var request = HTTPClientRequest(url: url)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(callbackBody(uid: uid, signature: signature, timestamp: timestamp, provider: provider, apiKey: apiKey))
                    return request
                },
                execute: { request in
                    do {
                        let (status, body) = try await send(httpClient, request)
                        guard status == .accepted || status == .ok else { return .failure("http_\(status.code)") }
                        return .success(eventID(in: body))
                    } catch {
                        return .failure(errorKind(error))
                    }
                }
            )
            progress?.cancel()
            _ = await progress?.value

            report.posted = run.started
            report.accepted = run.succeeded
            report.errors = run.errors
            report.loadSeconds = run.elapsed.seconds
            report.acceptedPerSecond = report.loadSeconds > 0 ? Double(run.succeeded) / report.loadSeconds : 0
            report.acceptP50 = run.latencies.milliseconds(atPercentile: 50)
            report.acceptP90 = run.latencies.milliseconds(atPercentile: 90)
            report.acceptP99 = run.latencies.milliseconds(atPercentile: 99)
            report.acceptMax = run.latencies.maxMilliseconds
            let ids = run.values.compactMap { UUID(uuidString: $0) }
            if ids.count != run.succeeded {
                report.notes.append("\(run.succeeded - ids.count) accepted callbacks carried no readable eventId")
            }

            let drained = try await drain(ids, ledger: ledger, timeout: options.drainTimeout, showProgress: options.showProgress)
            report.drainSeconds = drained.seconds
            fill(&report, states: drained.states)
            if installedFault, let emulator { await emulator.clearFaults() }
        } catch {
            if installedFault, let emulator { await emulator.clearFaults() }
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
        return report
    }

    /// Waits, at most `timeout` seconds, until every event is stored or failed; returns the last states read.
    private static func drain(
        _ ids: [UUID],
        ledger: any EventLedger,
        timeout: Double,
        showProgress: Bool
    ) async throws -> (states: [UUID: EventState], seconds: Double) {
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int64(timeout * 1000))
        var states: [UUID: EventState] = [:]
        var open = ids
        var lastPrint = started
        let isTerminal = isatty(STDERR_FILENO) == 1
        while true {
            let read = try await ledger.states(open)
            states.merge(read) { _, new in new }
            open = open.filter { states[$0]?.isFinished != true }
            if open.isEmpty || ContinuousClock.now >= deadline { break }
            if showProgress && ContinuousClock.now - lastPrint >= .seconds(1) {
                lastPrint = ContinuousClock.now
                let stored = states.values.count(where: { $0.status == "stored" })
                let text = String(
                    format: "[drain %5.1f s] stored=%d failed=%d waiting=%d", (ContinuousClock.now - started).seconds, stored,
                    states.values.count(where: { $0.status == "failed" }), open.count
                )
                ProgressLine.write(isTerminal ? "\r\u{1B}[K" + text : text + "\n")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        if showProgress && isTerminal && lastPrint != started { ProgressLine.write("\n") }
        return (states, (ContinuousClock.now - started).seconds)
    }

    /// Fills the stored figures from the events' final states.
    private static func fill(_ report: inout Report, states: [UUID: EventState]) {
        var latencies = LatencyHistogram()
        var firstAccept: Date?
        var lastStored: Date?
        for state in states.values {
            switch state.status {
            case "stored":
                report.stored += 1
                if let completedAt = state.completedAt {
                    latencies.record(milliseconds: completedAt.timeIntervalSince(state.createdAt) * 1000)
                    lastStored = max(lastStored ?? completedAt, completedAt)
                }
            case "failed":
                report.failed += 1
            default:
                break
            }
            firstAccept = min(firstAccept ?? state.createdAt, state.createdAt)
        }
        report.unfinished = report.accepted - report.stored - report.failed
        if let firstAccept, let lastStored {
            report.storedSeconds = max(0, lastStored.timeIntervalSince(firstAccept))
            report.storedPerSecond = report.storedSeconds > 0 ? Double(report.stored) / report.storedSeconds : 0
        }
        report.storedP50 = latencies.milliseconds(atPercentile: 50)
        report.storedP90 = latencies.milliseconds(atPercentile: 90)
        report.storedP99 = latencies.milliseconds(atPercentile: 99)
        report.storedMax = latencies.maxMilliseconds
    }

    /// The `eventId` of a 202 or 200 answer, read without a full JSON decode.
    private static func eventID(in body: ByteBuffer) -> String? {
        let text = String(buffer: body)
        guard let key = text.range(of: "\"eventId\":\"") else { return nil }
        let rest = text[key.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}
