import Foundation
import GigyaKit
import Logging
import Hummingbird

/// The `/_emulator/webhooks` control routes: the delivery log, the target URL, redeliveries and signatures on demand.
extension EmulatorCore {
    /// `POST /_emulator/webhooks/target` `{"url": "…"|null}`: where notifications go from the next attempt on.
    func setWebhookTarget(_ request: Request, context: EmulatorRequestContext) async -> Response {
        guard let body = await decodeBody(request, as: EmulatorWebhookTarget.self) else {
            return controlError(.invalidRequestFormat, "the body must be JSON {\"url\": \"http(s)://…\" or null}", status: 400)
        }
        if let url = body.url {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host?.isEmpty == false else {
                return controlError(.invalidParameterValue, "url must be an absolute http or https URL", status: 400)
            }
        }
        webhooks.setURL(body.url)
        logger.info("webhook target changed", metadata: ["set": "\(body.url != nil)"])
        return GigyaEmulator.jsonResponse(encoding: EmulatorWebhookTarget(url: webhooks.url))
    }

    /// `POST /_emulator/webhooks/redeliver` `{"nonce"?, "sameBody"?}`: queues a duplicate of a notification (the latest by
    /// default) with the same event ids; answers its new log entry.
    func redeliverWebhook(_ request: Request, context: EmulatorRequestContext) async -> Response {
        let data = (try? await request.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) }
        guard let data else {
            return controlError(.invalidRequestFormat, "the body must be JSON {nonce?, sameBody?}", status: 400)
        }
        let body: EmulatorRedeliveryRequest
        if data.isEmpty {
            body = EmulatorRedeliveryRequest()
        } else if let decoded = try? JSONDecoder().decode(EmulatorRedeliveryRequest.self, from: data) {
            body = decoded
        } else {
            return controlError(.invalidRequestFormat, "the body must be JSON {nonce?, sameBody?}", status: 400)
        }
        guard let delivery = webhooks.redeliver(nonce: body.nonce, sameBody: body.sameBody == true) else {
            return controlError(.invalidParameterValue, "no notification in the delivery log has that nonce", status: 404)
        }
        return GigyaEmulator.jsonResponse(encoding: delivery)
    }

    /// `POST /_emulator/webhooks/sign`: the `X-Gigya-Sig-Hmac-Sha1` and `X-Gigya-Sig-JWT` a notification with this exact
    /// body would carry, the JWT signed by the current key or by a key published nowhere.
    func signWebhook(_ request: Request, context: EmulatorRequestContext) async -> Response {
        guard let body = await decodeBody(request, as: EmulatorWebhookSignRequest.self) else {
            return controlError(
                .invalidRequestFormat, "the body must be JSON {apiKey?, body, signing?: currentKey|foreignKey, issuedAt?, jti?}", status: 400
            )
        }
        let site: SiteKeys
        switch controlSite(apiKey: body.apiKey) {
        case .success(let found): site = found
        case .failure(let failure): return failure.response
        }
        /// The fields of a notification body that the JWT repeats.
        struct Envelope: Decodable {
            let nonce: String?
            let timestamp: Int64?
        }
        let bytes = Array(body.body.utf8)
        let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(bytes))
        let issuedAt = body.issuedAt ?? envelope?.timestamp ?? clock.now()
        guard abs(issuedAt) <= 1 << 40 else {
            return controlError(.invalidParameterValue, "issuedAt must be within ±2^40", status: 400)
        }
        let jti = body.jti ?? envelope?.nonce ?? UUID().uuidString.lowercased()
        let signer = WebhookSigner(sites: sites, keys: jwtKeys)
        guard let jwt = signer.jwt(bytes, site: site, jti: jti, issuedAt: issuedAt, foreignKey: body.signing == .foreignKey) else {
            return controlError(.generalServerError, "token signing failed", status: 500)
        }
        return GigyaEmulator.jsonResponse(encoding: EmulatorWebhookSignatures(hmac: signer.hmac(bytes, site: site), jwt: jwt))
    }
}
