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
                apiKey: site.apiKey, audience: site.idTokenAudience, leewaySeconds: settings.idTokenLeewaySeconds, clock: settings.jwtKeys.clock
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
