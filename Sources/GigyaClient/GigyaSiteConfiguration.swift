public import GigyaKit
import NIOCore

/// How often and how patiently to retry a transient failure: exponential backoff with full jitter.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included (at least 1).
    public var maxAttempts: Int
    /// The backoff ceiling before the first retry; it doubles per retry.
    public var baseDelay: Duration
    /// The largest backoff ceiling.
    public var maxDelay: Duration

    /// Creates a policy.
    public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(2)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// One attempt, no retries (the 403002 and 301001 corrections still apply: they are not backoff retries).
    public static let none = RetryPolicy(maxAttempts: 1, baseDelay: .zero, maxDelay: .zero)

    /// The backoff ceiling after `failedAttempts` failures: `min(maxDelay, baseDelay × 2^(failedAttempts − 1))`.
    public func ceiling(afterFailedAttempts failedAttempts: Int) -> Duration {
        let doublings = min(max(failedAttempts - 1, 0), 30)
        let grown = baseDelay * (1 << doublings)
        return min(grown, maxDelay)
    }

    /// A full-jitter delay: uniform in `0...ceiling` (AWS's "full jitter", which spreads retrying clients best).
    public func delay<G: RandomNumberGenerator>(afterFailedAttempts failedAttempts: Int, using generator: inout G) -> Duration {
        let ceiling = ceiling(afterFailedAttempts: failedAttempts)
        let nanoseconds = TimeAmount(ceiling).nanoseconds
        guard nanoseconds > 0 else {
            return .zero
        }
        return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
    }
}

/// One Gigya site as the client sees it: credentials, where to send, and how long to wait.
public struct GigyaSiteConfiguration: Sendable {
    /// The site API key.
    public var apiKey: String
    /// The partner secret, or the user key's secret when `userKey` is set; it signs every request.
    public var secret: GigyaSecret
    /// A user or application key, sent and signed as `userKey` (docs/gigya-protocol.md §1.2).
    public var userKey: String?
    /// The partner secret for decrypting getSessionInfo tokens and checking `providerUIDSig` when `secret` is a user key's
    /// (Gigya encrypts with the partner secret, docs/gigya-protocol.md §4); nil means `secret` is the partner secret.
    public var partnerSecret: GigyaSecret?
    /// The data centre's API domain (`us1.gigya.com`) or name (`eu1`).
    public var apiDomain: String
    /// Overrides `https://<ns>.<apiDomain>`, such as `http://127.0.0.1:4010` for the emulator; plain http only this way.
    public var baseURL: String?
    /// The deadline of one attempt (request sent and whole response read).
    public var timeout: Duration
    /// Backoff retries for transient failures.
    public var retry: RetryPolicy

    /// Creates a site configuration.
    public init(
        apiKey: String,
        secret: GigyaSecret,
        userKey: String? = nil,
        partnerSecret: GigyaSecret? = nil,
        apiDomain: String = DataCenter.us1.apiDomain,
        baseURL: String? = nil,
        timeout: Duration = .seconds(10),
        retry: RetryPolicy = RetryPolicy()
    ) {
        self.apiKey = apiKey
        self.secret = secret
        self.userKey = userKey
        self.partnerSecret = partnerSecret
        self.apiDomain = apiDomain
        self.baseURL = baseURL
        self.timeout = timeout
        self.retry = retry
    }
}
