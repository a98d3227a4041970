import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import VaultCore
import VaultStore

/// The outermost middleware: every failure leaves as an `APIError` with a JSON body and a stable code. Hummingbird's
/// own refusals keep their status; a store failure is 503 `store_unavailable`; anything else is 500 `internal_error`,
/// logged at error level. No client ever sees an empty 500.
struct ErrorMappingMiddleware: RouterMiddleware {
    typealias Context = VaultRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            throw APIError(error)
        } catch is NIOTooManyBytesError {
            // A body read past its limit anywhere: the client's fault, never a 500.
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "the request body is too large")
        } catch let error as SessionServiceError {
            throw APIError(error)
        } catch let error as IntakeError {
            throw APIError(error)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            throw Self.isStoreFailure(error) ? APIError.storeUnavailable : APIError.internalError
        }
    }

    /// PostgreSQL could not answer: down, unreachable, or refusing queries.
    static func isStoreFailure(_ error: any Error) -> Bool {
        error is PSQLError || error is PostgresDecodingError || error is VaultStoreError || error is DeadlineExceeded
    }
}
