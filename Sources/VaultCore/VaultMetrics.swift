public import CoreMetrics
import GigyaKit

/// The domain's metrics, made from an injected factory so each server (and each test) has its own registry.
/// Series with fixed labels are made once; only those labelled by data (provider, Gigya code) are looked up per call.
public struct VaultMetrics: Sendable {
    let factory: any MetricsFactory
    private let accepted: Counter
    private let duplicate: Counter
    private let rejected: Counter
    private let signatureFailures: [String: Counter]

    public init(factory: any MetricsFactory) {
        self.factory = factory
        func callbacks(_ outcome: String) -> Counter {
            Counter(label: "vault_login_callbacks_total", dimensions: [("outcome", outcome)], factory: factory)
        }
        accepted = callbacks("accepted")
        duplicate = callbacks("duplicate")
        rejected = callbacks("rejected")
        signatureFailures = Dictionary(uniqueKeysWithValues: SignatureFailure.codes.map { reason in
            (reason, Counter(label: "vault_signature_failures_total", dimensions: [("reason", reason)], factory: factory))
        })
    }

    /// Metrics that go nowhere, for tools that run the domain without a server.
    public static var discarding: VaultMetrics { VaultMetrics(factory: NOOPMetricsHandler.instance) }

    func callbackAccepted() {
        accepted.increment()
    }

    func callbackDuplicate() {
        duplicate.increment()
    }

    func callbackRejected(_ error: IntakeError) {
        rejected.increment()
        if case .signature(let failure) = error {
            signatureFailures[failure.code]?.increment()
        }
        idTokenRejected(error)
    }

    func callbackUnavailable(_ reason: String) {
        Counter(label: "vault_login_callbacks_unavailable_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    func intakeBatch(size: Int) {
        Recorder(label: "vault_intake_batch_size", dimensions: [], aggregate: true, factory: factory).record(size)
    }

    func eventFinished(outcome: String) {
        Counter(label: "vault_login_events_finished_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    func tokenRead(provider: String) {
        Counter(label: "vault_token_reads_total", dimensions: [("provider", provider)], factory: factory).increment()
    }

    /// Counts a 401 or 403 answered on a token route, by status and error code.
    public func tokenRouteRefused(status: Int, code: String) {
        Counter(label: "vault_token_route_refusals_total", dimensions: [("status", String(status)), ("code", code)], factory: factory).increment()
    }

    /// Counts a connection the server closed to keep its limits (`head_deadline`, `read_deadline`, `peer_limit`, `evicted`).
    public func connectionClosed(listener: String, reason: String) {
        Counter(label: "vault_http_connections_closed_total", dimensions: [("listener", listener), ("reason", reason)], factory: factory).increment()
    }

    /// Counts a refused admin sign-in (`not_admin`, `not_all_sites`, `rate_limited`, `origin`).
    public func adminSignInRefused(reason: String) {
        Counter(label: "vault_admin_sign_in_refusals_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    /// Publishes the inbox depth and the age of its oldest pending event.
    public func inbox(pending: Int, processing: Int, failed: Int, oldestPendingAgeSeconds: Double?) {
        Gauge(label: "vault_inbox_events", dimensions: [("status", "pending")], factory: factory).record(pending)
        Gauge(label: "vault_inbox_events", dimensions: [("status", "processing")], factory: factory).record(processing)
        Gauge(label: "vault_inbox_events", dimensions: [("status", "failed")], factory: factory).record(failed)
        Gauge(label: "vault_inbox_oldest_pending_age_seconds", dimensions: [], factory: factory).record(oldestPendingAgeSeconds ?? 0)
    }
}
