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
        router.post("/v1/webhooks/gigya") { request, context in try await self.receive(request, context: context) }
    }

    private func receive(_ request: Request, context: VaultRequestContext) async throws -> Response {
        if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
            // Which bytes Gigya's signature covers for a compressed 3.0 message is not documented: refused, not guessed.
            throw APIError(.unsupportedMediaType, code: "unsupported_encoding", message: "send the notification uncompressed")
        }
        var request = request
        let body = try await request.collectBody(upTo: Self.maxBodyBytes, refusing: Self.tooLarge)
        do {
            let receipt = try await intake.receive(
                body: Array(buffer: body), hmac: request.headers[Self.hmacHeader], jwt: request.headers[Self.jwtHeader])
            metrics.webhookNotification(outcome: "stored")
            context.logger.info("account notification stored", metadata: ["events": "\(receipt.received)", "new": "\(receipt.new)"])
            return try JSONResponse.make(receipt, status: .ok)
        } catch let error as AccountEventIntakeError {
            metrics.webhookNotification(outcome: APIError(error).code)
            context.logger.notice("account notification refused", metadata: ["reason": "\(APIError(error).code)"])
            throw APIError(error)
        }
    }

    static let hmacHeader = HTTPField.Name("X-Gigya-Sig-Hmac-Sha1")!
    static let jwtHeader = HTTPField.Name("X-Gigya-Sig-JWT")!

    static let tooLarge = APIError(
        .contentTooLarge, code: "payload_too_large", message: "notifications are limited to \(maxBodyBytes) bytes")
}
