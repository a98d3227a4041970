public import AsyncHTTPClient
public import Hummingbird
public import HummingbirdCore
public import Logging
public import NIOCore
public import ServiceLifecycle
import UnixSignals
import PostgresNIO
import VaultCore

/// session-vault as Hummingbird runs it: the router over the built parts, and the services that run beside it.
///
/// Services, in start order (graceful shutdown stops them in reverse): the database pool, the outbound HTTP client,
/// then, once the startup checks have passed, the workers and the inbox janitor; the finished-event listener; the id_token
/// key refresher when a site accepts id_tokens; the HTTP server last.
public struct VaultApplication: ApplicationProtocol {
    public typealias Responder = RouterResponder<VaultRequestContext>

    /// The parts the application was built from, for the operator commands and the tests.
    public let vault: Vault
    public let responder: Responder
    public let configuration: ApplicationConfiguration
    public let logger: Logger
    public let services: [any Service]
    public let processesRunBeforeServerStart: [@Sendable () async throws -> Void]
    let onListening: @Sendable (_ url: String, _ vault: Vault) async -> Void
    /// `/metrics` alone, when `metrics.port` serves it on a listener of its own (a service of this application).
    public let metricsResponder: RouterResponder<VaultRequestContext>?

    /// The main listener's open connections.
    let connections: ConnectionGovernor

    /// How many connections the main listener holds open now, and how many of them are idle (between requests).
    public var connectionCounts: (open: Int, idle: Int) { connections.counts }

    /// HTTP/1.1 with the configured idle timeout, head and read deadlines, and connection limits.
    public var server: HTTPServerBuilder {
        .guarded(by: connections, vault.settings.http)
    }

    public func onServerRunning(_ channel: any Channel) async {
        let url = "http://\(vault.settings.host):\(channel.localAddress?.port ?? vault.settings.port)"
        logger.notice("session-vault listening", metadata: ["url": "\(url)", "sites": "\(vault.sites.apiKeys)"])
        await onListening(url, vault)
    }

    /// Runs the application until SIGTERM or SIGINT. Graceful shutdown (stop accepting, finish the events in flight) may
    /// take `shutdownGrace`; then the rest is cancelled, and a part that ignores cancellation for 5 s more ends the
    /// process: shutdown completes whatever the database does.
    public func runUntilSignalled() async throws {
        var configuration = ServiceGroupConfiguration(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = vault.settings.shutdownGrace
        configuration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }

    /// Runs `body` with only the database pool running (no checks, no workers, no HTTP server): the operator commands'
    /// way in, since `migrate` must work on a schema the startup checks would refuse.
    public func withDatabase<T: Sendable>(_ body: (Vault) async throws -> T) async throws -> T {
        let result: Result<T, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask { await vault.postgres.run() }
            defer { group.cancelAll() }
            do {
                return .success(try await body(vault))
            } catch {
                return .failure(error)
            }
        }
        try? await vault.httpClient.shutdown()
        return try result.get()
    }

