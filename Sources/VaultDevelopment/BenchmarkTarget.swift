import AsyncHTTPClient
import Foundation
import GigyaEmulator
import GigyaKit
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import VaultServer

/// Where a benchmark sends its load: the server it started itself, or a running one named by URL.
public struct BenchmarkTarget: Sendable {
    /// The session-vault server, such as `http://127.0.0.1:8080`.
    public var serverURL: String
    /// The Gigya site's API key, sent as `apiKey` in callbacks and `?site=` on reads.
    public var siteAPIKey: String?
    /// The site's partner secret (base64): with it, each login result is signed afresh just before it is posted.
    public var siteSecret: String?
    /// An access key: `events:read` for `bench pipeline` without a database, `sessions:read` for `bench reads`.
    public var accessKey: String?
    /// The emulator the server calls: users are created there first, and the Gigya latency is set there.
    public var emulatorURL: String?
    /// The emulator's control token, if it wants one (zero-config's does: `.session-vault/emulator-control-token`).
    public var emulatorToken: String?
    /// The server's PostgreSQL: the insert baseline and the events' timestamps are read from it.
    public var databaseURL: String?

    public init(
        serverURL: String, siteAPIKey: String? = nil, siteSecret: String? = nil, accessKey: String? = nil, emulatorURL: String? = nil,
        emulatorToken: String? = nil, databaseURL: String? = nil
    ) {
        self.serverURL = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
        self.siteAPIKey = siteAPIKey
        self.siteSecret = siteSecret
        self.accessKey = accessKey
        self.emulatorURL = emulatorURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.emulatorToken = emulatorToken
        self.databaseURL = databaseURL
    }
}

/// Why a benchmark could not run.
public enum BenchmarkFailure: Error, Sendable, CustomStringConvertible {
    case serverDidNotStart
    case emulator(String)
    case preparation(String)

    public var description: String {
        switch self {
        case .serverDidNotStart: "the server stopped before it listened (see its log)"
        case .emulator(let reason): "emulator: \(reason)"
        case .preparation(let reason): "preparation: \(reason)"
        }
    }
}

/// The emulator's control routes a benchmark uses: creating users and setting getSessionInfo's latency.
struct EmulatorControl: Sendable {
    let client: EmulatorControlClient

    init(baseURL: String, token: String?, httpClient: HTTPClient) {
        client = EmulatorControlClient(baseURL: baseURL, token: token, httpClient: httpClient, timeout: .seconds(30))
    }

    /// Installs a persistent latency on `socialize.getSessionInfo`.
    func setSessionLatency(milliseconds: Int) async throws {
        _ = try await client.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: milliseconds))
    }

    /// Clears every fault (only after this benchmark installed one).
    func clearFaults() async {
        try? await client.clearFaults()
    }

    /// Logs `uid` in with `provider` (creating the user) and returns the login result the emulator signed.
    func login(uid: String, provider: String, apiKey: String?) async throws -> EmulatorLoginResult {
        try await client.login(apiKey: apiKey, uid: uid, provider: provider)
    }

    /// Creates the users `uids` with at most `concurrency` logins in flight; not timed.
    func createUsers(_ uids: [String], provider: String, apiKey: String?, concurrency: Int) async throws -> [EmulatorLoginResult] {
        let counters = LoadCounters()
        let progress = ProgressLine().start { "preparing users: \(counters.succeeded)/\(uids.count)" }
        defer { progress.cancel() }
        let results = try await withThrowingTaskGroup(of: [(Int, EmulatorLoginResult)].self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    var part: [(Int, EmulatorLoginResult)] = []
                    while true {
                        let index = counters.takeIndex()
                        if index >= uids.count { break }
                        part.append((index, try await login(uid: uids[index], provider: provider, apiKey: apiKey)))
                        counters.count(.success(nil))
                    }
                    return part
                }
            }
            return try await group.reduce(into: [(Int, EmulatorLoginResult)]()) { $0 += $1 }
        }
        return results.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

/// A login event's state as the benchmark reads it at the end.
struct EventState: Sendable {
    var status: String
    var createdAt: Date
    var completedAt: Date?

    var isFinished: Bool { status == "stored" || status == "failed" }
}

/// Reads the state of the benchmark's events: from PostgreSQL when the benchmark can reach it, else through the API.
protocol EventLedger: Sendable {
    /// The states of `ids` that could be read, by id.
    func states(_ ids: [UUID]) async throws -> [UUID: EventState]
    /// How precise the events' timestamps are, for the report.
    var precision: String { get }
}

/// Events read from `login_events` with one query.
struct DatabaseEventLedger: EventLedger {
    let client: PostgresClient
    let logger: Logger

    var precision: String { "microseconds (login_events.created_at, completed_at)" }

