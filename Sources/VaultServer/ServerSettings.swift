public import Configuration
import Foundation
import GigyaKit
import SystemPackage
public import VaultCore

/// One Gigya site as configured: its API key, partner secret and where its REST API lives.
public struct SiteSettings: Sendable, Equatable {
    public var apiKey: String
    /// The partner secret (base64): login results are signed and provider tokens encrypted with it.
    public var secret: String
    /// An application/user key to sign REST calls with instead of the partner secret (docs/gigya-protocol.md §1.2).
    public var userKey: String?
    /// The user key's secret (base64); required with `userKey`.
    public var userSecret: String?
    public var apiDomain: String
    /// Overrides `https://<namespace>.<apiDomain>`; used to point at the emulator.
    public var baseURL: String?
    /// The providers login callbacks may name (`facebook`, `saml-*`); nil means Gigya's providers (`ProviderPolicy.gigyaDefault`).
    public var providers: [String]?
    /// Which login results the site accepts: signatures (the default), id_tokens or both.
    public var loginVerification: LoginVerification
    /// The `aud` the site's id_tokens must hold; nil checks no audience.
    public var idTokenAudience: String?
    /// Accounts (RaaS) API, links on it, refresh on login: `gigya.accountsSites`, `gigya.allowRenameSites`,
    /// `gigya.refreshOnLoginSites`.
    public var accounts = SiteAccountOptions()
    /// Which signature headers the site's webhook notifications must carry (`webhooks.signatures`); HMAC by default.
    public var webhookSignatures = WebhookSignaturePolicy.hmac

    public init(
        apiKey: String,
        secret: String,
        userKey: String? = nil,
        userSecret: String? = nil,
        apiDomain: String = "us1.gigya.com",
        baseURL: String? = nil,
        providers: [String]? = nil,
        loginVerification: LoginVerification = .signatures,
        idTokenAudience: String? = nil
    ) {
        self.apiKey = apiKey
        self.secret = secret
        self.userKey = userKey
        self.userSecret = userSecret
        self.apiDomain = apiDomain
        self.baseURL = baseURL
        self.providers = providers
        self.loginVerification = loginVerification
        self.idTokenAudience = idTokenAudience
    }

    /// Parses `API_KEY:SECRET[:API_DOMAIN[:VERIFICATION]]`, the compact form used by `GIGYA_SITES`; `entry` (from 1) names
    /// the entry in errors, which never quote a field: with the fields swapped, the "API key" would be the secret.
    public static func parse(_ spec: String, entry: Int = 1, verification: LoginVerification = .signatures) throws(SettingsError) -> SiteSettings {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let key = "gigya.sites"
        guard (2...4).contains(parts.count), !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .invalid(key: key, reason: "entry \(entry) must be API_KEY:SECRET[:API_DOMAIN[:VERIFICATION]]")
        }
        try checkKeyPair(apiKey: parts[0], secret: parts[1], key: key, naming: "entry \(entry)")
        var site = SiteSettings(apiKey: parts[0], secret: parts[1], apiDomain: parts.count >= 3 ? Self.domain(parts[2]) : "us1.gigya.com")
        site.loginVerification = parts.count == 4 ? try Self.verification(parts[3], key: key) : verification
        return site
    }

    /// Refuses an API key and secret that cannot be what they claim, before either is ever printed: a secret must be
    /// standard base64, and an API key has none of the characters only base64 has (`+`, `/`, `=`). Swapped, one of the
    /// two checks fails, and the error names the setting, never a value.
    static func checkKeyPair(apiKey: String, secret: String, key: String, naming what: String) throws(SettingsError) {
        guard (try? GigyaSecret(base64: secret)) != nil else {
            throw .invalid(key: key, reason: "\(what): the partner secret is not standard base64 (are the API key and the secret swapped?)")
        }
        guard !apiKey.isEmpty, apiKey.utf8.allSatisfy({ Self.apiKeyCharacters.contains($0) }) else {
            throw .invalid(key: key, reason: "\(what): the API key has characters no API key has (are the API key and the secret swapped?)")
        }
    }

    /// What Gigya API keys are made of (`3_` followed by URL-safe characters); `+`, `/` and `=` are not among them.
    static let apiKeyCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.".utf8)

    /// Reads `signatures`, `id_tokens` or `both`.
    static func verification(_ value: String, key: String) throws(SettingsError) -> LoginVerification {
        guard let verification = LoginVerification(rawValue: value.lowercased()) else {
            throw .invalid(key: key, reason: "must be one of \(LoginVerification.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return verification
    }

    /// Accepts a data-centre name (`eu1`) or a full API domain (`eu1.gigya.com`).
    static func domain(_ value: String) -> String {
        if value.contains(".") { return value }
        return value == "cn1" ? "cn1.gigya-api.cn" : "\(value).gigya.com"
    }
}

/// A configuration problem, named by its key; never carries a secret value.
public enum SettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(key: String, reason: String)
    case incomplete(missing: [String])

    public var description: String {
        switch self {
        case .invalid(let key, let reason):
            "invalid configuration '\(key)': \(reason)"
        case .incomplete(let missing):
            "production configuration is incomplete; missing: \(missing.joined(separator: ", ")). "
                + "Set all of them, or none of them to run the zero-config development mode."
        }
    }
}

