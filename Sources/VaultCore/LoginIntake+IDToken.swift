import Crypto
import Foundation
import GigyaKit
import VaultStore

/// Intake's id_token path: which kind of login result to check, the token's shape, its verification and replay key.
extension LoginIntake {
    /// Picks the credential to verify: the id_token when the site accepts tokens and one was posted, else the signature
    /// when the site accepts signatures and one was posted; otherwise the site does not accept what was sent.
    func loginKind(of result: LoginResult, site: GigyaSite) throws(IntakeError) -> LoginKind {
        let verification = site.loginVerification
        let hasToken = !(result.idToken ?? "").isEmpty
        let hasSignature = !result.uidSignature.isEmpty && !result.signatureTimestamp.isEmpty
        if hasToken && verification.accepts(.idToken) { return .idToken }
        if hasSignature && verification.accepts(.signature) { return .signature }
        throw .notAccepted(hasToken ? .idToken : .signature)
    }

    /// The token's structure only (size, three base64url parts, JSON header and payload): a 400 before any site or key.
    static func validateIDTokenShape(_ token: String) throws(IntakeError) {
        do {
            try IDTokenVerifier.checkShape(token)
        } catch {
            throw .idToken(error)
        }
    }

    /// Verifies the login result's id_token and makes its event: `iat` goes where a signature's timestamp would, and the
    /// replay key lives until the token could no longer be accepted (the earlier of `exp` and its maximum age, plus the
    /// leeway), plus the usual margin.
    func idTokenEvent(_ result: LoginResult, site: GigyaSite) async throws -> NewLoginEvent {
        let claims: IDTokenClaims
        do throws(IDTokenCheckFailure) {
            claims = try await idTokens.verify(result.idToken ?? "", uid: result.uid, site: site)
        } catch {
            switch error {
            case .refused(let refusal):
                throw IntakeError.idToken(refusal)
            case .keysUnavailable:
                metrics.callbackUnavailable("keys_unavailable")
                throw IntakeUnavailable.keysUnavailable
            }
        }
        let acceptableUntil = site.idTokenVerifier.acceptableUntil(issuedAt: claims.issuedAt, expiresAt: claims.expiresAt) + settings.replayMarginSeconds
        return NewLoginEvent(
            site: site.apiKey,
            uid: result.uid,
            provider: result.provider,
            signatureTimestamp: claims.issuedAt,
            replayKey: Self.idTokenReplayKey(site: site.apiKey, uid: result.uid, provider: result.provider, token: claims.replayDigest),
            replayExpiresAt: Date(timeIntervalSince1970: TimeInterval(acceptableUntil)),
            loginKey: Self.idTokenReplayKey(site: site.apiKey, uid: result.uid, provider: "", token: claims.replayDigest),
            maxEventsPerLogin: settings.maxEventsPerLogin
        )
    }

    /// The replay key of a token: a digest over site, UID, provider and the token's `replayDigest` (SHA-256 of its decoded
    /// signature), so the same token posted twice, however spelled, is one event and the token itself is never stored. With an empty provider it is the token's
    /// budget key: every provider posted with one token counts against the same `maxEventsPerLogin`. The provider is in it for the same reason as
    /// in `replayKey(site:result:)`: a token names the user, not the provider of this login.
    static func idTokenReplayKey(site: String, uid: String, provider: String, token digest: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        for part in ["login-id-token-v1", site, uid, provider] {
            var length = UInt32(part.utf8.count).bigEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(data: Array(part.utf8))
        }
        hasher.update(data: digest)
        return Array(hasher.finalize())
    }
}
