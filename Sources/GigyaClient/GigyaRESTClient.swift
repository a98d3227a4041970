public import AsyncHTTPClient
public import GigyaKit
public import Logging
import Foundation
public import Metrics
import NIOCore
import NIOHTTP1
import Synchronization

/// The signed REST client: every call POSTed form-encoded and signed, with timeouts, backoff, clock and data-centre correction.
public final class GigyaRESTClient: GigyaAPI {
    /// The `sdk` parameter sent with every call (docs/gigya-protocol.md §1.2).
    public static let sdkName = RequestSigner.defaultSDK

    /// The site this client calls.
    public let site: GigyaSiteConfiguration
    /// The shared HTTP client; its owner shuts it down.
    private let httpClient: HTTPClient
    /// The local clock, before the learned offset is added.
    private let clock: any WallClock
    /// Where method, callId, errorCode and attempt go; never secrets or tokens.
    private let logger: Logger
    /// Makes the call metrics; the server injects its own registry's factory, so two servers never share series.
    private let metrics: any MetricsFactory
    /// Turns a getSessionInfo body into plaintext tokens, keyed once with the partner secret.
    private let sessionDecoder: SessionDecoder
    /// Makes a nonce for a request sent at the given Unix milliseconds.
    private let nonceSource: @Sendable (Int64) -> String
    /// Signs with the site's key and secret.
    private let signer: RequestSigner
    /// What the client has learned from Gigya: the clock offset (403002) and the data centre (301001).
    private let learned: Learned

    /// Corrections that outlive a call, like the Java SDK's `timestampOffsetSec` (docs/gigya-protocol.md §1.5).
    package struct LearnedState: Sendable, Equatable {
        /// Seconds added to the local clock to get Gigya's.
        package var clockOffsetSeconds: Int64
        /// The API domain calls go to when no base URL overrides it.
        package var apiDomain: String
    }

    /// Creates a client; `nonceSource` exists for tests that pin the signed bytes (it gets Unix milliseconds).
    public init(
        site: GigyaSiteConfiguration,
        httpClient: HTTPClient,
        clock: any WallClock = SystemWallClock(),
        metrics: any MetricsFactory = NOOPMetricsHandler.instance,
        logger: Logger,
        nonceSource: (@Sendable (Int64) -> String)? = nil
    ) {
        self.site = site
        self.httpClient = httpClient
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        let generator = NonceGenerator()
        self.nonceSource = nonceSource ?? { generator.next(nowMilliseconds: $0) }
        self.signer = RequestSigner(apiKey: site.apiKey, secret: site.secret, userKey: site.userKey, sdk: Self.sdkName)
        let learned = Learned(LearnedState(clockOffsetSeconds: 0, apiDomain: DataCenter(site.apiDomain).apiDomain))
        self.learned = learned
        // Keyed once; reads the learned clock offset at each use, so a later 403002 correction applies.
        self.sessionDecoder = SessionDecoder(
            partnerSecret: site.partnerSecret ?? site.secret,
            clock: OffsetWallClock(base: clock, offset: { learned.withLock { $0.clockOffsetSeconds } })
        )
    }

    /// The corrections learned so far.
    package var learnedState: LearnedState {
        learned.withLock { $0 }
    }

    // MARK: GigyaAPI

    public func getSessionInfo(uid: String, provider: String) async throws(GigyaCallError) -> ProviderSession {
        // PKCS7 always: the ZEROS edge case is undocumented (docs/gigya-protocol.md §4, §9.3).
        let body = try await call(
            method: "socialize.getSessionInfo",
            params: ["UID": uid, "provider": provider, "paddingMode": PaddingMode.pkcs7.rawValue]
        )
        return try sessionDecoder.providerSession(provider: provider, body: body)
    }

    public func setUID(uid: String, siteUID: String) async throws(GigyaCallError) {
        _ = try await call(method: "socialize.setUID", params: ["UID": uid, "siteUID": siteUID])
    }

    public func notifyRegistration(uid: String, siteUID: String) async throws(GigyaCallError) {
        _ = try await call(method: "socialize.notifyRegistration", params: ["UID": uid, "siteUID": siteUID])
    }

    public func getUserInfo(uid: String) async throws(GigyaCallError) -> GigyaUserInfo {
        let body = try await call(method: "socialize.getUserInfo", params: ["UID": uid])
        guard let info = GigyaUserInfo(response: body) else {
            throw .invalidResponse("getUserInfo answered without a UID")
        }
        return info
    }

    public func searchAccounts(_ request: GigyaAccountSearch) async throws(GigyaCallError) -> GigyaAccountPage {
        let body = try await call(method: "accounts.search", params: request.params)
        guard let page = GigyaAccountPage(response: body) else {
            throw .invalidResponse("accounts.search answered without results")
        }
        return page
    }

