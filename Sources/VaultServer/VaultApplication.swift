public import Hummingbird
public import Logging
public import Prometheus
public import VaultCore
public import VaultStore

/// Everything the HTTP edge needs, already built: the one seam both `serve` and the tests construct.
public struct VaultComponents: Sendable {
    public let store: PostgresVaultStore
    public let migrator: Migrator
    public let sites: SiteDirectory
    public let registry: PrometheusCollectorRegistry
    public let metrics: VaultMetrics
    public let intake: LoginIntake
    public let sessions: SessionService
    public let corsOrigins: [String]

    public init(
        store: PostgresVaultStore,
        migrator: Migrator,
        sites: SiteDirectory,
        corsOrigins: [String] = [],
        intakeMaxBatch: Int = 256,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        let metrics = VaultMetrics(factory: PrometheusMetricsFactory(registry: registry))
        self.store = store
        self.migrator = migrator
        self.sites = sites
        self.registry = registry
        self.metrics = metrics
        self.corsOrigins = corsOrigins
        self.intake = LoginIntake(sites: sites, batcher: IntakeBatcher(inbox: store, maxBatch: intakeMaxBatch, metrics: metrics), inbox: store, metrics: metrics)
        self.sessions = SessionService(sessions: store, audit: store, sites: sites, metrics: metrics)
    }

    /// A worker over this store and these sites.
    public func makeWorker(settings: WorkerSettings, logger: Logger) -> SessionWorker {
        SessionWorker(inbox: store, sites: sites, settings: settings, metrics: metrics, logger: logger)
    }

    /// Whether the database answers and the schema is current.
    public func readiness() async -> ReadinessReport {
        guard await store.isReachable() else { return ReadinessReport(ready: false, database: "unreachable", schema: "unknown") }
        do {
            switch try await migrator.status() {
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

/// The routes of session-vault; no `/_emulator` route ever lives here.
public func buildRouter(_ components: VaultComponents) -> Router<VaultRequestContext> {
    let router = Router(context: VaultRequestContext.self)
    router.add(middleware: LogRequestsMiddleware(.info))
    if !components.corsOrigins.isEmpty {
        router.add(middleware: CallbackCORSMiddleware(origins: Set(components.corsOrigins)))
    }
    let authenticator = APIKeyAuthenticator(keys: components.store)
    LoginCallbackController(intake: components.intake, inbox: components.store).addRoutes(to: router, authenticator: authenticator)
    SessionsController(service: components.sessions).addRoutes(to: router, authenticator: authenticator)
    OpsController(
        readiness: { await components.readiness() },
        inbox: components.store,
        registry: components.registry,
        metrics: components.metrics
    ).addRoutes(to: router)
    return router
}

/// Why the server refused to start.
public enum StartupError: Error, Sendable, CustomStringConvertible {
    case pendingMigrations([Int])
    case inconsistentSchema(String)
    case missingDataKeys([String])
    case databaseUnreachable(String, waited: Duration)

    public var description: String {
        switch self {
        case .databaseUnreachable(let target, let waited):
            "could not reach PostgreSQL at \(target) within \(waited.components.seconds) s; check DATABASE_URL and that the server is up (the log has the connection errors)"
        case .pendingMigrations(let versions):
            "the database schema has pending migrations \(versions); run `session-vault migrate` or start with --migrate"
        case .inconsistentSchema(let reason):
            "the database schema does not match sql/: \(reason)"
        case .missingDataKeys(let ids):
            "stored tokens are sealed under data key(s) \(ids.joined(separator: ", ")) that are not in DATA_KEYS; add them to the ring"
        }
    }
}

/// Checks the schema (migrating first when allowed) and that every stored key id is in the ring.
public func checkStartup(_ components: VaultComponents, migrate: Bool, logger: Logger) async throws {
    switch try await components.migrator.status() {
    case .upToDate:
        break
    case .pending(let migrations):
        guard migrate else { throw StartupError.pendingMigrations(migrations.map(\.version)) }
        let applied = try await components.migrator.migrate(dryRun: false)
        logger.notice("applied migrations", metadata: ["versions": "\(applied.map(\.version))"])
    case .inconsistent(let reason):
        throw StartupError.inconsistentSchema(reason)
    }
    let unknown = try await components.store.unknownKeyIDs()
    guard unknown.isEmpty else { throw StartupError.missingDataKeys(unknown) }
}

/// Runs the startup checks, giving up with a clear error if the database does not answer within `deadline`.
public func checkStartup(_ components: VaultComponents, migrate: Bool, deadline: Duration, database: String, logger: Logger) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await checkStartup(components, migrate: migrate, logger: logger) }
        group.addTask {
            try await Task.sleep(for: deadline)
            throw StartupError.databaseUnreachable(database, waited: deadline)
        }
        defer { group.cancelAll() }
        try await group.next()
    }
}
