import CoreMetrics
import GigyaKit

/// Metrics of links, Gigya's account notifications and reconciliation.
extension VaultMetrics {
    /// A job's recorded outcome, by queue: `done`, `failed`, `retry`, or `lease_lost` / `store_error` when none was
    /// recorded.
    func jobFinished(queue: String, outcome: String) {
        Counter(label: "vault_jobs_finished_total", dimensions: [("queue", queue), ("outcome", outcome)], factory: factory).increment()
    }

    /// A link attempt's outcome: `linked`, `failed`, `retry`.
    func linkFinished(outcome: String) {
        Counter(label: "vault_links_finished_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// A webhook notification stored (`stored`) or refused (by its error code).
    public func webhookNotification(outcome: String) {
        Counter(label: "vault_webhook_notifications_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// What a verified webhook JWT was found to bind (`body` when its `sub` is the body's SHA-256, else `nonce`), and
    /// whether an HMAC came with it: the evidence an operator needs before trusting JWT-only notifications.
    func webhookJWTBinding(_ binding: WebhookJWTBinding, withHMAC: Bool) {
        let bound = binding == .bodyDigest ? "body" : "nonce"
        Counter(label: "vault_webhook_jwt_binding_total", dimensions: [("binds", bound), ("hmac", withHMAC ? "yes" : "no")], factory: factory)
            .increment()
    }

    /// An account event acted upon, by type and outcome (`processed`, `ignored`, `failed`, `retry`).
    func accountEventFinished(type: AccountEventType, outcome: String) {
        Counter(label: "vault_account_events_finished_total", dimensions: [("type", type.metricLabel), ("outcome", outcome)], factory: factory).increment()
    }
}
