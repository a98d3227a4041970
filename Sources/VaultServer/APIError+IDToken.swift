import GigyaKit
import HTTPTypes
import VaultCore

/// The answers to refused id_tokens and to login kinds a site does not accept.
extension APIError {
    /// A malformed token is a 400; every other refusal a 401 with the refusal's own code. The message names the check,
    /// never the token or a claim's value (`IDTokenRefusal.description`).
    static func idToken(_ refusal: IDTokenRefusal) -> APIError {
        if case .malformed = refusal {
            return .badRequest(refusal.code, "the field 'id_token' is malformed: \(refusal)", field: "id_token")
        }
        return APIError(.unauthorized, code: refusal.code, message: "\(refusal)", field: "id_token")
    }

    /// A login result of a kind the site is not configured for (`gigya.loginVerification`).
    static func notAccepted(_ kind: LoginKind) -> APIError {
        switch kind {
        case .idToken:
            APIError(
                .unauthorized, code: kind.refusalCode, message: "this site accepts UIDSignature login results only, not id_tokens", field: "id_token"
            )
        case .signature:
            APIError(
                .unauthorized, code: kind.refusalCode, message: "this site accepts id_token login results only, not UIDSignature",
                field: "UIDSignature"
            )
        }
    }
}