    public func call(method: String, params: [String: String]) async throws(GigyaCallError) -> GigyaJSON {
        let (status, body) = try await exchange(method: method, params: params)
        guard status.code.disposition == .success else {
            throw .gigya(
                code: status.errorCode,
                message: status.errorMessage ?? status.code.message,
                details: status.errorDetails,
                callId: status.callId
            )
        }
        return body
    }

    /// Like `call`, but hands back the final body whatever its `errorCode` (for tools that show Gigya's answer as is).
    public func response(method: String, params: [String: String]) async throws(GigyaCallError) -> GigyaJSON {
        try await exchange(method: method, params: params).body
    }

    // MARK: Request building

    /// Signs a call for the current data centre at a given time and nonce: the pure core the tests pin to the SDK vectors.
    package func signedRequest(method: String, params: [String: String], timestamp: Int64, nonce: String) -> SignedRequest {
        signer.sign(method: method, params: params, url: endpoint(for: method).url, timestamp: timestamp, nonce: nonce)
    }

    /// Signs a call now: corrected clock, fresh nonce.
    package func signedRequest(method: String, params: [String: String]) -> SignedRequest {
        let milliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        return signedRequest(method: method, params: params, timestamp: correctedClock.now(), nonce: nonceSource(milliseconds))
    }

    /// Where a method goes: the base URL override, else `https://<ns>.<learned apiDomain>` (always https, docs/gigya-protocol.md §1.1).
    package func endpoint(for method: String) -> GigyaEndpoint {
        if let baseURL = site.baseURL {
            return GigyaEndpoint(method: method, baseURL: baseURL)
        }
        return GigyaEndpoint(method: method, apiDomain: learned.withLock { $0.apiDomain }, scheme: "https")
    }

    /// Keeps Gigya's clock offset for every later call (docs/gigya-protocol.md §1.5).
    package func adopt(clockOffsetSeconds: Int64) {
        learned.withLock { $0.clockOffsetSeconds = clockOffsetSeconds }
    }

    /// Sends every later call to the data centre a 301001 named (docs/gigya-protocol.md §6); returns the normalised domain.
    @discardableResult
    package func adopt(apiDomain: String) -> String {
        let domain = DataCenter(apiDomain).apiDomain
        learned.withLock { $0.apiDomain = domain }
        return domain
    }

