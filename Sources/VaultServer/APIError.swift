import Foundation
import GigyaKit
public import HTTPTypes
public import Hummingbird
import NIOCore
import VaultCore

/// An error answered to a client: an HTTP status, a stable machine-readable code, a message and optionally the field.
/// Messages never contain a secret, a signature or a token.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let field: String?
    public let headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
            let field: String?
        }
        let error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try JSONEncoder.vault.encode(Body(error: .init(code: code, message: message, field: field)))
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension APIError {
    static func badRequest(_ code: String, _ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, code: code, message: message, field: field)
    }

    static let unauthenticated = APIError(
        .unauthorized,
        code: "unauthenticated",
        message: "a valid access key is required: send 'Authorization: Bearer <key>'",
        headers: [.wwwAuthenticate: "Bearer realm=\"session-vault\""]
    )

    static func insufficientScope(_ scope: String) -> APIError {
        APIError(.forbidden, code: "insufficient_scope", message: "this access key lacks the '\(scope)' scope")
    }

    static let notFound = APIError(.notFound, code: "not_found", message: "no stored session for that user and provider")

    static let storeUnavailable = APIError(
        .serviceUnavailable, code: "store_unavailable", message: "the database is unavailable; try again", headers: [.retryAfter: "1"]
    )

    /// Maps a store-side intake failure to a 503 that tells the truth about what may have been stored.
    init(_ error: IntakeUnavailable) {
        switch error {
        case .overloaded:
            self = APIError(
                .serviceUnavailable, code: "intake_overloaded", message: "too many login callbacks are waiting; nothing was stored, try again",
                headers: [.retryAfter: "1"]
            )
        case .notStored:
            self = APIError(
                .serviceUnavailable, code: "store_unavailable", message: "the database is unavailable; nothing was stored, try again",
                headers: [.retryAfter: "1"]
            )
        case .outcomeUnknown:
            self = APIError(
                .serviceUnavailable, code: "store_outcome_unknown",
                message: "the database did not confirm the write: the callback may have been stored; posting it again is safe "
                    + "(an already stored callback is answered with its event id)",
                headers: [.retryAfter: "1"]
            )
        case .keysUnavailable:
            self = APIError(
                .serviceUnavailable, code: "id_token_keys_unavailable",
                message: "Gigya's id_token keys cannot be fetched now; nothing was stored, try again", headers: [.retryAfter: "5"]
            )
        }
    }

    static let siteNotAllowed = APIError(.forbidden, code: "site_not_allowed", message: "this access key is not granted that site")

    static let unreadable = APIError(
        .internalServerError, code: "session_unreadable", message: "the stored session could not be opened with the configured data keys"
    )

    static let internalError = APIError(.internalServerError, code: "internal_error", message: "the request failed; nothing was changed")

    /// Hummingbird's own refusals (no such route, body too large, malformed request) in the house shape.
    init(_ error: HTTPError) {
        let code: String
        switch error.status {
        case .notFound: code = "no_route"
        case .methodNotAllowed: code = "method_not_allowed"
        case .contentTooLarge: code = "payload_too_large"
        case .requestTimeout: code = "request_timeout"
        case .unsupportedMediaType: code = "unsupported_media_type"
        default: code = error.status.code < 500 ? "bad_request" : "internal_error"
        }
        self.init(error.status, code: code, message: error.body ?? error.status.reasonPhrase, headers: error.headers)
    }


    /// Maps an intake refusal to its answer: malformed → 400, bad signature or stale timestamp → 401.
    init(_ error: IntakeError) {
        switch error {
        case .missingField(let field):
            self = .badRequest("missing_field", "the field '\(field)' is required", field: field)
        case .invalidField(let field, let reason):
            self = .badRequest("invalid_field", "the field '\(field)' is invalid: \(reason)", field: field)
        case .site(let error):
            self = APIError(error, field: "apiKey")
        case .providerNotAllowed:
            self = .badRequest("provider_not_allowed", "this site does not accept login callbacks for that provider", field: "provider")
        case .tooManyEvents(let limit):
            self = APIError(
                .conflict, code: "too_many_events", message: "this login result has already made \(limit) events; nothing more is stored for it"
            )
        case .signature(let failure):
            switch failure {
            case .malformed(let field, let reason):
                self = .badRequest("malformed_input", "the field '\(Self.wireName(field))' is malformed: \(reason)", field: Self.wireName(field))
            case .timestampOutsideWindow(let skew):
                self = APIError(
                    .unauthorized,
                    code: failure.code,
                    message: "signatureTimestamp is \(abs(skew)) s \(skew >= 0 ? "old" : "in the future"), outside the accepted window"
                )
            default:
                self = APIError(.unauthorized, code: failure.code, message: "the login result's signature does not verify")
            }
        case .idToken(let refusal):
            self = Self.idToken(refusal)
        case .notAccepted(let kind):
            self = Self.notAccepted(kind)
        }
    }

    /// Maps a session-service refusal to its answer.
    init(_ error: SessionServiceError) {
        switch error {
        case .notFound:
            self = .notFound
        case .unreadable:
            self = .unreadable
        case .site(let error):
            self = APIError(error, field: "site")
        case .gigya(let code, let message, let retryable, let noSession):
            if noSession {
                self = APIError(.notFound, code: "no_provider_session", message: "Gigya has no session for that user and provider (\(message))")
            } else {
                self = APIError(
                    retryable ? .serviceUnavailable : .badGateway,
                    code: retryable ? "gigya_unavailable" : "gigya_error",
                    message: "Gigya refused the call\(code.map { " (\($0))" } ?? ""): \(message)"
                )
            }
        case .gigyaBusy:
            self = .gigyaBusy
        }
    }

    /// As many Gigya calls as allowed are in flight for requests; nothing was called, so trying again soon is safe.
    static let gigyaBusy = APIError(
        .serviceUnavailable, code: "gigya_busy", message: "as many Gigya calls as allowed are in flight; nothing was called, try again",
        headers: [.retryAfter: "1"])

    /// A request that named no configured site (`field` is `apiKey` in callbacks, `site` on the read API), or none
    /// while several are configured.
    init(_ error: SiteResolutionError, field: String) {
        switch error {
        case .unknownSite:
            self = .badRequest("unknown_site", "the \(field) names no configured site", field: field)
        case .siteRequired:
            self = .badRequest("site_required", "several sites are configured: \(field) is required", field: field)
        }
    }

    /// The verifier names fields in Swift terms; clients know them by their wire names.
    private static func wireName(_ field: String) -> String {
        switch field.lowercased() {
        case "uid": "UID"
        case "timestamp", "signaturetimestamp": "signatureTimestamp"
        case "signature", "uidsignature": "UIDSignature"
        default: field
        }
    }
}
