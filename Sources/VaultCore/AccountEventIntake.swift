import Crypto
public import Foundation
public import GigyaKit
public import VaultStore

/// Which signature headers a site's notifications must carry (`webhooks.signatures`). A header sent beyond the required
/// ones is checked too: when both are sent, both must verify.
public enum WebhookSignaturePolicy: String, Sendable, CaseIterable, Equatable {
    /// `X-Gigya-Sig-Hmac-Sha1` is required: it signs the exact body. The default wherever the site's secret can sign,
    /// which is every configured site (each has its partner secret).
    case hmac
    /// `X-Gigya-Sig-JWT` is required. A notification signed by its JWT alone carries destructive events only when the
    /// JWT's `sub` is the body's SHA-256 (`WebhookJWTBinding.bodyDigest`).
    case jwt
    /// Both headers are required.
    case both

    /// Whether the HMAC header must be present.
    var requiresHMAC: Bool { self != .jwt }
    /// Whether the JWT header must be present.
    var requiresJWT: Bool { self != .hmac }
}

/// Why a notification was not taken.
public enum AccountEventIntakeError: Error, Sendable, Equatable {
    /// Refused: unsigned, badly signed, stale or malformed; nothing was stored.
    case refused(WebhookRefusal)
    /// The notification names a site that is not configured; it cannot be verified, nothing was stored.
    case unknownSite
    /// The data centre's keys cannot be fetched to check a JWT; nothing was stored, Gigya will retry.
    case keysUnavailable
    /// The store did not take the batch in time; nothing (or, when `outcomeUnknown`, maybe all) was stored. Gigya retries
    /// and duplicates are recognised by their ids.
    case notStored(outcomeUnknown: Bool)
}

/// Takes Gigya's account notifications (`POST /v1/webhooks/gigya`): verifies them, then stores the whole batch in one
/// transaction before answering, within Gigya's 10 s; the account-event worker acts on the events.
public struct AccountEventIntake: Sendable {
    private let sites: SiteDirectory
    private let keys: JWTKeyCache?
    private let store: any AccountEventRepository
    private let writeDeadline: Duration
    private let metrics: VaultMetrics

    public init(
        sites: SiteDirectory, keys: JWTKeyCache?, store: any AccountEventRepository, writeDeadline: Duration = .seconds(5),
        metrics: VaultMetrics = .discarding
    ) {
        self.sites = sites
        self.keys = keys
        self.store = store
        self.writeDeadline = writeDeadline
        self.metrics = metrics
    }

    /// Verifies and stores one notification; `body` is the exact bytes received (the HMAC covers them).
    ///
    /// The site's policy names the headers required; every header sent is verified. A notification verified by a JWT
    /// alone must bind its body through `sub` to carry events that delete or move data. Its nonce is accepted once, for
    /// one body (a re-delivery of the same bytes is recognised, a replayed JWT over other events is not stored).
    public func receive(body: [UInt8], hmac: String?, jwt: String?) async throws(AccountEventIntakeError) -> AccountEventReceipt {
        let hmac = hmac.flatMap { $0.isEmpty ? nil : $0 }
        let jwt = jwt.flatMap { $0.isEmpty ? nil : $0 }
        guard hmac != nil || jwt != nil else { throw .refused(.unsigned) }
        let notification: WebhookNotification
        do throws(WebhookRefusal) {
            notification = try WebhookNotification(parsing: body)
        } catch {
            throw .refused(error)
        }
        guard let site = sites.site(apiKey: notification.apiKey) else { throw .unknownSite }
        if site.webhookSignatures.requiresHMAC, hmac == nil { throw .refused(.signatureRequired("X-Gigya-Sig-Hmac-Sha1")) }
        if site.webhookSignatures.requiresJWT, jwt == nil { throw .refused(.signatureRequired("X-Gigya-Sig-JWT")) }
        if let hmac, !site.webhookVerifier.hmacIsValid(hmac, body: body) { throw .refused(.badHMAC) }
        do throws(WebhookRefusal) {
            try site.webhookVerifier.checkFreshness(notification)
        } catch {
            throw .refused(error)
        }
        if let jwt {
            let binding = try await verify(jwt, notification, body: body, site: site)
            metrics.webhookJWTBinding(binding, withHMAC: hmac != nil)
            if hmac == nil, binding != .bodyDigest, notification.events.contains(where: \.isDestructive) {
                throw .refused(.unboundDestructive)
            }
        }
        let events = notification.events.map {
            NewAccountEvent(site: $0.apiKey, eventID: $0.id, type: $0.type, uid: $0.uid, newUID: $0.newUID, timestamp: $0.timestamp)
        }
        // The nonce is kept while the notification's timestamp (which a JWT's iat equals) could still be accepted.
        let stamp = NotificationStamp(
            site: notification.apiKey, nonce: notification.nonce, bodyDigest: Array(SHA256.hash(data: body)),
            expiresAt: Date(timeIntervalSince1970: TimeInterval(notification.timestamp + site.webhookVerifier.maxAgeSeconds + site.webhookVerifier.leewaySeconds + 60)))
        let result: AccountEventStoreResult
        do {
            result = try await withDeadline(writeDeadline) { [store] in try await store.storeAccountEvents(events, notification: stamp) }
        } catch is DeadlineExceeded {
            throw .notStored(outcomeUnknown: true)
        } catch let error as VaultStoreError where error == .commitOutcomeUnknown {
            throw .notStored(outcomeUnknown: true)
        } catch {
            throw .notStored(outcomeUnknown: false)
        }
        switch result {
        case .stored(let receipt): return receipt
        case .nonceReused: throw .refused(.nonceReused)
        }
    }

    /// Checks `X-Gigya-Sig-JWT` under the site's data-centre keys (refetched once for an unknown `kid`, as for id_tokens);
    /// answers what of the body it binds.
    private func verify(_ token: String, _ notification: WebhookNotification, body: [UInt8], site: GigyaSite) async throws(AccountEventIntakeError)
        -> WebhookJWTBinding
    {
        guard let keys else { throw .keysUnavailable }
        let keySet: JWTKeySet
        do throws(JWTKeyLookupFailure) {
            keySet = try await keys.keys(dataCenter: site.dataCenter, forToken: WebhookSignatureVerifier.keyID(of: token))
        } catch {
            switch error {
            case .unavailable: throw .keysUnavailable
            case .unknownKeyID: throw .refused(.badJWT("unknown kid"))
            }
        }
        do throws(WebhookRefusal) {
            return try await site.webhookVerifier.verifyJWT(token, notification: notification, body: body, keys: keySet)
        } catch {
            throw .refused(error)
        }
    }
}
