import GigyaKit

/// A site with its secrets decoded once.
struct SiteKeys: Sendable {
    /// The site as configured.
    let site: EmulatorSite
    /// The partner secret: verifies signatures, signs logins and webhooks, keys the token cipher.
    let partnerSecret: GigyaSecret
    /// AES-CBC under the partner secret (docs/gigya-protocol.md §4).
    let cipher: TokenCipher
    /// User-key secrets by user key.
    let userKeys: [String: GigyaSecret]
}
