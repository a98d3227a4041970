import AsyncHTTPClient
import Foundation
import GigyaEmulator
public import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import VaultServer
import VaultStore

/// `bench reads`: token reads (`GET /v1/users/{uid}/sessions/{provider}`) per second and their latency at a fixed rate.
public enum ReadsBenchmark {
    /// What to run.
    public struct Options: Sendable {
        /// Reads started per second (open loop).
        public var rate: Double = 1000
        public var duration: Double = 10
        /// Users with a stored session, read in turn.
        public var users = 200
        /// The most reads in flight; also the HTTP connection pool's size.
        public var maxOutstanding = 64
        /// A running server to target instead of starting one; needs an emulator URL to prepare its users.
        public var target: BenchmarkTarget?
        public var provider = "facebook"
        /// The longest the preparation waits for the users' sessions to be stored.
        public var preparationTimeout: Double = 120
        /// The self-started server's log level.
        public var serverLogLevel: Logger.Level = .critical
        /// Prints the progress line to stderr.
        public var showProgress = true

        public init() {}
    }

    /// A run's figures.
    public struct Report: Sendable {
        public var targetRate = 0.0
        public var users = 0
        public var started = 0
        public var succeeded = 0
        public var errors: [String: Int] = [:]
        public var seconds = 0.0
        public var readsPerSecond = 0.0
        public var p50 = 0.0, p90 = 0.0, p99 = 0.0, max = 0.0

        /// The human-readable lines, then the `key=value` line last.
        public var lines: [String] {
            let f = ReportFormat.number
            return [
                "reads: \(succeeded) of \(started) in \(f(seconds, 2)) s = \(f(readsPerSecond, 0))/s (target \(f(targetRate, 0))/s, \(users) users)",
                "read latency ms (from each read's scheduled start): p50=\(f(p50, 2)) p90=\(f(p90, 2)) p99=\(f(p99, 2)) max=\(f(max, 2))",
                "errors: \(ReportFormat.errors(errors))",
                keyValueLine,
            ]
        }

        /// The last line: `key=value` pairs.
        public var keyValueLine: String {
            let f = ReportFormat.number
            return [
                "reads_per_s=\(f(readsPerSecond, 0))",
                "read_p50_ms=\(f(p50, 2))",
                "read_p90_ms=\(f(p90, 2))",
                "read_p99_ms=\(f(p99, 2))",
                "read_max_ms=\(f(max, 2))",
                "errors=\(errors.values.reduce(0, +))",
                "target_rate=\(f(targetRate, 0))",
                "users=\(users)",
            ].joined(separator: " ")
        }
    }

    /// Runs the benchmark: against `options.target`, or against a private stack it starts and stops.
    public static func run(_ options: Options, logger: Logger) async throws -> Report {
        if let target = options.target {
            return try await measure(options, target: target, logger: logger)
        }
        let state = temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let stack = try await DevelopmentStack.start(stateDirectory: state, logger: logger)
        do {
            var serverLogger = logger
            serverLogger.logLevel = options.serverLogLevel
            let key = KeyBox()
            let server = try await startServer(stack: stack, settings: ServerSettings(), logger: serverLogger) { _, vault in
                key.value = try? await vault.store.createKey(name: "bench-reads-\(UUID().uuidString.prefix(8))", scopes: ["sessions:read"], sites: .all).plaintext
            }
            let report: Result<Report, any Error>
            if let accessKey = key.value {
                let target = BenchmarkTarget(
                    serverURL: server.url, siteAPIKey: stack.site.apiKey, accessKey: accessKey, emulatorURL: stack.emulatorURL, emulatorToken: stack.emulatorToken)
                do {
                    report = .success(try await measure(options, target: target, logger: logger))
                } catch {
                    report = .failure(error)
                }
            } else {
                report = .failure(BenchmarkFailure.preparation("could not create an access key"))
            }
            server.task.cancel()
            _ = await server.task.result
            await stack.stop()
            return try report.get()
        } catch {
            await stack.stop()
            throw error
        }
    }

