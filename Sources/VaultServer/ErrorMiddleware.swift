import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import VaultCore
import VaultStore

/// A domain refusal with its answer. Routes throw domain errors as they come; `ErrorMappingMiddleware` answers them,
/// so no route catches to translate.
protocol APIErrorConvertible: Error {
    var apiError: APIError { get }
}

extension IntakeError: APIErrorConvertible { var apiError: APIError { APIError(self) } }
extension IntakeUnavailable: APIErrorConvertible { var apiError: APIError { APIError(self) } }
extension SessionServiceError: APIErrorConvertible { var apiError: APIError { APIError(self) } }
extension LinkRequestError: APIErrorConvertible { var apiError: APIError { APIError(self) } }
extension AccountEventIntakeError: APIErrorConvertible { var apiError: APIError { APIError(self) } }

extension APIError {
    /// The answer `error` gets, when it is one the edge answers by design (not a failure of the server).
    init?(answering error: any Error) {
        switch error {
        case let error as APIError: self = error
        case let error as any APIErrorConvertible: self = error.apiError
        case let error as HTTPError: self = APIError(error)
        // A body read past its limit anywhere: the client's fault, never a 500.
        case is NIOTooManyBytesError: self = APIError(.contentTooLarge, code: "payload_too_large", message: "the request body is too large")
        default: return nil
        }
    }
}

/// The outermost middleware and the one place errors become answers: every failure leaves as an `APIError` with a JSON
/// body and a stable code. A domain refusal gets its own answer (a 5xx one logged with its reason); Hummingbird's own
/// refusals keep their status; a store failure is 503 `store_unavailable`; anything else is 500 `internal_error`,
/// logged at error level. No client ever sees an empty 500.
struct ErrorMappingMiddleware: RouterMiddleware {
    typealias Context = VaultRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let answer = APIError(answering: error) {
                if answer.status.code >= 500, !(error is APIError) {
                    let level: Logger.Level = answer.status == .serviceUnavailable ? .warning : .error
                    context.logger.log(level: level, "request not served", metadata: ["code": "\(answer.code)", "reason": "\(error)"])
                }
                throw answer
            }
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            throw Self.isStoreFailure(error) ? APIError.storeUnavailable : APIError.internalError
        }
    }

    /// PostgreSQL could not answer: down, unreachable, or refusing queries.
    static func isStoreFailure(_ error: any Error) -> Bool {
        error is PSQLError || error is PostgresDecodingError || error is VaultStoreError || error is DeadlineExceeded
    }
}

/// A domain rule a value broke, in words that follow the value's name ("is required", "must be ASCII only").
protocol RuleViolation: Error {
    var rule: String { get }
}

extension IntakeError: RuleViolation {
    var rule: String {
        switch self {
        case .invalidField(_, let reason): "is invalid: \(reason)"
        default: "is required"
        }
    }
}

extension LinkRequestError: RuleViolation {
    var rule: String {
        if case .invalidField(_, let rule) = self { return rule }
        return "is invalid"
    }
}

extension VaultRequestContext {
    /// The path parameter `name`, percent-decoded (`alice%40example.com`, a `/` sent as `%2F`) and made a value by
    /// `parse`; a bad encoding is 400 `invalid_path_encoding`, a broken rule 400 `invalid_path_parameter` naming it.
    func pathParameter<Value>(_ name: String, _ parse: (String) throws -> Value) throws -> Value {
        guard let raw = parameters.get(name), let decoded = raw.removingPercentEncoding else {
            throw APIError.badRequest("invalid_path_encoding", "the path parameter '\(name)' is not valid percent-encoded UTF-8", field: name)
        }
        do {
            return try parse(decoded)
        } catch let violation as any RuleViolation {
            throw APIError.badRequest("invalid_path_parameter", "the path parameter '\(name)' \(violation.rule)", field: name)
        }
    }
}

extension Request {
    /// The query parameter `name` made a value by `parse`: nil when absent, 400 `invalid_query` saying `rule` when
    /// `parse` refuses it.
    func query<Value>(_ name: String, rule: String, _ parse: (String) -> Value?) throws -> Value? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = parse(text) else { throw APIError.badRequest("invalid_query", rule, field: name) }
        return value
    }

    /// `?limit=`, 1–1000, `fallback` when absent.
    func limit(default fallback: Int = 100) throws -> Int {
        try query("limit", rule: "limit must be 1-1000") { Int($0).flatMap { (1...1000).contains($0) ? $0 : nil } } ?? fallback
    }

    /// `?site=`, when given.
    var site: String? { uri.queryParameters.get("site") }
}
