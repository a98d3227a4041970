import AsyncHTTPClient
import Foundation
import GigyaClient
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LocalPostgres
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Synchronization
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

#if canImport(Glibc)
import Glibc
#endif

/// The pipeline's parts fail under load, and nothing it acknowledged is lost. Each drill is bounded in time and count.
@Suite("Fault drills", .serialized)
struct FaultDrillTests {
    static let quiet: Logger = {
        var logger = Logger(label: "drill")
        logger.logLevel = .critical
        return logger
    }()

    @Test("PostgreSQL stopped (fast and immediate) and started again under load: 503 with Retry-After, readiness false, recovery, nothing acknowledged lost")
    func postgresRestarts() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sv-drill-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        // fsync and synchronous commit stay on: an immediate stop is a crash, and only a durable commit may be acknowledged.
        let first = try await EmbeddedPostgres(dataDirectory: root + "/data", logger: Self.quiet).start()
        let postgres = EmbeddedPostgres(dataDirectory: root + "/data", port: first.port, logger: Self.quiet)
        defer {
            _ = EmbeddedPostgres.stopImmediately(dataDirectory: root + "/data")
            try? FileManager.default.removeItem(atPath: root)
        }
        let site = GigyaEmulator.demoSite()
        let emulator = try await GigyaEmulator.start(configuration: EmulatorConfiguration(sites: [site]))
        defer { Task { await emulator.stop() } }
        let control = EmulatorControlClient(emulator)
        var made: [LoginResult] = []
        for _ in 0..<45 {
            let login = try await control.login(apiKey: site.apiKey, provider: "facebook")
            made.append(LoginResult(uid: login.UID, uidSignature: login.UIDSignature, signatureTimestamp: login.signatureTimestamp, provider: "facebook", apiKey: site.apiKey))
        }
        let logins = made

        var settings = ServerSettings()
        settings.databaseURL = first.url(database: "postgres")
        settings.dataKeys = VaultHarness.dataKeys
        settings.sites = [SiteSettings(apiKey: site.apiKey, secret: site.partnerSecret, baseURL: emulator.baseURL)]
        settings.sqlDirectory = SQLMigrations.sourceDirectory
        settings.migrateOnStart = true
        settings.worker = WorkerSettings(
            concurrency: 8, lease: .seconds(3), idlePoll: .milliseconds(50), storeDeadline: .seconds(2),
            retry: RetryPolicy(maxAttempts: 50, baseDelay: .milliseconds(50), maxDelay: .milliseconds(500))
        )
        settings.intake.writeDeadline = .seconds(2)
        // A write lost with a connection the restart killed stops counting against readiness once PostgreSQL would have
        // ended its statement.
        settings.databaseStatementTimeout = .seconds(5)
        settings.databaseConnectTimeout = .seconds(1)
        settings.gigyaTimeout = .seconds(2)
        let app = try buildApplication(settings, logger: Self.quiet)
        try await app.withServices { vault in
            try await app.routerOnly.test(.router) { client in
                var acknowledged: [UUID] = []
                var next = 0
                for cycle in 0..<3 {
                    // Load: a batch of callbacks at once, every one acknowledged while the database is up (a 503 on a
                    // loaded machine stored nothing and is retried, as a client does).
                    let batch = Array(logins[next..<next + 10])
                    next += 10
                    let (ids, unacknowledged) = try await Self.postUntilAcknowledged(batch, client: client)
                    #expect(unacknowledged == 0, "cycle \(cycle): \(unacknowledged) never acknowledged")
                    acknowledged += ids.filter { !acknowledged.contains($0) }
                    if cycle % 2 == 0 {
                        try await postgres.stop()
                    } else {
                        #expect(EmbeddedPostgres.stopImmediately(dataDirectory: root + "/data"))
                    }
                    // Down: every callback is refused with 503 and Retry-After within its deadline, none hangs.
                    let refused = Array(logins[next..<next + 5])
                    next += 5
                    for answer in try await Self.postAll(refused, client: client) {
                        #expect(answer.status == .serviceUnavailable)
                        #expect(["store_unavailable", "store_outcome_unknown"].contains(answer.code ?? ""), "\(answer.code ?? "-")")
                        #expect(answer.retryAfter != nil)
                    }
                    try await client.execute(uri: "/health/ready", method: .get) { #expect($0.status == .serviceUnavailable) }
                    _ = try await postgres.start()
                    // Up again: the instance recovers by itself within seconds.
                    var ready = false
                    var report = ""
                    let deadline = ContinuousClock.now.advanced(by: .seconds(30))
                    while !ready, ContinuousClock.now < deadline {
                        (ready, report) = try await client.execute(uri: "/health/ready", method: .get) {
                            ($0.status == .ok, String(buffer: $0.body))
                        }
                        if !ready { try await Task.sleep(for: .milliseconds(200)) }
                    }
                    #expect(ready, "cycle \(cycle): not ready 30 s after PostgreSQL came back: \(report)")
                    // Posting the refused callbacks again is safe: each ends as exactly one event. As a client does, a 503
                    // is retried after its Retry-After: the pool may still hand out a connection the restart killed.
                    let (again, refusedStill) = try await Self.postUntilAcknowledged(refused, client: client)
                    #expect(refusedStill == 0, "cycle \(cycle): \(refusedStill) still refused 15 s after readiness")
                    acknowledged += again.filter { !acknowledged.contains($0) }
                }
                try await Self.waitUntilStored(acknowledged, store: vault.store, within: .seconds(90))
            }
        }
        await emulator.stop()
    }