/// The admin page: how long a sign-in lasts, and whether its cookie is marked Secure.
public struct AdminSettings: Sendable, Equatable {
    /// Minutes until a signed-in admin must sign in again.
    public var sessionMinutes = 60
    /// Mark the session cookie `Secure` (and expect `https` origins): true or false when set; when not set, `Secure`
    /// unless the listener is on loopback (a trusted proxy's `X-Forwarded-Proto: https` makes it `Secure` too).
    public var secureCookie: Bool?
    /// Sign-in attempts one peer may make per minute, and all peers together; beyond either 429 with `Retry-After`.
    public var signInsPerPeerPerMinute = 10
    public var signInsPerMinute = 100

    public init() {}
}

/// The HTTP server's limits: slow or idle clients cannot hold connections, and the open connections are capped.
public struct HTTPLimits: Sendable, Equatable {
    /// A connection with no request in progress is closed after this long (also bounds a half-sent request head).
    public var idleTimeout: Duration = .seconds(60)
    /// A request's body must be fully received within this long of its head.
    public var readTimeout: Duration = .seconds(30)
    /// A new connection must deliver a whole request head within this long, and a kept-alive one within this long of
    /// the first byte of its next request: silent and byte-at-a-time clients are closed in seconds.
    public var headTimeout: Duration = .seconds(10)
    /// At most this many connections are open at once. At the cap, the connection idle longest is closed so a new client
    /// is served; with none idle, new connections wait in the listen backlog.
    public var maxConnections: Int = 1024
    /// At most this many from one address. Behind a reverse proxy every connection comes from the proxy: raise it to
    /// `maxConnections` there, and limit per client at the proxy.
    public var maxConnectionsPerPeer: Int = 256
    /// Believe `X-Forwarded-Proto: https` from the proxy in front (only behind a TLS-terminating proxy you control): the
    /// admin cookie is then marked Secure.
    public var trustForwardedProto = false

    public init() {}
}

/// Where `/metrics` is served: on the main listener, openly or to access keys with `metrics:read`, or on a listener of
/// its own (for a private network or a sidecar).
public struct MetricsExposure: Sendable, Equatable {
    /// Require an access key with `metrics:read` (or `admin`) on the main listener.
    public var requireKey = false
    /// Serve `/metrics` only on `host:port` instead of the main listener.
    public var port: Int?
    public var host = "127.0.0.1"

    public init() {}
}

