public import GigyaClient
public import GigyaKit
public import Logging
public import ServiceLifecycle

/// How the id_token key cache keeps Gigya's keys fresh; every time is in seconds on the injected wall clock.
public struct JWTKeyCacheSettings: Sendable {
    /// How long a fetched key set is used before it must be fetched again (about a day, docs/gigya-protocol.md §10).
    public var ttlSeconds: Int64
    /// The least time between two refetches caused by unknown `kid`s, and the longest wait after failed fetches: the wait
    /// after a failure starts at 1 s and doubles per consecutive failure up to this.
    public var refetchIntervalSeconds: Int64
    /// How often the background refresher looks for key sets near expiry (real time).
    public var refreshCheckInterval: Duration
    /// The clock that ages key sets and spaces refetches; a manual one in tests.
    public var clock: any WallClock
    /// Whether the refresher fetches every data centre's keys at start, so the first id_token login does not wait for them.
    /// Tests on a frozen manual clock turn it off: a start-up fetch that failed would then never be retried.
    public var fetchAtStart: Bool

    public init(
        ttlSeconds: Int64 = 86_400, refetchIntervalSeconds: Int64 = 30, refreshCheckInterval: Duration = .seconds(60),
        clock: any WallClock = SystemWallClock(), fetchAtStart: Bool = true
    ) {
        self.ttlSeconds = ttlSeconds
        self.refetchIntervalSeconds = refetchIntervalSeconds
        self.refreshCheckInterval = refreshCheckInterval
        self.clock = clock
        self.fetchAtStart = fetchAtStart
    }

    /// How long to wait before fetching again after `failures` consecutive failed fetches: 1 s, 2 s, 4 s, … up to the
    /// refetch interval, so one failed fetch at start does not refuse id_tokens for the whole interval.
    func backoffSeconds(afterFailures failures: Int) -> Int64 {
        min(refetchIntervalSeconds, Int64(1) << Int64(min(max(failures - 1, 0), 20)))
    }

    /// The age at which the background refresher fetches a key set again: 90 % of the TTL, so requests never wait.
    var refreshAfterSeconds: Int64 {
        ttlSeconds - max(1, ttlSeconds / 10)
    }
}

/// No key set of the data centre is cached and fetching one failed (or failed within the refetch interval).
public struct JWTKeysUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// The data centre whose keys are missing.
    public let dataCenter: DataCenter
    /// The fetch failure, as `GigyaCallError.summary` words it; never a secret.
    public let reason: String

    public var description: String {
        "no id_token keys for \(dataCenter): \(reason)"
    }
}

/// Why no key set could be had to verify a token.
public enum JWTKeyLookupFailure: Error, Sendable, Equatable {
    /// No key set of the data centre is cached and fetching one failed.
    case unavailable(JWTKeysUnavailable)
    /// The token names a `kid` the cached set lacks, and a refetch could not be had (failed, or one happened lately).
    case unknownKeyID
}