    func states(_ ids: [UUID]) async throws -> [UUID: EventState] {
        var states: [UUID: EventState] = [:]
        var start = 0
        // Chunked so one statement's parameter stays small on a long run.
        while start < ids.count {
            let chunk = Array(ids[start..<min(ids.count, start + 10_000)])
            start += chunk.count
            let rows = try await client.query(
                "SELECT id, created_at, completed_at, status FROM login_events WHERE id = ANY(\(chunk))", logger: logger
            )
            for try await (id, createdAt, completedAt, status) in rows.decode((UUID, Date, Date?, String).self) {
                states[id] = EventState(status: status, createdAt: createdAt, completedAt: completedAt)
            }
        }
        return states
    }
}

/// Events read one by one with `GET /v1/login-callbacks/{id}` and an `events:read` key.
struct HTTPEventLedger: EventLedger {
    let httpClient: HTTPClient
    let serverURL: String
    let accessKey: String

    var precision: String { "whole seconds (the API's createdAt and completedAt)" }

    /// The fields of the event payload the benchmark reads.
    private struct Payload: Decodable {
        var status: String
        var createdAt: Date?
        var completedAt: Date?
    }

    func states(_ ids: [UUID]) async throws -> [UUID: EventState] {
        let counters = LoadCounters()
        return try await withThrowingTaskGroup(of: [UUID: EventState].self) { group in
            for _ in 0..<min(32, max(1, ids.count)) {
                group.addTask {
                    let decoder = JSONDecoder()
                    decoder.dateDecodingStrategy = .iso8601
                    var part: [UUID: EventState] = [:]
                    while true {
                        let index = counters.takeIndex()
                        if index >= ids.count { break }
                        var request = HTTPClientRequest(url: "\(serverURL)/v1/login-callbacks/\(ids[index].uuidString.lowercased())")
                        request.headers.add(name: "Authorization", value: "Bearer \(accessKey)")
                        let (status, body) = try await send(httpClient, request)
                        guard status == .ok else {
                            if status == .unauthorized || status == .forbidden {
                                throw BenchmarkFailure.preparation("GET /v1/login-callbacks answered \(status.code): the access key needs events:read")
                            }
                            continue
                        }
                        let payload = try decoder.decode(Payload.self, from: Data(body.readableBytesView))
                        if let createdAt = payload.createdAt {
                            part[ids[index]] = EventState(status: payload.status, createdAt: createdAt, completedAt: payload.completedAt)
                        }
                    }
                    return part
                }
            }
            return try await group.reduce(into: [UUID: EventState]()) { $0.merge($1) { first, _ in first } }
        }
    }
}

/// Reads `vault_login_events_finished_total{outcome="stored"}` from the server's `/metrics`, for the progress line.
func storedCounter(_ httpClient: HTTPClient, serverURL: String) async -> Int? {
    guard let answer = try? await send(httpClient, HTTPClientRequest(url: "\(serverURL)/metrics"), timeout: .seconds(2)), answer.0 == .ok else {
        return nil
    }
    var total = 0.0
    for line in String(buffer: answer.1).split(separator: "\n") where line.hasPrefix("vault_login_events_finished_total{") && line.contains("\"stored\"") {
        total += line.split(separator: " ").last.flatMap { Double($0) } ?? 0
    }
    return Int(total)
}

/// Starts session-vault on a free loopback port over `stack` and returns its URL and the task running it.
func startServer(
    stack: DevelopmentStack,
    settings: ServerSettings,
    logger: Logger,
    onListening: @escaping @Sendable (String, Vault) async -> Void = { _, _ in }
) async throws -> (url: String, task: Task<Void, any Error>) {
    var settings = settings
    settings.host = "127.0.0.1"
    settings.port = 0
    let listening = AsyncStream<String>.makeStream()
    let app = try buildApplication(stack.serverSettings(settings), logger: logger) { url, vault in
        await onListening(url, vault)
        listening.continuation.yield(url)
    }
    let task = Task {
        defer { listening.continuation.finish() }
        try await app.run()
    }
    var iterator = listening.stream.makeAsyncIterator()
    guard let url = await iterator.next() else {
        task.cancel()
        _ = await task.result
        throw BenchmarkFailure.serverDidNotStart
    }
    return (url, task)
}

/// A login callback's JSON body: the login result, and the site's API key when one is known.
func callbackBody(uid: String, signature: String, timestamp: String, provider: String, apiKey: String?) -> ByteBuffer {
    let site = apiKey.map { ",\"apiKey\":\"\($0)\"" } ?? ""
    return ByteBuffer(
        string: "{\"UID\":\"\(uid)\",\"UIDSignature\":\"\(signature)\",\"signatureTimestamp\":\"\(timestamp)\",\"provider\":\"\(provider)\"\(site)}"
    )
}

/// A temporary state directory for a self-started stack; removed by the caller.
func temporaryStateDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("session-vault-bench-\(UUID().uuidString.prefix(8))").path
}
