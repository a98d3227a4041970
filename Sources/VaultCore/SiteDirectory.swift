public import GigyaClient
public import GigyaKit

/// One Gigya site session-vault serves, in one record: its API key and data centre, how its login results are verified
/// (`UIDSignature`s, id_tokens or both), the providers it accepts, where its sessions come from, how its accounts are
/// linked and followed, and how its webhook notifications are verified.
public struct GigyaSite: Sendable {
    public let apiKey: String
    /// Whose keys sign the site's id_tokens and webhook JWTs (keys are per data centre, docs/gigya-protocol.md §10).
    public let dataCenter: DataCenter
    /// Checks `UIDSignature`s (partner secret).
    public let verifier: LoginSignatureVerifier
    /// Which login results the site accepts.
    public let loginVerification: LoginVerification
    /// Checks the site's id_tokens: fixed `iss`, `apiKey`, the optional audience, leeway and maximum age.
    public let idTokenVerifier: IDTokenVerifier
    public let gigya: any GigyaSessionSource
    public let providers: ProviderPolicy
    /// The link calls and user lookups; nil where the site is not wired for linking (then links are refused).
    public let directory: (any GigyaAccountDirectory)?
    /// How the site's accounts may be linked and followed.
    public let accounts: SiteAccountOptions
    /// Checks the site's webhook notifications (its partner and signing user key's secrets, the issuer, the age).
    public let webhookVerifier: WebhookSignatureVerifier
    /// Which signature headers its notifications must carry.
    public let webhookSignatures: WebhookSignaturePolicy

    public init(
        apiKey: String,
        dataCenter: DataCenter = .us1,
        verifier: LoginSignatureVerifier,
        loginVerification: LoginVerification = .signatures,
        idTokenVerifier: IDTokenVerifier? = nil,
        gigya: any GigyaSessionSource,
        providers: ProviderPolicy = .gigyaDefault,
        directory: (any GigyaAccountDirectory)? = nil,
        accounts: SiteAccountOptions = SiteAccountOptions(),
        webhookVerifier: WebhookSignatureVerifier? = nil,
        webhookSignatures: WebhookSignaturePolicy = .hmac
    ) {
        self.apiKey = apiKey
        self.dataCenter = dataCenter
        self.verifier = verifier
        self.loginVerification = loginVerification
        self.idTokenVerifier = idTokenVerifier ?? IDTokenVerifier(apiKey: apiKey)
        self.gigya = gigya
        self.providers = providers
        self.directory = directory
        self.accounts = accounts
        self.webhookVerifier = webhookVerifier ?? WebhookSignatureVerifier(apiKey: apiKey, secrets: [])
        self.webhookSignatures = webhookSignatures
    }
}

/// A site's account settings: whether it uses Gigya's accounts (RaaS) API, whether links may rename its accounts, and
/// whether a login event refreshes the user's stored sessions.
public struct SiteAccountOptions: Sendable, Equatable {
    /// The site has Gigya accounts (RaaS): `accounts.search` works there, and linking renames an account (§11).
    public var accountsAPI: Bool
    /// Links (setUID / notifyRegistration) are allowed on an accounts site, where they rename the account's UID.
    public var allowRenameOnAccountsSite: Bool
    /// An `accountLoggedIn` event refreshes every stored session of the user.
    public var refreshOnLogin: Bool

    public init(accountsAPI: Bool = false, allowRenameOnAccountsSite: Bool = false, refreshOnLogin: Bool = false) {
        self.accountsAPI = accountsAPI
        self.allowRenameOnAccountsSite = allowRenameOnAccountsSite
        self.refreshOnLogin = refreshOnLogin
    }
}

/// The login providers a site accepts callbacks for: exact names, and prefixes written with a trailing `*` (`saml-*`).
/// Matching ignores case. `provider` is not signed by Gigya (docs/gigya-protocol.md §2), so this list bounds what a
/// posted login result can name.
public struct ProviderPolicy: Sendable, Equatable, CustomStringConvertible {
    public let names: Set<String>
    public let prefixes: [String]

    /// Builds a policy from patterns such as `facebook` and `oidc-*`; nil when a pattern is empty or a bare `*`.
    public init?(patterns: [String]) {
        var names: Set<String> = []
        var prefixes: [String] = []
        for pattern in patterns.map({ $0.lowercased() }) {
            if pattern.hasSuffix("*") {
                let prefix = String(pattern.dropLast())
                guard !prefix.isEmpty, !prefix.contains("*") else { return nil }
                prefixes.append(prefix)
            } else {
                guard !pattern.isEmpty, !pattern.contains("*") else { return nil }
                names.insert(pattern)
            }
        }
        guard !names.isEmpty || !prefixes.isEmpty else { return nil }
        self.names = names
        self.prefixes = prefixes
    }

    /// Whether a login callback may name `provider`.
    public func allows(_ provider: String) -> Bool {
        let lowered = provider.lowercased()
        return names.contains(lowered) || prefixes.contains { lowered.hasPrefix($0) && lowered.count > $0.count }
    }

    public var description: String { (names.sorted() + prefixes.map { $0 + "*" }).joined(separator: ",") }

    /// Gigya's social login providers, and its SAML and OIDC identity providers by prefix.
    public static let gigyaDefault = ProviderPolicy(patterns: [
        "amazon", "aol", "apple", "blogger", "facebook", "foursquare", "google", "googleplus", "instagram", "kakao", "line",
        "linkedin", "livedoor", "messenger", "microsoft", "mixi", "naver", "netlog", "odnoklassniki", "orangefr", "paypal",
        "paypaloauth", "qq", "renren", "sina", "skyrock", "spiciefy", "twitter", "vkontakte", "wechat", "wordpress", "xing",
        "yahoo", "yahoojapan", "saml-*", "oidc-*",
    ])!
}

/// The configured sites, and the rule for picking one when a request names none.
public struct SiteDirectory: Sendable {
    private let sites: [String: GigyaSite]
    /// Site API keys in a stable order, for messages and reports.
    public let apiKeys: [String]

    public init(_ sites: [GigyaSite]) {
        self.sites = Dictionary(sites.map { ($0.apiKey, $0) }, uniquingKeysWith: { first, _ in first })
        self.apiKeys = sites.map(\.apiKey)
    }

    /// Every site, in configuration order.
    public var all: [GigyaSite] {
        apiKeys.compactMap { sites[$0] }
    }

    /// The site with that API key, if configured.
    public func site(apiKey: String) -> GigyaSite? {
        sites[apiKey]
    }

    /// Resolves the site a request means: the named one, or the only one when exactly one is configured.
    public func resolve(apiKey: String?) throws(SiteResolutionError) -> GigyaSite {
        if let apiKey, !apiKey.isEmpty {
            guard let site = sites[apiKey] else { throw .unknownSite }
            return site
        }
        guard sites.count == 1, let only = sites.values.first else { throw .siteRequired(configured: sites.count) }
        return only
    }
}

/// Why a request could not be tied to a configured site.
public enum SiteResolutionError: Error, Sendable, Equatable {
    /// The request named an API key that is not configured.
    case unknownSite
    /// Several sites are configured and the request named none.
    case siteRequired(configured: Int)
}
