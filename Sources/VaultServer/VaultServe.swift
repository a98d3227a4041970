public import AsyncHTTPClient
import Foundation
import GigyaClient
import GigyaKit
import Hummingbird
public import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization
public import VaultCore
public import VaultStore

/// `session-vault serve` in production: the configured database, sites and data keys; nothing embedded.
public enum VaultServe {
    /// Runs until graceful shutdown. `onListening` runs once the port is bound, with the server's URL and store.
    public static func run(
        settings: ServerSettings,
        logger: Logger,
        onListening: @escaping @Sendable (_ url: String, _ store: PostgresVaultStore) async -> Void = { _, _ in }
    ) async throws {
        try settings.checkProductionComplete()
        let database = try VaultDatabase(url: settings.databaseURL ?? "", dataKeys: settings.dataKeys ?? "", sqlDirectory: settings.sqlDirectory, logger: logger)
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            let sites = try SiteDirectory(settings.sites.map { try makeSite($0, window: settings.signatureWindowSeconds, httpClient: httpClient, logger: logger) })
            let components = VaultComponents(
                store: database.store, migrator: database.migrator, sites: sites, corsOrigins: settings.corsOrigins,
                intakeMaxBatch: settings.intakeMaxBatch
            )
            // The process-wide metrics system feeds the same registry, so library metrics (the Gigya client's) show too.
            ProcessMetrics.bootstrapOnce(PrometheusMetricsFactory(registry: components.registry))
            try await database.withRunningPool {
                // Checked before anything is served or claimed: no worker ever touches an unchecked schema.
                try await checkStartup(components, migrate: settings.migrateOnStart, deadline: .seconds(30), database: database.target, logger: logger)
                // Graceful shutdown stops services in reverse order: the server, then the janitor and the worker (which
                // finishes its event), then the HTTP client the worker used; the pool stops after all of them.
                var services: [any Service] = [HTTPClientService(client: httpClient)]
                if settings.workers > 0 {
                    services.append(components.makeWorker(settings: WorkerSettings(concurrency: settings.workers), logger: logger))
                }
                services.append(ReplayKeyJanitor(inbox: database.store, logger: logger))
                let app = Application(
                    router: buildRouter(components),
                    configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: "session-vault"),
                    services: services,
                    onServerRunning: { channel in
                        let url = "http://\(settings.host):\(channel.localAddress?.port ?? settings.port)"
                        logger.notice("session-vault listening", metadata: ["url": "\(url)", "sites": "\(sites.apiKeys)"])
                        await onListening(url, database.store)
                    },
                    logger: logger
                )
                try await app.runService()
            }
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
    }

    /// Builds one site: the verifier for its login results (partner secret) and its signed REST client.
    public static func makeSite(
        _ site: SiteSettings,
        window: Int64,
        httpClient: HTTPClient,
        timeout: Duration = .seconds(10),
        logger: Logger
    ) throws -> GigyaSite {
        let partnerSecret = try secret(site.secret, key: "gigya.secret", site: site.apiKey)
        let signingSecret = try site.userSecret.map { try secret($0, key: "gigya.userSecret", site: site.apiKey) }
        let configuration = GigyaSiteConfiguration(
            apiKey: site.apiKey,
            secret: signingSecret ?? partnerSecret,
            userKey: site.userKey,
            partnerSecret: signingSecret == nil ? nil : partnerSecret,
            apiDomain: site.apiDomain,
            baseURL: site.baseURL,
            timeout: timeout
        )
        return GigyaSite(
            apiKey: site.apiKey,
            verifier: LoginSignatureVerifier(secret: partnerSecret, windowSeconds: window),
            gigya: GigyaRESTClient(site: configuration, httpClient: httpClient, logger: logger)
        )
    }

    private static func secret(_ base64: String, key: String, site: String) throws -> GigyaSecret {
        do {
            return try GigyaSecret(base64: base64)
        } catch {
            throw SettingsError.invalid(key: key, reason: "the secret of site \(site) is not valid base64")
        }
    }
}

/// swift-metrics allows one bootstrap per process; a second `serve` in the same process (tests) keeps the first.
enum ProcessMetrics {
    private static let bootstrapped = Mutex(false)

    static func bootstrapOnce(_ factory: any MetricsFactory) {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        if first { MetricsSystem.bootstrap(factory) }
    }
}

/// AsyncHTTPClient's client is not a `Service`: this shuts it down on graceful shutdown.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
