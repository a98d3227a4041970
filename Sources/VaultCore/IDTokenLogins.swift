public import GigyaKit

/// Which login results a site accepts: `UIDSignature`s (partner secret), Gigya id_tokens (RS256), or both.
public enum LoginVerification: String, Sendable, CaseIterable, Equatable {
    /// `UIDSignature` and `signatureTimestamp` only: the default, so no deployment starts taking a new credential unasked.
    case signatures
    /// `id_token` only, for sites whose web apps ask the Web SDK for `include: 'id_token'` (docs/gigya-protocol.md §10).
    case idTokens = "id_tokens"
    /// Either; a callback carrying both is checked by its id_token.
    case both

    /// Whether a login result of this kind is accepted.
    public func accepts(_ kind: LoginKind) -> Bool {
        switch (self, kind) {
        case (.both, _), (.signatures, .signature), (.idTokens, .idToken): true
        default: false
        }
    }
}

/// The credential a login result carries.
public enum LoginKind: String, Sendable, Equatable {
    /// `UIDSignature` with `signatureTimestamp`.
    case signature
    /// `id_token`.
    case idToken = "id_token"

    /// The refusal code when a site does not accept this kind.
    public var refusalCode: String {
        switch self {
        case .signature: "signatures_not_accepted"
        case .idToken: "id_tokens_not_accepted"
        }
    }
}

/// Why an id_token could not be checked now: not a refusal of the token, an outage (the keys cannot be had).
public enum IDTokenCheckFailure: Error, Sendable, Equatable {
    /// The token was refused; its code says which check failed.
    case refused(IDTokenRefusal)
    /// The data centre's keys are not cached and cannot be fetched.
    case keysUnavailable(JWTKeysUnavailable)
}

/// What intake needs for id_tokens beyond each site's record: the key cache every JWT path shares.
public struct IDTokenLogins: Sendable {
    /// The shared key cache; nil when no site is configured.
    public let keys: JWTKeyCache?

    public init(keys: JWTKeyCache?) {
        self.keys = keys
    }

    /// No keys: every id_token is answered as an outage; for sites that take signatures only.
    public static var signaturesOnly: IDTokenLogins { IDTokenLogins(keys: nil) }

    /// Verifies a token for a site and the posted UID, refetching the keys once if the token names an unknown `kid`.
    ///
    /// `alg` is checked before any key is looked up, so an unsigned or HMAC token never causes a fetch.
    public func verify(_ token: String, uid: String, site: GigyaSite) async throws(IDTokenCheckFailure) -> IDTokenClaims {
        guard let keys else {
            throw .keysUnavailable(JWTKeysUnavailable(dataCenter: site.dataCenter, reason: "no id_token keys are configured"))
        }
        let kid: String?
        do throws(IDTokenRefusal) {
            kid = try IDTokenVerifier.signingKeyID(of: token)
        } catch {
            throw .refused(error)
        }
        let keySet: JWTKeySet
        do throws(JWTKeyLookupFailure) {
            keySet = try await keys.keys(dataCenter: site.dataCenter, forToken: kid)
        } catch {
            switch error {
            case .unavailable(let reason): throw .keysUnavailable(reason)
            case .unknownKeyID: throw .refused(.unknownKeyID(kid))
            }
        }
        do throws(IDTokenRefusal) {
            return try await site.idTokenVerifier.verify(token, expectedUID: uid, keys: keySet)
        } catch {
            throw .refused(error)
        }
    }
}
