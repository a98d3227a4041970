public import AsyncHTTPClient
import GigyaClient
import GigyaKit
public import Logging
import Metrics
public import PostgresNIO
public import Prometheus
public import VaultCore
public import VaultStore

/// Everything session-vault is made of, built from its settings and not yet running: the database pool, the store
/// and migrator over it, the sites with their Gigya clients, the metrics registry and the domain services.
///
/// `buildApplication(_:logger:onListening:)` makes one; the server, the operator commands and the tests reach the
/// parts through it, so there is one assembly of the program.
public struct Vault: Sendable {
    public let settings: ServerSettings
    /// The connection pool; a `Service` the application runs.
    public let postgres: PostgresClient
    public let store: PostgresVaultStore
    public let migrator: Migrator
    public let sites: SiteDirectory
    /// The outbound HTTP client every site's Gigya client shares; shut down with the application.
    public let httpClient: HTTPClient
    /// This application's own registry: two servers in one process never share series.
    public let registry: PrometheusCollectorRegistry
    public let metrics: VaultMetrics
    public let intake: LoginIntake
    /// The key cache every JWT path shares (id_tokens, webhook JWTs), over every configured site's data centre.
    public let idTokens: IDTokenLogins
    public let sessions: SessionService
    /// The store as the read API and authentication use it: every call bounded by `databaseCallDeadline`.
    public let boundedStore: DeadlineBoundedStore
    /// Wakes `Prefer: wait` requests when their event finishes (fed by `FinishedEventListener`).
    public let finishedEvents: FinishedEventSignals
    /// `host:port` of the database, for messages about reaching it.
    public let databaseTarget: String
    /// Account links: validation, collision checks, durable requests.
    public let links: AccountLinkService
    /// The Gigya calls requests wait on (refreshes, link checks), bounded together.
    public let gigyaCalls: InFlightLimit
    /// Gigya's account notifications: verified, then stored as a batch.
    public let accountEvents: AccountEventIntake

