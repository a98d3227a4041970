import CoreMetrics

/// Metrics of links, Gigya's account notifications and reconciliation.
extension VaultMetrics {
    /// A link attempt's outcome: `linked`, `failed`, `retry`.
    func linkFinished(outcome: String) {
        Counter(label: "vault_links_finished_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// A webhook notification stored (`stored`) or refused (by its error code).
    public func webhookNotification(outcome: String) {
        Counter(label: "vault_webhook_notifications_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// An account event acted upon, by type and outcome (`processed`, `ignored`, `failed`, `retry`).
    func accountEventFinished(type: String, outcome: String) {
        let known = ["accountDeleted", "accountUidChanged", "accountMerged", "accountLoggedIn"].contains(type) ? type : "other"
        Counter(label: "vault_account_events_finished_total", dimensions: [("type", known), ("outcome", outcome)], factory: factory).increment()
    }
}
