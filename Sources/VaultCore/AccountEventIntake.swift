public import Foundation
public import GigyaKit
public import VaultStore

/// One site as webhooks see it: the verifier of its notifications and the data centre whose keys sign its JWTs.
public struct WebhookSite: Sendable {
    public let verifier: WebhookSignatureVerifier
    public let dataCenter: DataCenter

    public init(verifier: WebhookSignatureVerifier, dataCenter: DataCenter) {
        self.verifier = verifier
        self.dataCenter = dataCenter
    }
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
    private let sites: [String: WebhookSite]
    private let keys: JWTKeyCache?
    private let store: any AccountEventRepository
    private let writeDeadline: Duration

    public init(sites: [WebhookSite], keys: JWTKeyCache?, store: any AccountEventRepository, writeDeadline: Duration = .seconds(5)) {
        self.sites = Dictionary(sites.map { ($0.verifier.apiKey, $0) }, uniquingKeysWith: { first, _ in first })
        self.keys = keys
        self.store = store
        self.writeDeadline = writeDeadline
    }

    /// Verifies and stores one notification; `body` is the exact bytes received (the HMAC covers them).
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
        guard let site = sites[notification.apiKey] else { throw .unknownSite }
        if let hmac, !site.verifier.hmacIsValid(hmac, body: body) { throw .refused(.badHMAC) }
        do throws(WebhookRefusal) {
            try site.verifier.checkFreshness(notification)
        } catch {
            throw .refused(error)
        }
        if let jwt { try await verify(jwt, notification, site: site) }
        let events = notification.events.map {
            NewAccountEvent(site: $0.apiKey, eventID: $0.id, type: $0.type, uid: $0.uid, newUID: $0.newUID, timestamp: $0.timestamp)
        }
        do {
            return try await withDeadline(writeDeadline) { [store] in try await store.storeAccountEvents(events) }
        } catch is DeadlineExceeded {
            throw .notStored(outcomeUnknown: true)
        } catch let error as VaultStoreError where error == .commitOutcomeUnknown {
            throw .notStored(outcomeUnknown: true)
        } catch {
            throw .notStored(outcomeUnknown: false)
        }
    }

    /// Checks `X-Gigya-Sig-JWT` under the site's data-centre keys, refetching once for an unknown `kid`.
    private func verify(_ token: String, _ notification: WebhookNotification, site: WebhookSite) async throws(AccountEventIntakeError) {
        guard let keys else { throw .keysUnavailable }
        let cached: JWTKeySet
        do throws(JWTKeysUnavailable) {
            cached = try await keys.keys(dataCenter: site.dataCenter)
        } catch {
            throw .keysUnavailable
        }
        if let kid = WebhookSignatureVerifier.keyID(of: token), !cached.contains(kid: kid) {
            let refreshed: JWTKeySet
            do throws(JWTKeysUnavailable) {
                refreshed = try await keys.keys(dataCenter: site.dataCenter, afterUnknownKeyID: kid)
            } catch {
                throw .refused(.badJWT("unknown kid"))
            }
            do throws(WebhookRefusal) {
                try await site.verifier.verifyJWT(token, notification: notification, keys: refreshed)
            } catch {
                throw .refused(error)
            }
            return
        }
        do throws(WebhookRefusal) {
            try await site.verifier.verifyJWT(token, notification: notification, keys: cached)
        } catch {
            throw .refused(error)
        }
    }
}
