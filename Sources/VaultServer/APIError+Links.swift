import HTTPTypes
import GigyaKit
import VaultCore

extension APIError {
    /// Maps a refused link to its answer; nothing was stored or sent in any of these cases.
    init(_ error: LinkRequestError) {
        switch error {
        case .site(let error):
            self = APIError(error, field: "site")
        case .invalidField(let field, let rule):
            self = .badRequest("invalid_field", "the field '\(field)' \(rule)", field: field)
        case .siteUIDTaken(let reason):
            self = APIError(.conflict, code: "site_uid_taken", message: "\(reason); nothing was sent to Gigya", field: "siteUID")
        case .uidAlreadyLinked(let siteUID):
            self = APIError(
                .conflict, code: "uid_already_linked", message: "this UID is already linked to the siteUID '\(siteUID)'; nothing was sent",
                field: "uid")
        case .siteUIDHoldsSessions:
            self = APIError(
                .conflict, code: "site_uid_holds_sessions",
                message: "sessions are stored here under the siteUID; a link would merge them into this user's, so nothing was stored or sent",
                field: "siteUID")
        case .renameNotAllowed(let reason):
            self = APIError(.forbidden, code: "rename_not_allowed", message: reason)
        case .linkingUnavailable:
            self = APIError(.serviceUnavailable, code: "linking_unavailable", message: "this site is not configured for linking")
        case .gigyaBusy:
            self = .gigyaBusy
        case .gigyaUnavailable(let summary, let retryable):
            self = APIError(
                retryable ? .serviceUnavailable : .badGateway, code: retryable ? "gigya_unavailable" : "gigya_error",
                message: "Gigya could not be asked whether the siteUID is free (\(summary)); nothing was stored",
                headers: retryable ? [.retryAfter: "5"] : [:])
        }
    }

    static let linkNotFound = APIError(.notFound, code: "link_not_found", message: "no link for that siteUID")

    /// Maps a refused webhook notification to its answer: 401 for anything Gigya did not sign, 400 for a body that is not a
    /// notification, 503 when it could not be stored (Gigya retries).
    init(_ error: AccountEventIntakeError) {
        switch error {
        case .refused(let refusal):
            switch refusal {
            case .unsigned, .badHMAC, .badJWT, .stale, .signatureRequired, .unboundDestructive:
                self = APIError(.unauthorized, code: refusal.code, message: refusal.description)
            case .nonceReused:
                self = APIError(.conflict, code: refusal.code, message: refusal.description)
            case .malformed, .tooManyEvents, .mixedSites:
                self = .badRequest(refusal.code, refusal.description)
            }
        case .unknownSite:
            self = APIError(.unauthorized, code: "webhook_unknown_site", message: "the notification names a site that is not configured here")
        case .keysUnavailable:
            self = APIError(
                .serviceUnavailable, code: "jwt_keys_unavailable", message: "Gigya's signing keys cannot be fetched now; nothing was stored",
                headers: [.retryAfter: "5"])
        case .notStored(let unknown):
            self = APIError(
                .serviceUnavailable, code: unknown ? "store_outcome_unknown" : "store_unavailable",
                message: unknown
                    ? "the database did not confirm the write; a re-delivery is recognised by its event ids"
                    : "the database is unavailable; nothing was stored",
                headers: [.retryAfter: "1"])
        }
    }
}
