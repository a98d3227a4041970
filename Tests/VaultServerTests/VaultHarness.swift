import AsyncHTTPClient
import Foundation
import GigyaClient
import GigyaEmulator
import GigyaKit
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import PostgresNIO
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

/// One isolated world for a test: a fresh migrated database, a running emulator with one site, and session-vault built
/// by the production seam (`buildApplication`) over both, its services running, over real HTTP and real PostgreSQL.
struct VaultHarness {
    let database: TestDatabase
    let emulator: RunningEmulator
    let site: EmulatorSite
    let emulatorClock: ManualWallClock
    /// The application under test; its services (pool, janitor, workers when configured) run for the whole test.
    let app: VaultApplication
    /// For the emulator's control routes.
    let httpClient: HTTPClient
    let logger: Logger
    let workerSettings: WorkerSettings

    static let dataKeys = "k1:" + Data(repeating: 7, count: 32).base64EncodedString()

    /// Runs `body` inside a fresh world and tears it down afterwards, whatever happens. The application runs no worker
    /// of its own unless `configure` asks for some: tests drain the inbox with `drain()` to control the timing.
    static func with<T: Sendable>(
        dataKeys: String = VaultHarness.dataKeys,
        workerSettings: WorkerSettings = WorkerSettings(
            concurrency: 1, lease: .seconds(30), idlePoll: .milliseconds(20),
            retry: RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(10), maxDelay: .milliseconds(40))
        ),
        configure: (inout ServerSettings) -> Void = { _ in },
        _ body: (VaultHarness) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "vault-test")
        logger.logLevel = .warning
        return try await withTestDatabase { database in
            let site = GigyaEmulator.demoSite()
            let clock = ManualWallClock(Int64(Date().timeIntervalSince1970))
            var configuration = EmulatorConfiguration(sites: [site])
            configuration.clock = clock
            configuration.logger = logger
            let emulator = try await GigyaEmulator.start(configuration: configuration)
            let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            let result: Result<T, any Error>
            do {
                var settings = ServerSettings()
                settings.databaseURL = database.url
                settings.dataKeys = dataKeys
                settings.sites = [SiteSettings(apiKey: site.apiKey, secret: site.partnerSecret, baseURL: emulator.baseURL)]
                settings.corsOrigins = ["https://app.example"]
                settings.sqlDirectory = SQLMigrations.sourceDirectory
                // Long enough that a loaded machine does not turn a delivered answer into a timeout and a retry.
                settings.gigyaTimeout = .seconds(3)
                settings.worker = workerSettings
                settings.workers = 0
                // Links and account events are driven step by step too (`drainLinks`, `drainAccountEvents`).
                settings.linkWorkers = false
                // id_tokens are minted on the emulator's clock: the server checks them and ages its key cache on the same one.
                settings.jwtKeys.clock = clock
                configure(&settings)
                let app = try buildApplication(settings, logger: logger)
                let harness = VaultHarness(
                    database: database, emulator: emulator, site: site, emulatorClock: clock, app: app, httpClient: httpClient, logger: logger,
                    workerSettings: workerSettings
                )
                result = .success(try await app.withServices { _ in try await body(harness) })
            } catch {
                result = .failure(error)
            }
            try? await httpClient.shutdown()
            await emulator.stop()
            return try result.get()
        }
    }

    /// The parts of the application under test.
    var vault: Vault { app.vault }
    var store: PostgresVaultStore { vault.store }

    /// A worker over this world, with the harness's fast retry settings.
    func worker() -> SessionWorker {
        vault.makeWorker(settings: workerSettings, logger: logger)
    }

    /// Runs the worker until no event is pending or processing, or the deadline passes. The drains' bounds only stop a
    /// hang: they return as soon as the condition holds, and a loaded 2-core machine took over 20 s for 500 events.
    func drain(timeout: Duration = .seconds(90)) async throws {
        let worker = worker()
        try await drain("login events", timeout: timeout, work: { await worker.runOnce(workerID: "test-worker") }) {
            let stats = try await store.stats()
            return stats.pending + stats.processing
        }
    }

    /// Sends every due link until none is pending, or the deadline passes.
    func drainLinks(timeout: Duration = .seconds(90)) async throws {
        let worker = vault.makeLinkWorker(settings: workerSettings, logger: logger)
        try await drain("links", timeout: timeout, work: { await worker.runOnce(workerID: "test-link-worker") }) {
            try await scalar("SELECT count(*)::int FROM account_links WHERE status IN ('pending', 'processing')")
        }
    }

    /// Processes every due account event until none is pending, or the deadline passes.
    func drainAccountEvents(timeout: Duration = .seconds(90)) async throws {
        let worker = vault.makeAccountEventWorker(settings: workerSettings, logger: logger)
        try await drain("account events", timeout: timeout, work: { await worker.runOnce(workerID: "test-event-worker", limit: 32) }) {
            try await scalar("SELECT count(*)::int FROM account_events WHERE status IN ('pending', 'processing')")
        }
    }

    /// Runs `work` (one pass of a worker, returning how many jobs it did) until it finds nothing to do and `open` counts
    /// no unfinished job: a job whose retry is not yet due is waited for.
    private func drain(_ queue: String, timeout: Duration, work: () async -> Int, open: () async throws -> Int) async throws {
        do {
            try await waitUntil("the \(queue) to drain", timeout: timeout, every: .milliseconds(10)) {
                guard await work() == 0 else { return false }
                return try await open() == 0
            }
        } catch let error as ConditionTimedOut {
            Issue.record("\(error)")
        }
    }

    /// One integer a query answers.
    func scalar(_ query: PostgresQuery) async throws -> Int {
        for try await value in try await database.client.query(query, logger: logger).decode(Int.self) { return value }
        return 0
    }

    /// Builds a second application from this one's settings changed by `change` (same database and emulator) and runs
    /// `body` with its database pool running; its startup checks are the test's to call.
    func withApplication<T: Sendable>(_ change: (inout ServerSettings) -> Void, _ body: (VaultApplication) async throws -> T) async throws -> T {
        var settings = vault.settings
        change(&settings)
        let other = try buildApplication(settings, logger: logger)
        return try await other.withDatabase { _ in try await body(other) }
    }

    /// The emulator's control routes, typed.
    var emulatorControl: EmulatorControlClient {
        EmulatorControlClient(emulator, httpClient: httpClient)
    }

    /// Logs a user in at the emulator, as the Web SDK would, and returns the login result the browser gets.
    func login(uid: String? = nil, provider: String = "facebook") async throws -> LoginResult {
        let result = try await emulatorControl.login(apiKey: site.apiKey, uid: uid, provider: provider)
        return LoginResult(
            uid: result.UID, uidSignature: result.UIDSignature, signatureTimestamp: result.signatureTimestamp, provider: provider,
            apiKey: site.apiKey
        )
    }

    /// The emulator's plaintext view of a user's provider session.
    func emulatorSession(uid: String, provider: String) async throws -> EmulatorProviderSession {
        try #require(try await emulatorControl.user(uid: uid).sessions[provider])
    }

    /// Installs an emulator fault on getSessionInfo (see docs/emulator.md).
    func injectFault(_ fault: EmulatorFault) async throws {
        _ = try await emulatorControl.injectFault(fault)
    }

    /// Counts rows of a table, to prove that a refused request stored nothing.
    func count(_ table: String) async throws -> Int {
        let query: PostgresQuery
        switch table {
        case "login_events": query = "SELECT count(*)::int FROM login_events"
        case "replay_keys": query = "SELECT count(*)::int FROM replay_keys"
        case "provider_sessions": query = "SELECT count(*)::int FROM provider_sessions"
        case "audit_log": query = "SELECT count(*)::int FROM audit_log"
        case "session_tombstones": query = "SELECT count(*)::int FROM session_tombstones"
        case "login_result_budget": query = "SELECT count(*)::int FROM login_result_budget"
        case "account_links": query = "SELECT count(*)::int FROM account_links"
        case "account_events": query = "SELECT count(*)::int FROM account_events"
        case "admin_sessions": query = "SELECT count(*)::int FROM admin_sessions"
        case "reconciliation_runs": query = "SELECT count(*)::int FROM reconciliation_runs"
        case "webhook_nonces": query = "SELECT count(*)::int FROM webhook_nonces"
        default: throw HarnessError.unknownTable(table)
        }
        for try await value in try await database.client.query(query, logger: logger).decode(Int.self) { return value }
        return 0
    }

    /// A fresh access key with the given scopes and sites, as the `keys create` command makes it.
    func accessKey(
        _ scopes: [AccessScope], name: String = "backend-\(UUID().uuidString.prefix(6))", sites: AccessKeySites = .all
    ) async throws -> String {
        try await store.createKey(name: name, scopes: scopes.map(\.rawValue), sites: sites).plaintext
    }

    /// The application under test at router level, for HummingbirdTesting; its services already run.
    func application() -> some ApplicationProtocol {
        app.routerOnly
    }
}