    /// Prepares the users' sessions through the pipeline, then reads them at the target rate.
    private static func measure(_ options: Options, target: BenchmarkTarget, logger: Logger) async throws -> Report {
        guard let accessKey = target.accessKey else { throw BenchmarkFailure.preparation("an access key with sessions:read is required") }
        guard let emulatorURL = target.emulatorURL else {
            throw BenchmarkFailure.preparation("the emulator URL is required to prepare the users' sessions")
        }
        let httpClient = makeBenchmarkHTTPClient(connections: options.maxOutstanding)
        do {
            let uids = try await prepare(options, target: target, emulatorURL: emulatorURL, accessKey: accessKey, httpClient: httpClient)
            await warmUp(httpClient, url: "\(target.serverURL)/health/live", connections: options.maxOutstanding)
            let counters = LoadCounters()
            let progress = options.showProgress ? ProgressLine().start { "reads=\(counters.succeeded) errors=\(counters.failed)" } : nil
            let total = Int((options.rate * options.duration).rounded(.up))
            let run = await LoadDriver.run(
                shape: .open(rate: options.rate, maxOutstanding: options.maxOutstanding), total: total,
                duration: .milliseconds(Int64(options.duration * 1000)), counters: counters,
                prepare: { index in readRequest(target: target, uid: uids[index % uids.count], provider: options.provider, accessKey: accessKey) },
                execute: { request in
                    do {
                        let (status, _) = try await send(httpClient, request)
                        return status == .ok ? .success(nil) : .failure("http_\(status.code)")
                    } catch {
                        return .failure(errorKind(error))
                    }
                }
            )
            progress?.cancel()
            _ = await progress?.value
            try await httpClient.shutdown()
            let seconds = run.elapsed.seconds
            return Report(
                targetRate: options.rate, users: uids.count, started: run.started, succeeded: run.succeeded, errors: run.errors, seconds: seconds,
                readsPerSecond: seconds > 0 ? Double(run.succeeded) / seconds : 0, p50: run.latencies.milliseconds(atPercentile: 50),
                p90: run.latencies.milliseconds(atPercentile: 90), p99: run.latencies.milliseconds(atPercentile: 99), max: run.latencies.maxMilliseconds
            )
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
    }

    /// Logs the users in at the emulator, posts their login results, and waits until every session can be read.
    private static func prepare(
        _ options: Options,
        target: BenchmarkTarget,
        emulatorURL: String,
        accessKey: String,
        httpClient: HTTPClient
    ) async throws -> [String] {
        let emulator = EmulatorControl(baseURL: emulatorURL, token: target.emulatorToken, httpClient: httpClient)
        let runID = UUID().uuidString.prefix(8).lowercased()
        let uids = (0..<options.users).map { "reads-\(runID)-\($0)" }
        let logins = try await emulator.createUsers(uids, provider: options.provider, apiKey: target.siteAPIKey, concurrency: 16)
        try await forEach(logins.count, concurrency: 16) { index in
            let login = logins[index]
            var request = HTTPClientRequest(url: "\(target.serverURL)/v1/login-callbacks")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(
                callbackBody(
                    uid: login.UID, signature: login.UIDSignature, timestamp: login.signatureTimestamp, provider: options.provider,
                    apiKey: target.siteAPIKey
                )
            )
            let (status, _) = try await send(httpClient, request)
            guard status == .accepted || status == .ok else { throw BenchmarkFailure.preparation("a login callback answered \(status.code)") }
        }
        // Waits by reading: a session that answers 200 is stored.
        let deadline = ContinuousClock.now + .milliseconds(Int64(options.preparationTimeout * 1000))
        var waiting = uids
        while !waiting.isEmpty {
            let found = FoundSet()
            let batch = waiting
            try await forEach(batch.count, concurrency: 16) { index in
                let request = readRequest(target: target, uid: batch[index], provider: options.provider, accessKey: accessKey)
                let (status, _) = try await send(httpClient, request)
                if status == .ok {
                    found.insert(batch[index])
                } else if status == .unauthorized || status == .forbidden {
                    throw BenchmarkFailure.preparation("reading a session answered \(status.code): the access key needs sessions:read")
                }
            }
            let stored = found.values
            waiting.removeAll { stored.contains($0) }
            if waiting.isEmpty { break }
            guard ContinuousClock.now < deadline else {
                throw BenchmarkFailure.preparation(
                    "\(waiting.count) of \(uids.count) sessions were not stored within \(Int(options.preparationTimeout)) s"
                )
            }
            if options.showProgress { ProgressLine.write("preparing sessions: \(uids.count - waiting.count)/\(uids.count) stored\n") }
            try await Task.sleep(for: .milliseconds(500))
        }
        return uids
    }

    /// A token read of `uid`'s session.
    private static func readRequest(target: BenchmarkTarget, uid: String, provider: String, accessKey: String) -> HTTPClientRequest {
        let site = target.siteAPIKey.map { "?site=\($0)" } ?? ""
        var request = HTTPClientRequest(url: "\(target.serverURL)/v1/users/\(uid)/sessions/\(provider)\(site)")
        request.headers.add(name: "Authorization", value: "Bearer \(accessKey)")
        return request
    }

    /// Runs `body` for indices `0..<count` with at most `concurrency` at once.
    private static func forEach(_ count: Int, concurrency: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let counters = LoadCounters()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<min(concurrency, max(1, count)) {
                group.addTask {
                    while true {
                        let index = counters.takeIndex()
                        if index >= count { break }
                        try await body(index)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// The access key `onListening` creates, handed to the benchmark.
private final class KeyBox: Sendable {
    private let storage = Mutex<String?>(nil)

    var value: String? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

/// UIDs whose sessions were found, collected by concurrent reads.
private final class FoundSet: Sendable {
    private let storage = Mutex<Set<String>>([])

    func insert(_ uid: String) { _ = storage.withLock { $0.insert(uid) } }

    var values: Set<String> { storage.withLock { $0 } }
}
