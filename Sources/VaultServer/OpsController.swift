import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import Prometheus
import VaultCore
import VaultStore

/// `/health/live`, `/health/ready` and `/metrics` for orchestrators and Prometheus.
struct OpsController: Sendable {
    let readiness: @Sendable () async -> ReadinessReport
    let inbox: any EventInbox
    let registry: PrometheusCollectorRegistry
    let metrics: VaultMetrics

    /// `/health/live` and `/health/ready`, always on the main listener and without a key (orchestrators probe them).
    func addHealthRoutes(to router: Router<VaultRequestContext>) {
        router.get("/health/live") { _, _ in
            ["status": "live"]
        }
        router.get("/health/ready") { _, _ in
            let report = await readiness()
            return EditedResponse(status: report.ready ? .ok : .serviceUnavailable, response: report)
        }
    }

    /// `/metrics`; with an authenticator, only for access keys holding `metrics:read` (or `admin`).
    func addMetricsRoute(to router: Router<VaultRequestContext>, authenticator: AccessKeyAuthenticator?) {
        let group = authenticator.map { router.group().add(middleware: $0) } ?? router.group()
        group.get("/metrics") { _, context in
            if authenticator != nil { try context.require(.metricsRead) }
            // Inbox depth is read at scrape time so the gauge is never staler than the scrape.
            do {
                let stats = try await withDeadline(.seconds(5)) { [inbox] in try await inbox.stats() }
                metrics.inbox(pending: stats.pending, processing: stats.processing, failed: stats.failed, oldestPendingAgeSeconds: stats.oldestPendingAge)
            } catch {
                context.logger.warning("inbox statistics unavailable for /metrics", metadata: ["error": "\(String(reflecting: error))"])
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
    }
}

/// What `/health/ready` reports: the database is reachable and the schema is current.
public struct ReadinessReport: ResponseEncodable, Sendable {
    public let ready: Bool
    public let database: String
    public let schema: String

    public init(ready: Bool, database: String, schema: String) {
        self.ready = ready
        self.database = database
        self.schema = schema
    }
}