extension VaultApplication {
    /// The router alone, for HummingbirdTesting's `.router` tests while the services already run (`withServices`,
    /// `withDatabase`), so they are not started twice.
    var routerOnly: some ApplicationProtocol {
        Application(responder: responder, logger: logger)
    }
}

enum HarnessError: Error {
    case unknownTable(String)
}

extension LoginResult {
    /// The callback as a web app would post it, as JSON.
    var jsonBody: ByteBuffer {
        var object: [String: String] = ["UID": uid, "UIDSignature": uidSignature, "signatureTimestamp": signatureTimestamp, "provider": provider]
        if let apiKey { object["apiKey"] = apiKey }
        return ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }
}

/// Decodes a JSON response body into a dictionary.
func jsonObject(_ buffer: ByteBuffer) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])
}

/// A string field of a JSON response body.
func jsonString(_ buffer: ByteBuffer, _ key: String) -> String? {
    (try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])?[key] as? String
}

/// An integer field of a JSON response body.
func jsonInt(_ buffer: ByteBuffer, _ key: String) -> Int? {
    (try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])?[key] as? Int
}

/// A Boolean field of a JSON response body.
func jsonBool(_ buffer: ByteBuffer, _ key: String) -> Bool? {
    (try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any])?[key] as? Bool
}

/// The `error.code` of an error response body.
func errorCode(_ buffer: ByteBuffer) -> String? {
    errorDetail(buffer, "code")
}

/// The `error.field` of an error response body.
func errorField(_ buffer: ByteBuffer) -> String? {
    errorDetail(buffer, "field")
}

private func errorDetail(_ buffer: ByteBuffer, _ key: String) -> String? {
    let object = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any]
    return (object?["error"] as? [String: Any])?[key] as? String
}
