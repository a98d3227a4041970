import CoreMetrics
import GigyaKit

/// The id_token series: refusals by code, like signature failures, and the key cache's fetches (docs/operations.md#metrics).
extension VaultMetrics {
    /// Counts an id_token refusal or a login kind the site does not accept, by its machine-readable code.
    func idTokenRejected(_ error: IntakeError) {
        let reason: String
        switch error {
        case .idToken(let refusal): reason = refusal.code
        case .notAccepted(let kind): reason = kind.refusalCode
        default: return
        }
        Counter(label: "vault_id_token_failures_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    /// Counts one fetch of a data centre's keys by what triggered it and how it ended; a success also records when.
    func jwtKeyFetch(dataCenter: String, trigger: String, outcome: String, fetchedAt: Int64?) {
        Counter(
            label: "vault_jwt_key_fetches_total", dimensions: [("data_center", dataCenter), ("trigger", trigger), ("outcome", outcome)],
            factory: factory
        ).increment()
        if let fetchedAt {
            // Alert on `time() - vault_jwt_keys_fetched_at_seconds` growing past the TTL: the keys are being served stale.
            Gauge(label: "vault_jwt_keys_fetched_at_seconds", dimensions: [("data_center", dataCenter)], factory: factory).record(fetchedAt)
        }
    }
}
