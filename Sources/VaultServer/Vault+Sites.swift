import AsyncHTTPClient
import GigyaClient
public import GigyaKit
import Logging
import Metrics
import VaultCore

/// The sites of the assembly: each built once, in one record, from its settings; and the one key cache their JWTs use.
extension Vault {
    /// Builds one site: its login verifiers (partner secret, id_tokens), its signed REST client, its providers and
    /// account options, and its webhook verifier (partner secret and signing user key's secret).
    static func makeSite(
        _ site: SiteSettings, settings: ServerSettings, httpClient: HTTPClient, metrics: any MetricsFactory, logger: Logger
    ) throws -> GigyaSite {
        try checkCanDecrypt(site)
        let partnerSecret = try secret(site.secret, key: "gigya.secret", site: site.apiKey)
        let signingSecret = try site.userSecret.map { try secret($0, key: "gigya.userSecret", site: site.apiKey) }
        let configuration = GigyaSiteConfiguration(
            apiKey: site.apiKey,
            secret: signingSecret ?? partnerSecret,
            userKey: site.userKey,
            partnerSecret: signingSecret == nil ? nil : partnerSecret,
            apiDomain: site.apiDomain,
            baseURL: site.baseURL,
            timeout: settings.gigyaTimeout
        )
        var providers = ProviderPolicy.gigyaDefault
        if let patterns = site.providers {
            guard let policy = ProviderPolicy(patterns: patterns) else {
                throw SettingsError.invalid(key: "gigya.providers", reason: "the provider list of site \(site.apiKey) is empty or malformed")
            }
            providers = policy
        }
        let clock = settings.jwtKeys.clock
        let client = GigyaRESTClient(site: configuration, httpClient: httpClient, metrics: metrics, logger: logger)
        return GigyaSite(
            apiKey: site.apiKey,
            dataCenter: DataCenter(site.apiDomain),
            verifier: LoginSignatureVerifier(secret: partnerSecret, windowSeconds: settings.signatureWindowSeconds),
            loginVerification: site.loginVerification,
            idTokenVerifier: IDTokenVerifier(
                apiKey: site.apiKey, audience: site.idTokenAudience, leewaySeconds: settings.idTokenLeewaySeconds,
                maxAgeSeconds: settings.idTokenMaxAgeSeconds ?? settings.signatureWindowSeconds, clock: clock),
            gigya: client,
            providers: providers,
            directory: client,
            accounts: site.accounts,
            webhookVerifier: WebhookSignatureVerifier(
                apiKey: site.apiKey, secrets: [partnerSecret] + (signingSecret.map { [$0] } ?? []), maxAgeSeconds: settings.webhookMaxAgeSeconds,
                clock: clock),
            webhookSignatures: site.webhookSignatures
        )
    }

    /// One key cache over every configured site's data centre, fetched through the first site there (keys are per data
    /// centre, docs/gigya-protocol.md §10); nil when no site is configured. Nothing is fetched until a JWT arrives or, for
    /// the data centres of sites that accept id_tokens, the refresher warms it.
    static func makeKeyCache(_ settings: ServerSettings, httpClient: HTTPClient, metrics: VaultMetrics, logger: Logger) -> JWTKeyCache? {
        var sources: [DataCenter: any GigyaJWTKeySource] = [:]
        for site in settings.sites where sources[DataCenter(site.apiDomain)] == nil {
            sources[DataCenter(site.apiDomain)] = GigyaJWTKeyClient(
                apiKey: site.apiKey, baseURL: site.baseURL, httpClient: httpClient, timeout: settings.gigyaTimeout
            )
        }
        return sources.isEmpty ? nil : JWTKeyCache(sources: sources, settings: settings.jwtKeys, metrics: metrics, logger: logger)
    }

    /// The data centres whose keys are kept warm: those of the sites that accept id_tokens, where a login must not wait.
    public var warmKeyDataCenters: [DataCenter] {
        Array(Set(sites.all.filter { $0.loginVerification.accepts(.idToken) }.map(\.dataCenter))).sorted { $0.apiDomain < $1.apiDomain }
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

    /// A site's base64 secret; the error names the key and the site, never the value.
    private static func secret(_ base64: String, key: String, site: String) throws -> GigyaSecret {
        do {
            return try GigyaSecret(base64: base64)
        } catch {
            throw SettingsError.invalid(key: key, reason: "the secret of site \(site) is not valid base64")
        }
    }
}