/// Gigya's id_token signing keys, cached per data centre and shared by every request (docs/gigya-protocol.md §10).
///
/// One fetch at a time per data centre (single flight: concurrent callers wait for the fetch in flight); a key set is
/// used for `ttlSeconds` and refreshed in the background before that; an unknown `kid` refetches at most once per
/// `refetchIntervalSeconds`; a failed fetch keeps the cached keys, is counted in metrics, and is retried after a backoff
/// (1 s doubling up to the refetch interval), not by every request.
public actor JWTKeyCache {
    /// What is known about one data centre's keys.
    private struct Entry {
        var keys: JWTKeySet?
        var fetchedAt: Int64?
        var lastFailure: (at: Int64, reason: String)?
        var consecutiveFailures = 0
        var lastUnknownKeyIDFetchAt: Int64?
        var inFlight: Task<Result<JWTKeySet, GigyaCallError>, Never>?
    }

    private let sources: [DataCenter: any GigyaJWTKeySource]
    private let settings: JWTKeyCacheSettings
    private let metrics: VaultMetrics
    private let logger: Logger
    private var entries: [DataCenter: Entry] = [:]

    /// A cache over one key source per data centre; data centres without a source have no keys.
    public init(sources: [DataCenter: any GigyaJWTKeySource], settings: JWTKeyCacheSettings, metrics: VaultMetrics, logger: Logger) {
        self.sources = sources
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
    }

    /// The data centres this cache fetches keys for.
    public nonisolated var dataCenters: [DataCenter] {
        sources.keys.sorted { $0.apiDomain < $1.apiDomain }
    }

    /// The data centre's keys: the cached set while it is fresh, else a fetch; stale keys are served when the fetch fails.
    public func keys(dataCenter: DataCenter) async throws(JWTKeysUnavailable) -> JWTKeySet {
        let now = settings.clock.now()
        let entry = entries[dataCenter] ?? Entry()
        if entry.inFlight == nil, let keys = entry.keys, let fetchedAt = entry.fetchedAt, now < fetchedAt + settings.ttlSeconds {
            return keys
        }
        let backoff = settings.backoffSeconds(afterFailures: entry.consecutiveFailures)
        if entry.inFlight == nil, let failure = entry.lastFailure, now < failure.at + backoff {
            // Gigya failed moments ago: do not ask again for every login; stale keys are better than none.
            if let keys = entry.keys { return keys }
            throw JWTKeysUnavailable(dataCenter: dataCenter, reason: failure.reason)
        }
        return try await fetched(dataCenter, trigger: entry.keys == nil ? "initial" : "expired")
    }

    /// The data centre's keys after a token named `kid` and the cached set lacks it: refetched unless a refetch for an
    /// unknown kid happened within `refetchIntervalSeconds` (docs/gigya-protocol.md §10: Gigya rotates without notice).
    public func keys(dataCenter: DataCenter, afterUnknownKeyID kid: String) async throws(JWTKeysUnavailable) -> JWTKeySet {
        let now = settings.clock.now()
        let entry = entries[dataCenter] ?? Entry()
        if let keys = entry.keys, keys.contains(kid: kid) {
            // Another request refetched meanwhile.
            return keys
        }
        if entry.inFlight == nil, let last = entry.lastUnknownKeyIDFetchAt, now < last + settings.refetchIntervalSeconds {
            if let keys = entry.keys { return keys }
            throw JWTKeysUnavailable(dataCenter: dataCenter, reason: "refetched within the last \(settings.refetchIntervalSeconds) s")
        }
        if entry.inFlight == nil {
            entries[dataCenter, default: Entry()].lastUnknownKeyIDFetchAt = now
        }
        return try await fetched(dataCenter, trigger: "unknown_kid")
    }

    /// The keys to verify a token whose header names `kid`: the cached set when it holds the kid (or the token names
    /// none), else the set refetched for the unknown kid. The one path by which id_tokens and webhook JWTs get keys.
    public func keys(dataCenter: DataCenter, forToken kid: String?) async throws(JWTKeyLookupFailure) -> JWTKeySet {
        let cached: JWTKeySet
        do throws(JWTKeysUnavailable) {
            cached = try await keys(dataCenter: dataCenter)
        } catch {
            throw .unavailable(error)
        }
        guard let kid, !cached.contains(kid: kid) else { return cached }
        do throws(JWTKeysUnavailable) {
            return try await keys(dataCenter: dataCenter, afterUnknownKeyID: kid)
        } catch {
            throw .unknownKeyID
        }
    }

    /// Fetches every key set near expiry, and every missing one when `includingMissing` (the background refresher's work),
    /// of `only` those data centres when given; failures keep the old keys.
    public func refreshDue(includingMissing: Bool = true, only: [DataCenter]? = nil) async {
        let now = settings.clock.now()
        for dataCenter in only ?? dataCenters where sources[dataCenter] != nil {
            let entry = entries[dataCenter] ?? Entry()
            guard entry.inFlight == nil, includingMissing || entry.keys != nil else { continue }
            if let failure = entry.lastFailure, now < failure.at + settings.backoffSeconds(afterFailures: entry.consecutiveFailures) { continue }
            if let fetchedAt = entry.fetchedAt, now < fetchedAt + settings.refreshAfterSeconds { continue }
            _ = try? await fetched(dataCenter, trigger: entry.keys == nil ? "initial" : "background")
        }
    }

    /// The key ids cached for a data centre, for tests and diagnostics.
    public func cachedKeyIDs(dataCenter: DataCenter) -> [String] {
        entries[dataCenter]?.keys?.keyIDs ?? []
    }

    /// Joins the fetch in flight or starts one, and answers the newest keys: the fetched set, else the cached one.
    private func fetched(_ dataCenter: DataCenter, trigger: String) async throws(JWTKeysUnavailable) -> JWTKeySet {
        if let inFlight = entries[dataCenter]?.inFlight {
            switch await inFlight.value {
            case .success(let keys): return keys
            case .failure(let error):
                if let keys = entries[dataCenter]?.keys { return keys }
                throw JWTKeysUnavailable(dataCenter: dataCenter, reason: error.summary)
            }
        }
        guard let source = sources[dataCenter] else {
            throw JWTKeysUnavailable(dataCenter: dataCenter, reason: "no key source is configured for this data centre")
        }
        let task = Task<Result<JWTKeySet, GigyaCallError>, Never> {
            do throws(GigyaCallError) {
                return .success(try await source.jwtPublicKeys(dataCenter: dataCenter))
            } catch {
                return .failure(error)
            }
        }
        entries[dataCenter, default: Entry()].inFlight = task
        let result = await task.value
        let now = settings.clock.now()
        entries[dataCenter]?.inFlight = nil
        switch result {
        case .success(let keys):
            entries[dataCenter]?.keys = keys
            entries[dataCenter]?.fetchedAt = now
            entries[dataCenter]?.lastFailure = nil
            entries[dataCenter]?.consecutiveFailures = 0
            metrics.jwtKeyFetch(dataCenter: dataCenter.apiDomain, trigger: trigger, outcome: "ok", fetchedAt: now)
            return keys
        case .failure(let error):
            entries[dataCenter]?.lastFailure = (now, error.summary)
            entries[dataCenter]?.consecutiveFailures += 1
            metrics.jwtKeyFetch(dataCenter: dataCenter.apiDomain, trigger: trigger, outcome: "error", fetchedAt: nil)
            let cached = entries[dataCenter]?.keys
            logger.warning(
                "fetching Gigya's id_token keys failed",
                metadata: ["dataCenter": "\(dataCenter)", "trigger": "\(trigger)", "error": "\(error.summary)", "keptCachedKeys": "\(cached != nil)"]
            )
            if let cached { return cached }
            throw JWTKeysUnavailable(dataCenter: dataCenter, reason: error.summary)
        }
    }
}

/// Keeps the key cache warm for some data centres (those whose sites take id_tokens): fetches their keys at start (unless
/// told not to), then refreshes each before it expires.
public struct JWTKeyRefresher: Service {
    private let cache: JWTKeyCache
    private let dataCenters: [DataCenter]
    private let interval: Duration
    private let fetchAtStart: Bool

    /// A refresher that looks at the cache every `interval`.
    public init(cache: JWTKeyCache, dataCenters: [DataCenter], interval: Duration, fetchAtStart: Bool = true) {
        self.cache = cache
        self.dataCenters = dataCenters
        self.interval = interval
        self.fetchAtStart = fetchAtStart
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await cache.refreshDue(includingMissing: fetchAtStart, only: dataCenters)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
