import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Logging
import VaultCore
import VaultStore

/// Gigya's account notifications: `POST /v1/webhooks/gigya`, authenticated by Gigya's signatures, not by an access key.
struct WebhooksController: Sendable {
    let intake: AccountEventIntake
    let metrics: VaultMetrics

    /// 500 events of a few hundred bytes each fit with room to spare.
    static let maxBodyBytes = 1 << 20

    func addRoutes(to router: Router<VaultRequestContext>) {
        router.group("/v1/webhooks/gigya")
            .add(middleware: NotificationRefusalCounter(metrics: metrics))
            .add(middleware: BodyLimitMiddleware(bytes: Self.maxBodyBytes))
            .post { request, context in try await self.receive(request, context: context) }
    }

    private func receive(_ request: Request, context: VaultRequestContext) async throws -> AccountEventReceipt {
        if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
            // Which bytes Gigya's signature covers for a compressed 3.0 message is not documented: refused, not guessed.
            throw APIError(.unsupportedMediaType, code: "unsupported_encoding", message: "send the notification uncompressed")
        }
        var request = request
        // The signatures cover the exact bytes: read, not decoded.
        let body = try await request.collectBody(limit: context.maxUploadSize)
        let receipt = try await intake.receive(
            body: Array(buffer: body), hmac: request.headers[Self.hmacHeader], jwt: request.headers[Self.jwtHeader])
        metrics.webhookNotification(outcome: "stored")
        context.logger.info("account notification stored", metadata: ["events": "\(receipt.received)", "new": "\(receipt.new)"])
        return receipt
    }

    static let hmacHeader = HTTPField.Name("X-Gigya-Sig-Hmac-Sha1")!
    static let jwtHeader = HTTPField.Name("X-Gigya-Sig-JWT")!
}

/// Counts each refused notification by its answer's code, and logs it without its content.
struct NotificationRefusalCounter: RouterMiddleware {
    typealias Context = VaultRequestContext

    let metrics: VaultMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let code = APIError(answering: error)?.code ?? "internal_error"
            metrics.webhookNotification(outcome: code)
            context.logger.notice("account notification refused", metadata: ["reason": "\(code)"])
            throw error
        }
    }
}