/// Everything `serve` needs to know, read from flags, then the environment, then an optional JSON file.
public struct ServerSettings: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    public var databaseURL: String?
    public var sites: [SiteSettings] = []
    /// The data-key ring, `id:BASE64,id:BASE64` (the first encrypts).
    public var dataKeys: String?
    public var corsOrigins: [String] = []
    public var signatureWindowSeconds: Int64 = 300
    /// The leeway for id_tokens' `exp` and `iat`, 0–120 s (docs/gigya-protocol.md §10).
    public var idTokenLeewaySeconds: Int64 = 60
    /// The oldest an id_token may be by `now − iat`, whatever its `exp`; nil means `signatureWindowSeconds`, the bound a
    /// `UIDSignature` has.
    public var idTokenMaxAgeSeconds: Int64?
    /// The id_token key cache: TTL, refetch interval, refresh cadence and its clock.
    public var jwtKeys = JWTKeyCacheSettings()
    /// The workers' concurrency and pacing.
    public var worker = WorkerSettings()
    /// Gigya calls in flight in this instance; 0 runs no worker (intake only).
    public var workers: Int {
        get { worker.concurrency }
        set { worker.concurrency = max(0, newValue) }
    }
    /// Whether this instance runs the link and account-event workers (on with any worker count; the tests turn them off
    /// to drive them step by step).
    public var linkWorkers = true
    /// How long one Gigya HTTP attempt may take.
    public var gigyaTimeout: Duration = .seconds(10)
    /// Intake's group commit, queue bound, deadlines and waiters.
    public var intake = IntakeSettings()
    /// The database pool's size; nil sizes it from the work it carries (see `databasePoolSize(for:)`).
    public var databasePoolSize: Int?
    /// How long opening a database connection may take.
    public var databaseConnectTimeout: Duration = .seconds(5)
    /// PostgreSQL's `statement_timeout` for every statement of the pool (migrations included).
    public var databaseStatementTimeout: Duration = .seconds(60)
    /// How long one database call of the read API, authentication and readiness may take, the wait for a pool connection
    /// included; beyond it the request is answered 503 `store_unavailable`.
    public var databaseCallDeadline: Duration = .seconds(10)
    /// How old (by its `timestamp`) a webhook notification may be; Gigya re-signs its retries (docs/gigya-protocol.md §12).
    public var webhookMaxAgeSeconds: Int64 = 300
    /// How long finished (stored, failed or cancelled) login events, finished account events and tombstones are kept.
    public var eventRetention: Duration = .seconds(7 * 86_400)
    /// Gigya calls that requests wait on (refreshes, link requests' checks) in flight at once; beyond it 503 `gigya_busy`.
    public var gigyaRequestCalls: Int = 32
    /// How long audit rows are kept.
    public var auditRetention: Duration = .seconds(400 * 86_400)
    /// How long reconciliation runs and their findings are kept (the newest of each site and mode always).
    public var reconciliationRetention: Duration = .seconds(90 * 86_400)
    /// How long graceful shutdown may take before in-flight work is cancelled; the process exits soon after either way.
    public var shutdownGrace: Duration = .seconds(25)

    /// The pool size used: the configured one, or room for the read API (8), intake's group commit (2), the workers'
    /// claims, renewals and completions (one per 16 calls in flight, at least 2), the finished-event listener (1), the
    /// janitor (1), the link and account-event workers (2) and a reconciliation started from the admin page (1).
    public var effectiveDatabasePoolSize: Int {
        databasePoolSize ?? (8 + 2 + max(2, (workers + 15) / 16) + 1 + 1 + 2 + 1)
    }
    /// The most login callbacks one intake transaction carries (group commit); 1 means a commit per request.
    public var intakeMaxBatch: Int {
        get { intake.maxBatch }
        set { intake.maxBatch = newValue }
    }
    /// The most events (one per provider) one signed login result may make.
    public var maxEventsPerLogin: Int {
        get { intake.maxEventsPerLogin }
        set { intake.maxEventsPerLogin = newValue }
    }
    public var http = HTTPLimits()
    /// The admin page's sessions.
    public var admin = AdminSettings()
    public var metrics = MetricsExposure()
    public var migrateOnStart = false
    public var sqlDirectory: String?
    public var stateDirectory: String = ".session-vault"
    public var logLevel: String = "info"

    public init() {}

    /// True when nothing production-like was configured: `serve` then runs its embedded development stack.
    public var isZeroConfig: Bool {
        databaseURL == nil && sites.isEmpty && dataKeys == nil
    }

    /// Production needs a database, at least one site and data keys; a partial configuration is an error, never a fallback.
    public func checkProductionComplete() throws(SettingsError) {
        var missing: [String] = []
        if databaseURL == nil { missing.append("DATABASE_URL") }
        if sites.isEmpty { missing.append("GIGYA_API_KEY + GIGYA_SECRET (or GIGYA_SITES)") }
        if dataKeys == nil { missing.append("DATA_KEYS") }
        if !missing.isEmpty { throw .incomplete(missing: missing) }
    }

    /// Builds the reader: command-line values first, then environment variables, then the JSON file if one is named.
    public static func makeReader(overrides: [String: ConfigValue], configFile: String?) async throws -> ConfigReader {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: overrides.map { (AbsoluteConfigKey(ConfigKey($0.key)), $0.value) })),
            EnvironmentVariablesProvider(secretsSpecifier: .specific(["GIGYA_SECRET", "GIGYA_USER_SECRET", "GIGYA_SITES", "DATA_KEYS", "DATABASE_URL"])),
        ]
        let file = configFile ?? ProcessInfo.processInfo.environment["SESSION_VAULT_CONFIG"]
        if let file {
            providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(file)))
        }
        return ConfigReader(providers: providers)
    }

    /// Reads the settings; docs/configuration.md lists every key.
    public static func load(from config: ConfigReader) throws(SettingsError) -> ServerSettings {
        var settings = ServerSettings()
        settings.host = config.string(forKey: "http.host", default: settings.host)
        settings.port = config.int(forKey: "http.port", default: settings.port)
        guard (0...65535).contains(settings.port) else { throw .invalid(key: "http.port", reason: "must be 0-65535") }
        settings.databaseURL = config.string(forKey: "database.url", isSecret: true)
        settings.dataKeys = config.string(forKey: "dataKeys", isSecret: true)
        settings.corsOrigins = config.stringArray(forKey: "cors.origins", default: [])
        settings.signatureWindowSeconds = Int64(config.int(forKey: "signature.windowSeconds", default: 300))
        guard settings.signatureWindowSeconds > 0, settings.signatureWindowSeconds <= 3600 else {
            throw .invalid(key: "signature.windowSeconds", reason: "must be 1-3600")
        }
        settings.idTokenLeewaySeconds = Int64(try bounded(config, "idToken.leewaySeconds", 60, 0...120))
        if config.int(forKey: "idToken.maxAgeSeconds") != nil {
            settings.idTokenMaxAgeSeconds = Int64(try bounded(config, "idToken.maxAgeSeconds", 300, 1...86_400))
        }
        settings.jwtKeys.ttlSeconds = Int64(try bounded(config, "idToken.keysTtlSeconds", 86_400, 60...604_800))
        settings.jwtKeys.refetchIntervalSeconds = Int64(try bounded(config, "idToken.refetchIntervalSeconds", 30, 1...3600))
        let verification = try SiteSettings.verification(
            config.string(forKey: "gigya.loginVerification", default: "signatures"), key: "gigya.loginVerification"
        )
        let audience = config.string(forKey: "gigya.idTokenAudience").flatMap { $0.isEmpty ? nil : $0 }
        settings.workers = config.int(forKey: "workers.count", default: settings.workers)
        guard settings.workers >= 0, settings.workers <= 4096 else { throw .invalid(key: "workers.count", reason: "must be 0-4096") }
        settings.intakeMaxBatch = config.int(forKey: "intake.maxBatch", default: settings.intakeMaxBatch)
        guard (1...10_000).contains(settings.intakeMaxBatch) else { throw .invalid(key: "intake.maxBatch", reason: "must be 1-10000") }
        settings.intake.maxQueued = try bounded(config, "intake.maxQueued", settings.intake.maxQueued, 1...1_000_000)
        settings.intake.maxWaiters = try bounded(config, "intake.maxWaiters", settings.intake.maxWaiters, 0...100_000)
        settings.gigyaRequestCalls = try bounded(config, "gigya.maxRequestCalls", settings.gigyaRequestCalls, 1...10_000)
        settings.worker.lease = .seconds(try bounded(config, "workers.leaseSeconds", Int(settings.worker.lease.components.seconds), 3...3600))
        if config.int(forKey: "database.poolSize") != nil {
            settings.databasePoolSize = try bounded(config, "database.poolSize", 0, 2...1000)
        }
        settings.databaseConnectTimeout = .seconds(try bounded(config, "database.connectTimeoutSeconds", 5, 1...300))
        settings.databaseStatementTimeout = .seconds(try bounded(config, "database.statementTimeoutSeconds", 60, 1...86_400))
        settings.databaseCallDeadline = .seconds(try bounded(config, "database.callDeadlineSeconds", 10, 1...600))
        settings.eventRetention = .seconds(86_400 * (try bounded(config, "events.retentionDays", 7, 1...3650)))
        settings.auditRetention = .seconds(86_400 * (try bounded(config, "audit.retentionDays", 400, 1...36_500)))
        settings.reconciliationRetention = .seconds(86_400 * (try bounded(config, "reconciliation.retentionDays", 90, 1...36_500)))
        settings.webhookMaxAgeSeconds = Int64(try bounded(config, "webhooks.maxAgeSeconds", 300, 10...3600))
        settings.shutdownGrace = .seconds(try bounded(config, "shutdown.graceSeconds", 25, 1...3600))
        settings.maxEventsPerLogin = config.int(forKey: "intake.maxEventsPerLogin", default: settings.maxEventsPerLogin)
        guard (1...64).contains(settings.maxEventsPerLogin) else { throw .invalid(key: "intake.maxEventsPerLogin", reason: "must be 1-64") }
        settings.http = try loadHTTPLimits(from: config)
        settings.admin.sessionMinutes = try bounded(config, "admin.sessionMinutes", 60, 5...1440)
        settings.admin.secureCookie = config.bool(forKey: "admin.secureCookie")
        settings.admin.signInsPerPeerPerMinute = try bounded(config, "admin.signInsPerPeerPerMinute", 10, 1...10_000)
        settings.admin.signInsPerMinute = try bounded(config, "admin.signInsPerMinute", 100, 1...100_000)
        settings.metrics.requireKey = config.bool(forKey: "metrics.requireKey", default: false)
        settings.metrics.port = config.int(forKey: "metrics.port")
        settings.metrics.host = config.string(forKey: "metrics.host", default: settings.metrics.host)
        if let port = settings.metrics.port, !(1...65535).contains(port) { throw .invalid(key: "metrics.port", reason: "must be 1-65535") }
        settings.migrateOnStart = config.bool(forKey: "migrate.onStart", default: false)
        settings.sqlDirectory = config.string(forKey: "sql.directory")
        settings.stateDirectory = config.string(forKey: "state.directory", default: settings.stateDirectory)
        settings.logLevel = config.string(forKey: "log.level", default: settings.logLevel)

        if let apiKey = config.string(forKey: "gigya.apiKey") {
            guard let secret = config.string(forKey: "gigya.secret", isSecret: true) else {
                throw .invalid(key: "gigya.secret", reason: Self.partnerSecretRequired)
            }
            if !secret.isEmpty { try SiteSettings.checkKeyPair(apiKey: apiKey, secret: secret, key: "gigya.apiKey", naming: "GIGYA_API_KEY + GIGYA_SECRET") }
            let userKey = config.string(forKey: "gigya.userKey")
            let userSecret = config.string(forKey: "gigya.userSecret", isSecret: true)
            if userKey != nil && userSecret == nil {
                throw .invalid(key: "gigya.userSecret", reason: "required when gigya.userKey (GIGYA_USER_KEY) is set")
            }
            settings.sites.append(
                SiteSettings(
                    apiKey: apiKey,
                    secret: secret,
                    userKey: userKey,
                    userSecret: userSecret,
                    apiDomain: SiteSettings.domain(config.string(forKey: "gigya.apiDomain", default: "us1.gigya.com")),
                    baseURL: config.string(forKey: "gigya.baseUrl"),
                    loginVerification: verification,
                    idTokenAudience: audience
                )
            )
        }
        for (index, spec) in config.stringArray(forKey: "gigya.sites", isSecret: true, default: []).enumerated() {
            var site = try SiteSettings.parse(spec, entry: index + 1, verification: verification)
            site.baseURL = config.string(forKey: "gigya.baseUrl")
            site.idTokenAudience = audience
            guard !settings.sites.contains(where: { $0.apiKey == site.apiKey }) else {
                throw .invalid(key: "gigya.sites", reason: "site \(site.apiKey) is configured twice")
            }
            settings.sites.append(site)
        }
        try applyProviders(config.stringArray(forKey: "gigya.providers", default: []), to: &settings.sites)
        try applySiteList(config.stringArray(forKey: "gigya.accountsSites", default: []), key: "gigya.accountsSites", to: &settings.sites) {
            $0.accounts.accountsAPI = true
        }
        try applySiteList(config.stringArray(forKey: "gigya.allowRenameSites", default: []), key: "gigya.allowRenameSites", to: &settings.sites) {
            $0.accounts.allowRenameOnAccountsSite = true
        }
        try applySiteList(
            config.stringArray(forKey: "gigya.refreshOnLoginSites", default: []), key: "gigya.refreshOnLoginSites", to: &settings.sites
        ) { $0.accounts.refreshOnLogin = true }
        try applyWebhookSignatures(config.stringArray(forKey: "webhooks.signatures", default: []), to: &settings.sites)
        return settings
    }

    /// Why a site without a partner secret is refused, whatever it verifies logins with.
    static let partnerSecretRequired = "required when gigya.apiKey (GIGYA_API_KEY) is set: the partner secret decrypts the provider "
        + "tokens socialize.getSessionInfo returns, also for sites that accept id_tokens or sign REST calls with a user or RSA key"

    /// An integer setting within `range`, or `default` when absent.
    private static func bounded(_ config: ConfigReader, _ key: String, _ defaultValue: Int, _ range: ClosedRange<Int>) throws(SettingsError) -> Int {
        let value = config.int(forKey: ConfigKey(key), default: defaultValue)
        guard range.contains(value) else { throw .invalid(key: key, reason: "must be \(range.lowerBound)-\(range.upperBound)") }
        return value
    }

    /// Reads the HTTP server's limits, each bounded so a typo cannot disable them.
    static func loadHTTPLimits(from config: ConfigReader) throws(SettingsError) -> HTTPLimits {
        var limits = HTTPLimits()
        let idle = config.int(forKey: "http.idleTimeoutSeconds", default: 60)
        guard (1...3600).contains(idle) else { throw .invalid(key: "http.idleTimeoutSeconds", reason: "must be 1-3600") }
        let read = config.int(forKey: "http.readTimeoutSeconds", default: 30)
        guard (1...600).contains(read) else { throw .invalid(key: "http.readTimeoutSeconds", reason: "must be 1-600") }
        limits.maxConnections = config.int(forKey: "http.maxConnections", default: limits.maxConnections)
        guard (1...100_000).contains(limits.maxConnections) else { throw .invalid(key: "http.maxConnections", reason: "must be 1-100000") }
        limits.headTimeout = .seconds(try bounded(config, "http.headTimeoutSeconds", 10, 1...120))
        limits.maxConnectionsPerPeer = try bounded(config, "http.maxConnectionsPerPeer", 256, 1...100_000)
        limits.trustForwardedProto = config.bool(forKey: "http.trustForwardedProto", default: false)
        limits.idleTimeout = .seconds(idle)
        limits.readTimeout = .seconds(read)
        return limits
    }

    /// Applies a per-site switch to the sites a list names by API key (`*` names every site); an unknown key is an error.
    static func applySiteList(
        _ entries: [String], key: String, to sites: inout [SiteSettings], _ apply: (inout SiteSettings) -> Void
    ) throws(SettingsError) {
        for entry in entries.map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            if entry == "*" {
                for index in sites.indices { apply(&sites[index]) }
                continue
            }
            guard let index = sites.firstIndex(where: { $0.apiKey == entry }) else {
                throw .invalid(key: key, reason: "an entry names a site that is not configured")
            }
            apply(&sites[index])
        }
    }

    /// Splits per-site list entries: `value` applies to every site without entries of its own, `API_KEY=value` to that
    /// site only. Answers the shared values and the per-site ones; an entry naming an unconfigured site is refused.
    static func perSiteEntries(_ entries: [String], key: String, sites: [SiteSettings]) throws(SettingsError)
        -> (shared: [String], perSite: [String: [String]])
    {
        var shared: [String] = []
        var perSite: [String: [String]] = [:]
        for entry in entries.map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            if let equals = entry.firstIndex(of: "=") {
                let site = String(entry[..<equals])
                guard sites.contains(where: { $0.apiKey == site }) else {
                    throw .invalid(key: key, reason: "an entry names a site that is not configured")
                }
                perSite[site, default: []].append(String(entry[entry.index(after: equals)...]))
            } else {
                shared.append(entry)
            }
        }
        return (shared, perSite)
    }

    /// Applies `gigya.providers` entries: `pattern` sets the list of every site without entries of its own,
    /// `API_KEY=pattern` adds to that site's own list. A pattern is a provider name or a prefix ending in `*`.
    static func applyProviders(_ entries: [String], to sites: inout [SiteSettings]) throws(SettingsError) {
        guard !entries.isEmpty else { return }
        let (shared, perSite) = try perSiteEntries(entries, key: "gigya.providers", sites: sites)
        for index in sites.indices {
            let patterns = perSite[sites[index].apiKey] ?? (shared.isEmpty ? nil : shared)
            guard let patterns else { continue }
            guard ProviderPolicy(patterns: patterns) != nil else {
                throw .invalid(key: "gigya.providers", reason: "patterns are provider names or prefixes ending in '*', not empty")
            }
            sites[index].providers = patterns
        }
    }

    /// Applies `webhooks.signatures` entries: `hmac`, `jwt` or `both` for every site, `API_KEY=mode` for one site.
    static func applyWebhookSignatures(_ entries: [String], to sites: inout [SiteSettings]) throws(SettingsError) {
        let key = "webhooks.signatures"
        let (shared, perSite) = try perSiteEntries(entries, key: key, sites: sites)
        func policy(_ values: [String]) throws(SettingsError) -> WebhookSignaturePolicy? {
            guard let value = values.last else { return nil }
            guard values.count == 1, let policy = WebhookSignaturePolicy(rawValue: value.lowercased()) else {
                throw .invalid(key: key, reason: "each site takes one of \(WebhookSignaturePolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return policy
        }
        let sharedPolicy = try policy(shared)
        for index in sites.indices {
            if let chosen = try policy(perSite[sites[index].apiKey] ?? []) ?? sharedPolicy {
                sites[index].webhookSignatures = chosen
            }
        }
    }
}
