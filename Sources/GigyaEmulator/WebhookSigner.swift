import Crypto
import Foundation
import GigyaKit

/// Both signatures of a webhook notification (docs/gigya-protocol.md §7, §12): `X-Gigya-Sig-Hmac-Sha1` with the partner
/// secret, and `X-Gigya-Sig-JWT` with the data centre's current RSA key, the one `accounts.getJWTPublicKey` publishes.
struct WebhookSigner: Sendable {
    /// A JWT's lifetime: `exp = iat + 60`, as in the decoded Gigya example of §7.
    static let jwtLifetime: Int64 = 60

    /// The sites, by API key.
    let sites: [String: SiteKeys]
    /// The emulator's RSA keys per data centre.
    let keys: EmulatorJWTKeyRing

    /// base64 HMAC-SHA1 of the exact body bytes, keyed with the base64-decoded partner secret.
    func hmac(_ body: [UInt8], site: SiteKeys) -> String {
        site.partnerSecret.signature(forBytes: body)
    }

    /// The RS256 JWT of a body: header `{alg, kid, typ, dc}`, claims `jti`, `iat`, `exp = iat + 60`, `iss`, and `sub` =
    /// base64url(SHA-256(body)); signed with the current key, or with a key published nowhere. Nil only if RSA signing fails.
    func jwt(_ body: [UInt8], site: SiteKeys, jti: String, issuedAt: Int64, foreignKey: Bool = false) -> String? {
        // §9.6: what `sub` covers is not documented; SHA-256 of the body is the reading of the 43-character example.
        let key = foreignKey ? EmulatorJWTKeyRing.Key.generate() : keys.current(dataCenter: site.site.dataCenter)
        let header: [String: GigyaJSON] = [
            "alg": .string("RS256"), "kid": .string(key.kid), "typ": .string("JWT"), "dc": .string(site.site.dataCenter),
        ]
        let claims: [String: GigyaJSON] = [
            "jti": .string(jti),
            "iat": .number(Double(issuedAt)),
            "exp": .number(Double(issuedAt + Self.jwtLifetime)),
            "iss": .string(IDTokenVerifier.issuer(apiKey: site.site.apiKey)),
            "sub": .string(Base64URL.encode(SHA256.hash(data: body))),
        ]
        return EmulatorCore.token(header: header, claims: claims, signing: .rsa(key.privateKey))
    }
}
