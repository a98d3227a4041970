public import AsyncHTTPClient
import Foundation
import GigyaEmulator
import GigyaKit
import Hummingbird
public import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import VaultServer

/// `bench intake`: durable login-callback intake over real HTTP into a private PostgreSQL, with group commit and with
/// one commit per request, so the effect of group commit is measured rather than asserted.
public enum IntakeBenchmark {
    /// One configuration's figures.
    public struct Report: Sendable {
        public let maxBatch: Int
        public let seconds: Double
        public let acceptedPerSecond: Double
        public let p50Milliseconds: Double
        public let p99Milliseconds: Double
        public let failures: Int
    }

    /// Starts a private stack under `stateDirectory`, then for each batch size serves and posts `requests` callbacks.
    public static func run(
        stateDirectory: String,
        requests: Int,
        concurrency: Int,
        batchSizes: [Int],
        logger: Logger
    ) async throws -> [Report] {
        let stack = try await DevelopmentStack.start(stateDirectory: stateDirectory, logger: logger)
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        var reports: [Report] = []
        do {
            for (round, maxBatch) in batchSizes.enumerated() {
                reports.append(
                    try await measure(stack: stack, httpClient: httpClient, round: round, maxBatch: maxBatch, requests: requests, concurrency: concurrency, logger: logger)
                )
            }
        } catch {
            try? await httpClient.shutdown()
            await stack.stop()
            throw error
        }
        try await httpClient.shutdown()
        await stack.stop()
        return reports
    }

    private static func measure(
        stack: DevelopmentStack,
        httpClient: HTTPClient,
        round: Int,
        maxBatch: Int,
        requests: Int,
        concurrency: Int,
        logger: Logger
    ) async throws -> Report {
        var settings = ServerSettings()
        settings.port = 0
        settings.workers = 0  // intake only: the figure is durable acceptance, not Gigya round trips
        settings.intakeMaxBatch = maxBatch
        let listening = AsyncStream<String>.makeStream()
        let app = try buildApplication(stack.serverSettings(settings), logger: logger) { url, _ in listening.continuation.yield(url) }
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var iterator = listening.stream.makeAsyncIterator()
        guard let url = await iterator.next() else { throw BenchmarkError.serverDidNotStart }

        let secret = try GigyaSecret(base64: stack.site.partnerSecret)
        let timestamp = String(Int64(Date().timeIntervalSince1970))
        let runID = UUID().uuidString.prefix(8)
        let bodies: [ByteBuffer] = (0..<requests).map { index in
            let uid = "bench-\(runID)-\(round)-\(index)"
            let signature = secret.signature(for: SignatureBase.user(timestamp: timestamp, uid: uid))
            let json = "{\"UID\":\"\(uid)\",\"UIDSignature\":\"\(signature)\",\"signatureTimestamp\":\"\(timestamp)\",\"provider\":\"facebook\"}"
            return ByteBuffer(string: json)
        }

        let next = SharedIndex()
        let started = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var latencies: [Double] = []
                    var failures = 0
                    while true {
                        let index = next.take()
                        if index >= bodies.count { break }
                        var request = HTTPClientRequest(url: "\(url)/v1/login-callbacks")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(bodies[index])
                        let sent = ContinuousClock.now
                        let response = try await httpClient.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        latencies.append((ContinuousClock.now - sent).milliseconds)
                        if response.status != .accepted { failures += 1 }
                    }
                    return (latencies, failures)
                }
            }
            return try await group.reduce(into: ([Double](), 0)) { total, part in
                total.0 += part.0
                total.1 += part.1
            }
        }
        let elapsed = ContinuousClock.now - started
        let seconds = elapsed.milliseconds / 1000
        let sorted = results.0.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        server.cancel()
        _ = await server.result
        return Report(
            maxBatch: maxBatch,
            seconds: seconds,
            acceptedPerSecond: Double(requests - results.1) / seconds,
            p50Milliseconds: percentile(0.5),
            p99Milliseconds: percentile(0.99),
            failures: results.1
        )
    }

    /// Why a benchmark could not run.
    public enum BenchmarkError: Error, Sendable {
        case serverDidNotStart
    }
}

/// The next request index, shared by the client tasks.
private final class SharedIndex: Sendable {
    private let value = Atomic<Int>(0)

    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

extension Duration {
    /// The duration in milliseconds, as a Double.
    fileprivate var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
