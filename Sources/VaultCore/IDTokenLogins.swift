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

/// The id_token side of one site: what it accepts, its verifier (issuer, `apiKey`, audience, leeway) and its data centre.
public struct IDTokenSite: Sendable {
    public let apiKey: String
    public let verification: LoginVerification
    /// Checks the site's tokens; fixed `iss`, `apiKey` and the optional audience.
    public let verifier: IDTokenVerifier
    /// Whose keys sign the site's tokens (keys are per data centre, docs/gigya-protocol.md §10).
    public let dataCenter: DataCenter

    public init(apiKey: String, verification: LoginVerification, verifier: IDTokenVerifier, dataCenter: DataCenter) {
        self.apiKey = apiKey
        self.verification = verification
        self.verifier = verifier
        self.dataCenter = dataCenter
    }
}

/// Why an id_token could not be checked now: not a refusal of the token, an outage (the keys cannot be had).
public enum IDTokenCheckFailure: Error, Sendable, Equatable {
    /// The token was refused; its code says which check failed.
    case refused(IDTokenRefusal)
    /// The data centre's keys are not cached and cannot be fetched.
    case keysUnavailable(JWTKeysUnavailable)
}

/// What intake needs for id_tokens: every site's accepted kinds and verifier, and the key cache they share.
public struct IDTokenLogins: Sendable {
    private let sites: [String: IDTokenSite]
    /// The shared key cache; nil when no site accepts id_tokens.
    public let keys: JWTKeyCache?

    public init(sites: [IDTokenSite], keys: JWTKeyCache?) {
        self.sites = Dictionary(sites.map { ($0.apiKey, $0) }, uniquingKeysWith: { first, _ in first })
        self.keys = keys
    }

    /// No site accepts id_tokens: every site takes signatures only.
    public static var signaturesOnly: IDTokenLogins { IDTokenLogins(sites: [], keys: nil) }

    /// What a site accepts; a site not listed takes signatures only.
    public func verification(site apiKey: String) -> LoginVerification {
        sites[apiKey]?.verification ?? .signatures
    }

    /// The last second the site could accept a token with these claims (`IDTokenVerifier.acceptableUntil`).
    public func acceptableUntil(_ claims: IDTokenClaims, site apiKey: String) -> Int64 {
        sites[apiKey]?.verifier.acceptableUntil(issuedAt: claims.issuedAt, expiresAt: claims.expiresAt) ?? claims.expiresAt
    }

    /// Verifies a token for a site and the posted UID, refetching the keys once if the token names an unknown `kid`.
    ///
    /// `alg` is checked before any key is looked up, so an unsigned or HMAC token never causes a fetch.
    public func verify(_ token: String, uid: String, site apiKey: String) async throws(IDTokenCheckFailure) -> IDTokenClaims {
        // Intake checks the site's mode first; a site without a policy or a cache here is a wiring mistake, not a refusal.
        guard let site = sites[apiKey], let keys else {
            throw .keysUnavailable(JWTKeysUnavailable(dataCenter: sites[apiKey]?.dataCenter ?? .us1, reason: "no id_token keys are configured"))
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
            return try await site.verifier.verify(token, expectedUID: uid, keys: keySet)
        } catch {
            throw .refused(error)
        }
    }
}
