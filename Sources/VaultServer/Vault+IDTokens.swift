import AsyncHTTPClient
import GigyaClient
import GigyaKit
import Logging
import VaultCore

/// The id_token parts of the assembly: each site's verifier and the key cache over one key client per data centre.
extension Vault {
    /// Builds every site's id_token policy and, when some site accepts id_tokens, one key cache for all of them.
    static func makeIDTokenLogins(_ settings: ServerSettings, httpClient: HTTPClient, metrics: VaultMetrics, logger: Logger) -> IDTokenLogins {
        var sites: [IDTokenSite] = []
        var sources: [DataCenter: any GigyaJWTKeySource] = [:]
        for site in settings.sites {
            let dataCenter = DataCenter(site.apiDomain)
            let verifier = IDTokenVerifier(
                apiKey: site.apiKey, audience: site.idTokenAudience, leewaySeconds: settings.idTokenLeewaySeconds,
                maxAgeSeconds: settings.idTokenMaxAgeSeconds ?? settings.signatureWindowSeconds, clock: settings.jwtKeys.clock
            )
            sites.append(IDTokenSite(apiKey: site.apiKey, verification: site.loginVerification, verifier: verifier, dataCenter: dataCenter))
            // Keys are per data centre (docs/gigya-protocol.md §10): the first site there that takes tokens fetches for all.
            if site.loginVerification.accepts(.idToken), sources[dataCenter] == nil {
                sources[dataCenter] = GigyaJWTKeyClient(
                    apiKey: site.apiKey, baseURL: site.baseURL, httpClient: httpClient, timeout: settings.gigyaTimeout
                )
            }
        }
        let cache = sources.isEmpty ? nil : JWTKeyCache(sources: sources, settings: settings.jwtKeys, metrics: metrics, logger: logger)
        return IDTokenLogins(sites: sites, keys: cache)
    }

    /// Refuses a site that could not decrypt what `socialize.getSessionInfo` returns: Gigya encrypts the provider tokens
    /// with the partner secret (docs/gigya-protocol.md §4), whether login results arrive signed or as id_tokens.
    static func checkCanDecrypt(_ site: SiteSettings) throws(SettingsError) {
        guard !site.secret.isEmpty else {
            throw .invalid(
                key: "gigya.secret",
                reason: "site \(site.apiKey) has no partner secret; it decrypts the provider tokens socialize.getSessionInfo returns, also "
                    + "for sites that accept id_tokens or sign REST calls with a user or RSA key"
            )
        }
    }
}

/// The webhook parts of the assembly: each site's notification verifier, and the key cache for JWT-signed notifications.
extension Vault {
    /// One verifier per site, over its partner secret and, when configured, its signing user key's secret.
    static func makeWebhookSites(_ settings: ServerSettings) throws -> [WebhookSite] {
        try settings.sites.map { site in
            var secrets = [try webhookSecret(site.secret, key: "gigya.secret", site: site.apiKey)]
            if let userSecret = site.userSecret { secrets.append(try webhookSecret(userSecret, key: "gigya.userSecret", site: site.apiKey)) }
            let verifier = WebhookSignatureVerifier(
                apiKey: site.apiKey, secrets: secrets, maxAgeSeconds: settings.webhookMaxAgeSeconds, clock: settings.jwtKeys.clock
            )
            return WebhookSite(verifier: verifier, signatures: site.webhookSignatures, dataCenter: DataCenter(site.apiDomain))
        }
    }

    /// The id_token key cache when there is one; otherwise a cache of its own, fetched on the first JWT-signed notification
    /// (no refresher: sites that never send JWT-signed notifications never cost a key fetch).
    static func makeWebhookKeys(
        _ settings: ServerSettings, reusing idTokenKeys: JWTKeyCache?, httpClient: HTTPClient, metrics: VaultMetrics, logger: Logger
    ) -> JWTKeyCache? {
        var sources: [DataCenter: any GigyaJWTKeySource] = [:]
        for site in settings.sites where sources[DataCenter(site.apiDomain)] == nil {
            sources[DataCenter(site.apiDomain)] = GigyaJWTKeyClient(
                apiKey: site.apiKey, baseURL: site.baseURL, httpClient: httpClient, timeout: settings.gigyaTimeout
            )
        }
        if let idTokenKeys, Set(idTokenKeys.dataCenters) == Set(sources.keys) { return idTokenKeys }
        return sources.isEmpty ? nil : JWTKeyCache(sources: sources, settings: settings.jwtKeys, metrics: metrics, logger: logger)
    }

    private static func webhookSecret(_ base64: String, key: String, site: String) throws -> GigyaSecret {
        do {
            return try GigyaSecret(base64: base64)
        } catch {
            throw SettingsError.invalid(key: key, reason: "the secret of site \(site) is not valid base64")
        }
    }
}