    /// Builds the parts; nothing connects or runs yet.
    init(settings: ServerSettings, logger: Logger, poolLogger: Logger) throws {
        guard let databaseURL = settings.databaseURL else { throw SettingsError.incomplete(missing: ["DATABASE_URL"]) }
        guard let dataKeys = settings.dataKeys else { throw SettingsError.incomplete(missing: ["DATA_KEYS"]) }
        var configuration = try DatabaseURL.configuration(from: databaseURL)
        configuration.options.maximumConnections = settings.effectiveDatabasePoolSize
        configuration.options.connectTimeout = settings.databaseConnectTimeout
        configuration.options.additionalStartupParameters.append(
            ("statement_timeout", "\(settings.databaseStatementTimeout.components.seconds * 1000)")
        )
        let keyRing = try DataKeyRing.parse(dataKeys)
        let migrations = try Migrator.load(directory: Migrator.locateDirectory(explicit: settings.sqlDirectory))
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let metrics = VaultMetrics(factory: factory)
        // Made last, after everything else that can throw: a client never shut down traps in debug builds. Its pool holds
        // a connection per Gigya call in flight, so calls never queue behind one another below the workers. No redirects:
        // a signed call, its secret-derived signature and the tokens in the answer go only where configured.
        var clientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, settings.workers + 8))
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration)
        let sites: SiteDirectory
        do {
            sites = try SiteDirectory(
                settings.sites.map { site in
                    try Self.makeSite(site, settings: settings, httpClient: httpClient, metrics: factory, logger: logger)
                }
            )
        } catch {
            try? httpClient.syncShutdown()
            throw error
        }
        let idTokens = IDTokenLogins(keys: Self.makeKeyCache(settings, httpClient: httpClient, metrics: metrics, logger: logger))
        let postgres = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
        let store = PostgresVaultStore(client: postgres, keyRing: keyRing, logger: logger)
        self.settings = settings
        self.postgres = postgres
        self.store = store
        self.migrator = Migrator(client: postgres, migrations: migrations, logger: logger)
        self.sites = sites
        self.httpClient = httpClient
        self.registry = registry
        self.metrics = metrics
        let finishedEvents = FinishedEventSignals(maxWaiters: settings.intake.maxWaiters)
        self.finishedEvents = finishedEvents
        self.idTokens = idTokens
        self.intake = LoginIntake(
            sites: sites, inbox: store, settings: settings.intake, signals: finishedEvents, metrics: metrics, idTokens: idTokens
        )
        let bounded = DeadlineBoundedStore(store, deadline: settings.databaseCallDeadline)
        self.boundedStore = bounded
        let gigyaCalls = InFlightLimit(limit: settings.gigyaRequestCalls)
        self.gigyaCalls = gigyaCalls
        self.sessions = SessionService(sessions: bounded, audit: bounded, sites: sites, metrics: metrics, gigyaCalls: gigyaCalls)
        self.links = AccountLinkService(store: bounded, sites: sites, gigyaCalls: gigyaCalls)
        // Inside Gigya's 10 s (docs/gigya-protocol.md §7): an answer after Gigya gave up would only cause a redelivery.
        self.accountEvents = AccountEventIntake(
            sites: sites, keys: idTokens.keys, store: store, writeDeadline: min(settings.intake.writeDeadline, .seconds(8)), metrics: metrics)
        self.databaseTarget = configuration.host.map { "\($0):\(configuration.port ?? 5432)" } ?? "the configured address"
    }

    /// A worker over this store and these sites; the application registers one with `settings.worker`.
    public func makeWorker(settings: WorkerSettings, logger: Logger) -> SessionWorker {
        SessionWorker(inbox: store, sites: sites, settings: settings, metrics: metrics, logger: logger)
    }

    /// The worker that sends links to Gigya; the application registers one with `settings.worker`.
    public func makeLinkWorker(settings: WorkerSettings, logger: Logger) -> LinkWorker {
        LinkWorker(store: store, sites: sites, settings: settings, metrics: metrics, logger: logger)
    }

    /// A reconciler over this store and sites; repairs send links through a link worker of its own.
    public func makeReconciler(logger: Logger, settings reconcilerSettings: Reconciler.Settings = Reconciler.Settings()) -> Reconciler {
        Reconciler(store: store, linkWorker: makeLinkWorker(settings: settings.worker, logger: logger), settings: reconcilerSettings, logger: logger)
    }

    /// The worker that acts on Gigya's account events; the application registers one with `settings.worker`.
    public func makeAccountEventWorker(settings: WorkerSettings, logger: Logger) -> AccountEventWorker {
        AccountEventWorker(events: store, lifecycle: store, sessions: sessions, sites: sites, settings: settings, metrics: metrics, logger: logger)
    }

    /// What the admin page reads and does, its sign-ins throttled by `settings.admin`.
    public func adminConsole(logger: Logger) -> AdminConsole {
        let admin = settings.admin
        return AdminConsole(
            store: store, sessions: sessions, metrics: metrics,
            settings: .init(
                sessionMinutes: admin.sessionMinutes, signInsPerPeerPerMinute: admin.signInsPerPeerPerMinute, signInsPerMinute: admin.signInsPerMinute,
                deadline: settings.databaseCallDeadline),
            logger: logger)
    }

    /// Whether the database answers, the schema is current and intake is not stuck (an intake transaction running for
    /// longer than twice its deadline means a database call that never returns: an orchestrator should restart us).
    public func readiness() async -> ReadinessReport {
        // A write older than the statement timeout (plus its own deadline, twice) is no longer in PostgreSQL: it was lost
        // with a connection, and restarting would not help the database; it is left out.
        let limit = settings.databaseStatementTimeout + settings.intake.writeDeadline * 2
        if let running = await intake.writeInFlightFor(ignoringOlderThan: limit), running > settings.intake.writeDeadline * 2 {
            return ReadinessReport(ready: false, database: "intake stuck for \(running.components.seconds) s", schema: "unknown")
        }
        guard await store.isReachable() else { return ReadinessReport(ready: false, database: "unreachable", schema: "unknown") }
        do {
            switch try await withDeadline(.seconds(2), { [migrator] in try await migrator.status() }) {
            case .upToDate(let version):
                return ReadinessReport(ready: true, database: "reachable", schema: "current (\(version))")
            case .pending(let migrations):
                return ReadinessReport(ready: false, database: "reachable", schema: "pending: \(migrations.map(\.version))")
            case .inconsistent(let reason):
                return ReadinessReport(ready: false, database: "reachable", schema: "inconsistent: \(reason)")
            }
        } catch {
            return ReadinessReport(ready: false, database: "reachable", schema: "unknown")
        }
    }
}
