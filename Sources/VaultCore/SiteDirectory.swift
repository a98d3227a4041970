public import GigyaClient
public import GigyaKit

/// One Gigya site session-vault serves: its API key, the verifier for its login results and where its sessions come from.
public struct GigyaSite: Sendable {
    public let apiKey: String
    public let verifier: LoginSignatureVerifier
    public let gigya: any GigyaSessionSource

    public init(apiKey: String, verifier: LoginSignatureVerifier, gigya: any GigyaSessionSource) {
        self.apiKey = apiKey
        self.verifier = verifier
        self.gigya = gigya
    }
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