    /// Whether a 301001's `apiDomain` may be adopted: a host name under Gigya's domains (docs/gigya-protocol.md §6) or the
    /// operator's configured domain (or a data-centre name that resolves to one of them).
    package static func isAllowedDataCenter(_ apiDomain: String, configured: String) -> Bool {
        let domain = DataCenter(apiDomain).apiDomain
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        let isHostName = domain.utf8.count <= 253 && labels.count >= 2 && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        }
        guard isHostName else { return false }
        return domain.hasSuffix(".gigya.com") || domain.hasSuffix(".gigya-api.cn") || domain == DataCenter(configured).apiDomain
    }

    /// The local clock plus the offset learned from a 403002.
    private var correctedClock: OffsetWallClock {
        let offset = learned.withLock { $0.clockOffsetSeconds }
        return OffsetWallClock(base: clock, offset: { offset })
    }

    // MARK: Sending

    /// Sends a call with retries and returns the final Gigya status and body; throws only when no Gigya body came back.
    private func exchange(method: String, params: [String: String]) async throws(GigyaCallError) -> (status: GigyaResponseStatus, body: GigyaJSON) {
        let fullMethod = GigyaEndpoint(method: method, baseURL: "").method
        let started = ContinuousClock.now
        var ledger = RetryLedger()
        var attempt = 0
        defer {
            Timer(label: "gigya_call_duration_seconds", dimensions: [("method", fullMethod)], factory: metrics)
                .recordNanoseconds(TimeAmount(ContinuousClock.now - started).nanoseconds)
        }
        while true {
            attempt += 1
            let request = signedRequest(method: method, params: params)
            let outcome = await send(request, method: fullMethod, attempt: attempt)
            if Task.isCancelled {
                throw .transport("cancelled")
            }
            let step = ledger.next(
                after: outcome,
                policy: site.retry,
                localNow: clock.now(),
                canSwitchDataCenter: site.baseURL == nil
            )
            switch step {
            case .finish:
                switch outcome {
                case .response(let status, let body, _):
                    if status.code.disposition != .success {
                        countError(method: fullMethod, code: String(status.errorCode))
                    }
                    return (status, body)
                case .failure(let error, _):
                    countError(method: fullMethod, code: error.metricCode)
                    throw error
                }
            case .backoff:
                var generator = SystemRandomNumberGenerator()
                let delay = site.retry.delay(afterFailedAttempts: ledger.transientFailures, using: &generator)
                logger.debug("gigya call retrying", metadata: ["gigya.method": "\(fullMethod)", "attempt": "\(attempt)", "delay": "\(delay)"])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw .transport("cancelled")
                }
            case .correctClock(let offset):
                adopt(clockOffsetSeconds: offset)
                logger.info("gigya clock offset corrected after 403002", metadata: ["gigya.method": "\(fullMethod)", "offsetSeconds": "\(offset)"])
            case .switchDataCenter(let apiDomain):
                guard Self.isAllowedDataCenter(apiDomain, configured: site.apiDomain) else {
                    // The signed request and the tokens in the answer would follow the redirect: refuse a foreign domain.
                    logger.warning("gigya 301001 named a domain outside Gigya's; not switching", metadata: ["gigya.method": "\(fullMethod)"])
                    countError(method: fullMethod, code: "301001")
                    throw .invalidResponse("301001 named a data centre outside *.gigya.com, *.gigya-api.cn and the configured domain")
                }
                let domain = adopt(apiDomain: apiDomain)
                logger.info("gigya data centre switched after 301001", metadata: ["gigya.method": "\(fullMethod)", "apiDomain": "\(domain)"])
            }
        }
    }

    /// One HTTP attempt, classified; never throws.
    private func send(_ signed: SignedRequest, method: String, attempt: Int) async -> AttemptOutcome {
        var request = HTTPClientRequest(url: signed.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: signed.formBody))
        let deadline = NIODeadline.now() + TimeAmount(site.timeout)
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let bytes: ByteBuffer
        do {
            let response = try await httpClient.execute(request, deadline: deadline, logger: logger)
            status = response.status
            headers = response.headers
            bytes = try await response.body.collect(upTo: 16 << 20)
        } catch {
            let mapped = Self.classify(error)
            logger.info("gigya call failed", metadata: ["gigya.method": "\(method)", "attempt": "\(attempt)", "error": "\(mapped)"])
            return .failure(mapped, retryable: true)
        }
        guard status.code < 500 else {
            // A 5xx is a proxy or an outage whatever its body says: Gigya itself answers 200 with httpStatusCodes=false.
            logger.info("gigya call failed", metadata: ["gigya.method": "\(method)", "attempt": "\(attempt)", "httpStatus": "\(status.code)"])
            return .failure(.transport("HTTP \(status.code)"), retryable: true)
        }
        guard let body = GigyaJSON(parsing: Data(bytes.readableBytesView)), let gigyaStatus = GigyaResponseStatus(body: body) else {
            logger.info(
                "gigya call answered without a Gigya body",
                metadata: ["gigya.method": "\(method)", "attempt": "\(attempt)", "httpStatus": "\(status.code)"]
            )
            // An unparseable 2xx body is retried: Gigya's real answers always carry JSON with httpStatusCodes=false (docs/gigya-protocol.md
            // §1.2, §5), so it is a proxy or a cut answer; a 4xx without Gigya JSON is a wrong URL and cannot improve.
            return .failure(
                .invalidResponse("HTTP \(status.code), body is not a Gigya JSON object"),
                retryable: (200..<300).contains(status.code)
            )
        }
        let serverTime = headers.first(name: "Date").flatMap(HTTPDate.parse) ?? gigyaStatus.time.flatMap(GigyaTime.parse).map { $0 / 1000 }
        logger.debug(
            "gigya call answered",
            metadata: [
                "gigya.method": "\(method)", "attempt": "\(attempt)", "errorCode": "\(gigyaStatus.errorCode)",
                "callId": "\(gigyaStatus.callId ?? "-")",
            ]
        )
        return .response(gigyaStatus, body: body, serverTime: serverTime)
    }

    /// Counts a failed call by method and code.
    private func countError(method: String, code: String) {
        Counter(label: "gigya_call_errors_total", dimensions: [("method", method), ("code", code)], factory: metrics).increment()
    }

    /// Maps AsyncHTTPClient and NIO errors to `.timeout` or `.transport` with a reason that holds no request data.
    private static func classify(_ error: any Error) -> GigyaCallError {
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout, .tlsHandshakeTimeout:
                return .timeout
            default:
                return .transport(String(describing: client))
            }
        }
        return .transport(String(describing: error))
    }
}

/// The local clock shifted by the offset learned so far.
struct OffsetWallClock: WallClock {
    /// The local clock.
    let base: any WallClock
    /// Seconds to add.
    let offset: @Sendable () -> Int64

    func now() -> Int64 {
        base.now() + offset()
    }
}

/// The client's learned corrections behind a lock, in a class so a clock can share them.
final class Learned: Sendable {
    private let state: Mutex<GigyaRESTClient.LearnedState>

    init(_ initial: GigyaRESTClient.LearnedState) {
        state = Mutex(initial)
    }

    /// Runs `body` with the state locked.
    func withLock<T: Sendable>(_ body: (inout GigyaRESTClient.LearnedState) -> T) -> T {
        state.withLock { body(&$0) }
    }
}