    @Test("the emulator failing a third of calls (5xx, retryable codes, dropped connections, latency): every accepted event ends stored")
    func gigyaFailingAThird() async throws {
        try await VaultHarness.with(configure: { settings in
            settings.worker = WorkerSettings(
                concurrency: 8, lease: .seconds(5), idlePoll: .milliseconds(20),
                retry: RetryPolicy(maxAttempts: 30, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
            )
        }) { harness in
            let method = "socialize.getSessionInfo"
            _ = try await harness.emulatorControl.injectFaults([
                EmulatorFault(method: method, httpStatus: 503, fraction: 0.1),
                EmulatorFault(method: method, errorCode: 500001, fraction: 0.1),
                EmulatorFault(method: method, dropConnection: true, fraction: 0.1),
                EmulatorFault(method: method, latencyMs: 1_500, fraction: 0.05),
            ])
            var made: [LoginResult] = []
            for _ in 0..<30 { made.append(try await harness.login()) }
            let logins = made
            let ids = try await harness.application().test(.router) { client in
                try await Self.postAll(logins, client: client).compactMap(\.eventID)
            }
            #expect(ids.count == 30)
            try await Task.sleep(for: .seconds(2))
            try await harness.emulatorControl.clearFaults()
            try await Self.waitUntilStored(ids, store: harness.store, within: .seconds(90))
            #expect(try await harness.count("provider_sessions") == 30)
        }
    }

    @Test("two instances on one database under load: no event processed twice, none left behind")
    func twoInstances() async throws {
        try await VaultHarness.with(configure: { $0.workers = 8 }) { harness in
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 50))
            let second = try buildApplication(harness.vault.settings, logger: harness.logger)
            try await second.withServices { _ in
                var made: [LoginResult] = []
                for _ in 0..<60 { made.append(try await harness.login()) }
                let logins = made
                let ids = try await harness.application().test(.router) { first in
                    try await second.routerOnly.test(.router) { other in
                        async let one = Self.postAll(Array(logins[0..<30]), client: first)
                        async let two = Self.postAll(Array(logins[30..<60]), client: other)
                        return try await (one + two).compactMap(\.eventID)
                    }
                }
                #expect(ids.count == 60)
                try await Self.waitUntilStored(ids, store: harness.store, within: .seconds(60))
                for id in ids {
                    #expect(try await harness.store.event(id: id)?.attempts == 1)
                }
            }
            #expect(try await harness.emulatorControl.stats().ok("socialize.getSessionInfo") == 60)
        }
    }

    @Test("the server killed with SIGKILL mid-load and restarted: every acknowledged event is stored, exactly once")
    func killedAndRestarted() async throws {
        let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/session-vault").path
        try #require(
            FileManager.default.isExecutableFile(atPath: binary),
            "\(binary) is missing: run `swift build` before `swift test` (the drill runs the real executable and kills it)"
        )
        try await VaultHarness.with { harness in
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 150))
            var made: [LoginResult] = []
            for _ in 0..<80 { made.append(try await harness.login()) }
            let logins = made
            let port = try Self.freePort()
            let environment = ProcessInfo.processInfo.environment.merging([
                "DATABASE_URL": harness.database.url, "DATA_KEYS": VaultHarness.dataKeys, "GIGYA_API_KEY": harness.site.apiKey,
                "GIGYA_SECRET": harness.site.partnerSecret, "GIGYA_BASE_URL": harness.emulator.baseURL, "HTTP_PORT": "\(port)",
                "WORKERS_COUNT": "16", "WORKERS_LEASE_SECONDS": "3", "SQL_DIRECTORY": SQLMigrations.sourceDirectory, "LOG_LEVEL": "critical",
            ]) { _, new in new }
            let base = "http://127.0.0.1:\(port)"
            var acknowledged: [UUID] = []

            let server = try Self.launch(binary, environment: environment)
            try await Self.waitUntilReady(base, client: harness.httpClient)
            acknowledged += try await Self.postOverHTTP(Array(logins[0..<40]), base: base, client: harness.httpClient)
            // Killed while events are in flight at Gigya: no graceful shutdown, no lease released.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()

            let restarted = try Self.launch(binary, environment: environment)
            defer { kill(restarted.processIdentifier, SIGKILL); restarted.waitUntilExit() }
            try await Self.waitUntilReady(base, client: harness.httpClient)
            acknowledged += try await Self.postOverHTTP(Array(logins[40..<80]), base: base, client: harness.httpClient)
            try await Self.waitUntilStored(acknowledged, store: harness.store, within: .seconds(90))
            #expect(Set(acknowledged).count == acknowledged.count)
            #expect(try await harness.count("provider_sessions") == acknowledged.count)
            // Exactly once: one session per event, and no Gigya call beyond those the kill interrupted (at most 16 in flight).
            let calls = try await harness.emulatorControl.stats().ok("socialize.getSessionInfo")
            #expect(calls >= acknowledged.count)
            #expect(calls <= acknowledged.count + 16)
        }
    }

    // MARK: Helpers

    /// One callback's answer.
    struct Answer: Sendable {
        let status: HTTPResponse.Status
        let code: String?
        let retryAfter: String?
        let eventID: UUID?
    }

    /// Posts the login results, and again those answered 503, every second for up to 15 s; returns the acknowledged event
    /// ids and how many were never acknowledged. Any answer but 202, 200 and 503 is a failure.
    static func postUntilAcknowledged(_ logins: [LoginResult], client: some TestClientProtocol) async throws -> (ids: [UUID], unacknowledged: Int) {
        var pending = logins
        var ids: [UUID] = []
        for _ in 0..<15 where !pending.isEmpty {
            let answers = try await postAll(pending, client: client)
            var again: [LoginResult] = []
            for (login, answer) in zip(pending, answers) {
                if answer.status == .serviceUnavailable {
                    #expect(answer.retryAfter != nil)
                    again.append(login)
                    continue
                }
                #expect(answer.status == .accepted || answer.status == .ok, "\(answer.status) \(answer.code ?? "-")")
                if let id = answer.eventID { ids.append(id) }
            }
            pending = again
            if !pending.isEmpty { try await Task.sleep(for: .seconds(1)) }
        }
        return (ids, pending.count)
    }

    /// Posts every login result at once through the router; answers in the order of `logins`. A request that takes over 20 s
    /// is a hang and fails the test.
    static func postAll(_ logins: [LoginResult], client: some TestClientProtocol) async throws -> [Answer] {
        try await withThrowingTaskGroup(of: (Int, Answer).self) { group in
            for (index, login) in logins.enumerated() {
                group.addTask {
                    let answer = try await withDeadline(.seconds(20)) {
                        try await client.execute(
                            uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody
                        ) { response in
                            Answer(
                                status: response.status, code: errorCode(response.body), retryAfter: response.headers[.retryAfter],
                                eventID: jsonString(response.body, "eventId").flatMap(UUID.init(uuidString:))
                            )
                        }
                    }
                    return (index, answer)
                }
            }
            // In the order of `logins`.
            var answers: [(Int, Answer)] = []
            for try await answer in group { answers.append(answer) }
            return answers.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Posts over real HTTP, eight at a time; returns the acknowledged event ids.
    static func postOverHTTP(_ logins: [LoginResult], base: String, client: HTTPClient) async throws -> [UUID] {
        var ids: [UUID] = []
        for start in stride(from: 0, to: logins.count, by: 8) {
            let chunk = logins[start..<min(start + 8, logins.count)]
            ids += try await withThrowingTaskGroup(of: UUID?.self) { group in
                for login in chunk {
                    group.addTask {
                        var request = HTTPClientRequest(url: base + "/v1/login-callbacks")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(login.jsonBody)
                        let response = try await client.execute(request, timeout: .seconds(20))
                        let body = try await response.body.collect(upTo: 1 << 16)
                        guard response.status == .accepted || response.status == .ok else { return nil }
                        return jsonString(body, "eventId").flatMap(UUID.init(uuidString:))
                    }
                }
                var ids: [UUID] = []
                for try await id in group { if let id { ids.append(id) } }
                return ids
            }
        }
        return ids
    }

    /// Polls until every event is stored, or records which were not.
    static func waitUntilStored(_ ids: [UUID], store: PostgresVaultStore, within limit: Duration) async throws {
        let deadline = ContinuousClock.now.advanced(by: limit)
        var missing = ids
        while !missing.isEmpty, ContinuousClock.now < deadline {
            var still: [UUID] = []
            for id in missing where try await store.event(id: id)?.status != .stored { still.append(id) }
            missing = still
            if !missing.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        var states: [String] = []
        for id in missing.prefix(5) {
            let event = try await store.event(id: id)
            states.append("\(event?.status.rawValue ?? "absent") attempts=\(event?.attempts ?? -1) \(event?.lastErrorMessage ?? "")")
        }
        #expect(missing.isEmpty, "\(missing.count) acknowledged event(s) not stored within \(limit): \(states)")
    }

    /// Starts the executable with `environment`, its output discarded.
    static func launch(_ binary: String, environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve"]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls `/health/ready` until it answers 200 (30 s at most).
    static func waitUntilReady(_ base: String, client: HTTPClient) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if let response = try? await client.execute(HTTPClientRequest(url: base + "/health/ready"), timeout: .seconds(2)),
                response.status == .ok
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the server at \(base) did not become ready within 30 s")
        throw CancellationError()
    }

    /// A port free on loopback right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CancellationError() }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