    /// Runs `body` with every service running and the startup checks passed, but no listening socket: the tests' way
    /// in. Requests go through `test(_:)`'s router client; `body` returns before the services are shut down.
    public func withServices<T: Sendable>(_ body: (Vault) async throws -> T) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: Result<T, any Error>
            do {
                for process in processesRunBeforeServerStart { try await process() }
                result = .success(try await body(vault))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}

/// Builds session-vault from its settings: the one seam `serve`, zero-config mode, the operator commands, the
/// benchmarks and the tests all go through.
///
/// - Parameters:
///   - settings: at least a database and a data-key ring; `serve` also requires a site (`checkProductionComplete()`),
///     the operator commands do not.
///   - poolLogger: the pool's background logger; one-shot commands quiet it.
///   - onListening: runs once the port is bound, with the server's URL.
public func buildApplication(
    _ settings: ServerSettings,
    logger: Logger,
    poolLogger: Logger? = nil,
    onListening: @escaping @Sendable (_ url: String, _ vault: Vault) async -> Void = { _, _ in }
) throws -> VaultApplication {
    let vault = try Vault(settings: settings, logger: logger, poolLogger: poolLogger ?? logger)
    let gate = StartupGate()
    var services: [any Service] = [vault.postgres, HTTPClientService(client: vault.httpClient)]
    if settings.workers > 0 {
        services.append(AfterStartupChecks(gate: gate, service: vault.makeWorker(settings: settings.worker, logger: logger)))
    }
    if settings.linkWorkers {
        services.append(AfterStartupChecks(gate: gate, service: vault.makeLinkWorker(settings: settings.worker, logger: logger)))
        services.append(AfterStartupChecks(gate: gate, service: vault.makeAccountEventWorker(settings: settings.worker, logger: logger)))
    }
    services.append(AfterStartupChecks(gate: gate, service: InboxJanitor(
        inbox: vault.store, accountEvents: vault.store, history: vault.store,
        retention: .init(events: settings.eventRetention, audit: settings.auditRetention, reconciliationRuns: settings.reconciliationRetention),
        logger: logger)))
    services.append(FinishedEventListener(inbox: vault.store, signals: vault.finishedEvents, logger: logger))
    var metricsResponder: RouterResponder<VaultRequestContext>?
    if let port = settings.metrics.port {
        let responder = buildMetricsRouter(vault).buildResponder()
        metricsResponder = responder
        // The same limits as the main listener, with connections of its own: a flood of one cannot starve the other.
        let governor = ConnectionGovernor(settings.http, listener: "metrics", metrics: vault.metrics)
        services.append(
            Application(
                responder: responder, server: .guarded(by: governor, settings.http),
                configuration: ApplicationConfiguration(
                    address: .hostname(settings.metrics.host, port: port), availableConnectionsDelegate: governor.admission),
                logger: logger)
        )
    }
    let adminJobs = AdminJobs(reconciler: vault.makeReconciler(logger: logger), logger: logger)
    services.append(adminJobs)
    if let keys = vault.idTokens.keys, !vault.warmKeyDataCenters.isEmpty {
        services.append(
            JWTKeyRefresher(
                cache: keys, dataCenters: vault.warmKeyDataCenters, interval: settings.jwtKeys.refreshCheckInterval,
                fetchAtStart: settings.jwtKeys.fetchAtStart))
    }
    let connections = ConnectionGovernor(settings.http, listener: "main", metrics: vault.metrics)
    return VaultApplication(
        vault: vault,
        responder: try buildRouter(vault, adminJobs: adminJobs, logger: logger).buildResponder(),
        configuration: ApplicationConfiguration(
            address: .hostname(settings.host, port: settings.port),
            serverName: "session-vault",
            // Beyond the cap (and the newcomer an idle connection is closed for), connections wait in the listen backlog.
            availableConnectionsDelegate: connections.admission
        ),
        logger: logger,
        services: services,
        processesRunBeforeServerStart: [
            {
                // Checked before anything is served or claimed: no worker ever touches an unchecked schema.
                try await vault.checkStartup(logger: logger)
                gate.open()
            }
        ],
        onListening: onListening,
        metricsResponder: metricsResponder,
        connections: connections
    )
}

/// The routes of session-vault; no `/_emulator` route ever lives here.
func buildRouter(_ vault: Vault, adminJobs: AdminJobs, logger: Logger) throws -> Router<VaultRequestContext> {
    let router = Router(context: VaultRequestContext.self)
    router.add(middleware: LogRequestsMiddleware(.info))
    // CORS outside the error mapping, so a refusal a page gets carries the headers it needs to read it.
    if !vault.settings.corsOrigins.isEmpty {
        router.add(middleware: CallbackCORSMiddleware(origins: Set(vault.settings.corsOrigins)))
    }
    router.add(middleware: ErrorMappingMiddleware())
    let authenticator = AccessKeyAuthenticator(keys: vault.boundedStore)
    LoginCallbackController(intake: vault.intake, inbox: vault.store, readDeadline: vault.settings.databaseCallDeadline)
        .addRoutes(to: router, authenticator: authenticator)
    SessionsController(service: vault.sessions, metrics: vault.metrics).addRoutes(to: router, authenticator: authenticator)
    LinksController(links: vault.links, metrics: vault.metrics).addRoutes(to: router, authenticator: authenticator)
    WebhooksController(intake: vault.accountEvents, metrics: vault.metrics).addRoutes(to: router)
    AdminAPIController(store: vault.store, metrics: vault.metrics).addRoutes(to: router, authenticator: authenticator)
    AdminController(console: vault.adminConsole(logger: logger), sites: vault.sites, jobs: adminJobs, pages: try AdminPages(), settings: vault.settings)
        .addRoutes(to: router)
    let ops = OpsController(readiness: { await vault.readiness() }, inbox: vault.store, registry: vault.registry, metrics: vault.metrics)
    ops.addHealthRoutes(to: router)
    if vault.settings.metrics.port == nil {
        ops.addMetricsRoute(to: router, authenticator: vault.settings.metrics.requireKey ? authenticator : nil)
    }
    return router
}

/// The router of the separate metrics listener: `/metrics` only, behind a key when `metrics.requireKey` is set.
func buildMetricsRouter(_ vault: Vault) -> Router<VaultRequestContext> {
    let router = Router(context: VaultRequestContext.self)
    router.add(middleware: ErrorMappingMiddleware())
    OpsController(readiness: { await vault.readiness() }, inbox: vault.store, registry: vault.registry, metrics: vault.metrics)
        .addMetricsRoute(to: router, authenticator: vault.settings.metrics.requireKey ? AccessKeyAuthenticator(keys: vault.boundedStore) : nil)
    return router
}

/// AsyncHTTPClient's client is not a `Service`: this shuts it down on graceful shutdown.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 whose connections `governor` keeps within `limits`, each with a `ConnectionGuard`.
    static func guarded(by governor: ConnectionGovernor, _ limits: HTTPLimits) -> HTTPServerBuilder {
        .http1(
            configuration: .init(
                additionalChannelHandlers: [
                    ConnectionGuard(governor: governor, headTimeout: TimeAmount(limits.headTimeout), readTimeout: TimeAmount(limits.readTimeout))
                ],
                idleTimeout: TimeAmount(limits.idleTimeout)
            )
        )
    }
}
