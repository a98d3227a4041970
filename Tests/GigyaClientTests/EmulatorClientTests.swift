import AsyncHTTPClient
import Foundation
import GigyaEmulator
import GigyaKit
import Logging
import NIOCore
import NIOHTTP1
import Testing

@testable import GigyaClient

/// A running emulator with one site, the client under test, and the emulator's own `/_emulator` routes.
struct EmulatorHarness {
    /// The site's partner secret.
    static let secretBase64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
    /// The site's API key.
    static let apiKey = "3_CLIENT_TESTS"

    let emulator: RunningEmulator
    let site: GigyaSiteConfiguration

    /// Starts an emulator on a free port and runs `body` with a harness, stopping the emulator afterwards.
    static func with<T>(
        timeout: Duration = .seconds(2),
        retry: RetryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20)),
        _ body: (EmulatorHarness) async throws -> T
    ) async throws -> T {
        let emulator = try await GigyaEmulator.start(
            configuration: EmulatorConfiguration(sites: [EmulatorSite(apiKey: apiKey, partnerSecret: secretBase64)]),
            host: "127.0.0.1",
            port: 0
        )
        let site = GigyaSiteConfiguration(
            apiKey: apiKey,
            secret: try GigyaSecret(base64: secretBase64),
            baseURL: emulator.baseURL,
            timeout: timeout,
            retry: retry
        )
        do {
            let result = try await body(EmulatorHarness(emulator: emulator, site: site))
            await emulator.stop()
            return result
        } catch {
            await emulator.stop()
            throw error
        }
    }

    /// A client for the site, with an optional skewed clock.
    func client(clock: any WallClock = SystemWallClock()) -> GigyaRESTClient {
        GigyaRESTClient(site: site, httpClient: .shared, clock: clock, logger: Logger(label: "gigya-client-tests"))
    }

    /// The emulator's control client.
    var control: EmulatorControlClient { emulator.control }

    /// Logs a user in through the emulator's Web-SDK route and returns the UID.
    func login(provider: String, uid: String? = nil) async throws -> String {
        try await control.login(apiKey: Self.apiKey, uid: uid, provider: provider).UID
    }
}

/// The client over real HTTP against the emulator: tokens, linking, error mapping, retries, clock skew.
@Suite(.serialized) struct EmulatorClientTests {
    @Test func getSessionInfoReturnsTheEmulatorsPlaintextTokens() async throws {
        try await EmulatorHarness.with { harness in
            let uid = try await harness.login(provider: "twitter")
            let session = try await harness.client().getSessionInfo(uid: uid, provider: "twitter")
            let user = try await harness.control.user(uid: uid)
            let plain = try #require(user.sessions["twitter"])
            #expect(session.provider == "twitter")
            #expect(session.authToken != nil)
            #expect(session.authToken == plain.authToken)
            #expect(session.tokenSecret == plain.tokenSecret)
            #expect(session.sessionHandle == plain.sessionHandle)
            #expect(session.providerUID == plain.providerUID)
        }
    }

    @Test func setUIDAndNotifyRegistrationLinkASiteUID() async throws {
        try await EmulatorHarness.with { harness in
            let client = harness.client()
            let first = try await harness.login(provider: "facebook")
            try await client.setUID(uid: first, siteUID: "site-user-1")
            let linked = try await client.getUserInfo(uid: "site-user-1")
            #expect(linked.uid == "site-user-1")
            #expect(linked.isSiteUID)
            let second = try await harness.login(provider: "google")
            try await client.notifyRegistration(uid: second, siteUID: "site-user-2")
            let registered = try await client.getUserInfo(uid: "site-user-2")
            #expect(registered.uid == "site-user-2")
            #expect(registered.isSiteUID)
            #expect(registered.providers.contains("google"))
            #expect(registered.loginProvider == "google")
        }
    }

    @Test func mapsGigyaErrorsWithTheirCodeAndDisposition() async throws {
        try await EmulatorHarness.with { harness in
            let client = harness.client()
            // Gigya (and the emulator) answer an unknown UID with 403005 "Unauthorized user" (docs/gigya-protocol.md §5).
            await #expect {
                _ = try await client.getSessionInfo(uid: "no-such-user", provider: "facebook")
            } throws: { error in
                guard let error = error as? GigyaCallError else {
                    return false
                }
                return error.gigyaCode == GigyaErrorCode.unauthorizedUser.rawValue && error.disposition == .permanent
            }
            let uid = try await harness.login(provider: "facebook")
            await #expect {
                _ = try await client.getSessionInfo(uid: uid, provider: "linkedin")
            } throws: { error in
                guard let error = error as? GigyaCallError, case .gigya(_, _, _, let callId) = error else {
                    return false
                }
                return error.disposition == .noSession && callId != nil
            }
        }
    }

    @Test func concurrentCallsNeverReuseANonce() async throws {
        // A long timeout: 64 calls at once on a loaded machine may be slow; only a refused nonce may fail this test.
        try await EmulatorHarness.with(timeout: .seconds(30), retry: .none) { harness in
            let uid = try await harness.login(provider: "facebook")
            let client = harness.client()
            // The emulator refuses a repeated nonce with 403004, and RetryPolicy.none lets no refusal be papered over.
            let succeeded = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<64 {
                    group.addTask { try await client.getUserInfo(uid: uid).uid == uid }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(succeeded == 64)
        }
    }

    @Test func rejectsAWrongSecretWithoutRetrying() async throws {
        try await EmulatorHarness.with { harness in
            var site = harness.site
            site.secret = try GigyaSecret(base64: "BBECAwQFBgcICQoLDA0ODxAREhMUFRYX")
            let client = GigyaRESTClient(site: site, httpClient: .shared, logger: Logger(label: "t"))
            await #expect {
                _ = try await client.call(method: "socialize.getUserInfo", params: ["UID": "x"])
            } throws: { error in
                guard let error = error as? GigyaCallError else {
                    return false
                }
                return error.gigyaCode == GigyaErrorCode.invalidRequestSignature.rawValue && error.disposition == .permanent
            }
        }
    }

    @Test func retriesRetryableCodesUntilSuccess() async throws {
        try await EmulatorHarness.with { harness in
            let uid = try await harness.login(provider: "facebook")
            try await harness.control.injectFault(EmulatorFault(method: "socialize.getSessionInfo", errorCode: 500_001, count: 2))
            let session = try await harness.client().getSessionInfo(uid: uid, provider: "facebook")
            #expect(session.authToken != nil)
        }
    }

    @Test func givesUpOnARetryableCodeWhenAttemptsRunOut() async throws {
        try await EmulatorHarness.with { harness in
            let uid = try await harness.login(provider: "facebook")
            try await harness.control.injectFault(EmulatorFault(method: "socialize.getSessionInfo", errorCode: 500_001, count: 3))
            await #expect {
                _ = try await harness.client().getSessionInfo(uid: uid, provider: "facebook")
            } throws: { error in
                (error as? GigyaCallError)?.gigyaCode == GigyaErrorCode.generalServerErrorRetry.rawValue
            }
        }
    }

    @Test(arguments: [
        EmulatorFault(method: "socialize.getSessionInfo", httpStatus: 503, count: 2),
        EmulatorFault(method: "socialize.getSessionInfo", dropConnection: true, count: 2),
    ])
    func retriesHTTP503AndDroppedConnections(_ fault: EmulatorFault) async throws {
        try await EmulatorHarness.with { harness in
            let uid = try await harness.login(provider: "facebook")
            try await harness.control.injectFault(fault)
            let session = try await harness.client().getSessionInfo(uid: uid, provider: "facebook")
            #expect(session.authToken != nil)
            // Both faulted attempts were spent, so the success came from the third.
            #expect(try await harness.control.faults().isEmpty)
        }
    }

    @Test func reportsADroppedConnectionAsTransportOnceAttemptsRunOut() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.control.injectFault(EmulatorFault(method: "socialize.getUserInfo", dropConnection: true))
            await #expect {
                _ = try await harness.client().getUserInfo(uid: "anyone")
            } throws: { error in
                guard case .transport = error as? GigyaCallError else {
                    return false
                }
                return true
            }
        }
    }

    @Test func reportsHTTP5xxAsTransportOnceAttemptsRunOut() async throws {
        try await EmulatorHarness.with { harness in
            try await harness.control.injectFault(EmulatorFault(method: "socialize.getUserInfo", httpStatus: 503))
            await #expect(throws: GigyaCallError.transport("HTTP 503")) {
                _ = try await harness.client().getUserInfo(uid: "anyone")
            }
        }
    }

    @Test func timesOutWhenEveryAttemptIsTooSlow() async throws {
        try await EmulatorHarness.with(timeout: .milliseconds(200)) { harness in
            try await harness.control.injectFault(EmulatorFault(method: "socialize.getUserInfo", latencyMs: 10_000))
            let started = ContinuousClock.now
            await #expect(throws: GigyaCallError.timeout) {
                _ = try await harness.client().getUserInfo(uid: "anyone")
            }
            // Three attempts of 200 ms each, not three of the emulator's full 10 s: the bound is far from both, so a
            // loaded machine cannot make it fail.
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test func recoversFromOneSlowAttempt() async throws {
        // The slow attempt outlasts the timeout by far; the retry has the whole timeout, even on a loaded machine.
        try await EmulatorHarness.with(timeout: .seconds(2)) { harness in
            let uid = try await harness.login(provider: "facebook")
            try await harness.control.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 8_000, count: 1))
            #expect(try await harness.client().getSessionInfo(uid: uid, provider: "facebook").authToken != nil)
        }
    }

    @Test func correctsAClockSkewedTenMinutesAndKeepsTheOffset() async throws {
        try await EmulatorHarness.with(retry: .none) { harness in
            let uid = try await harness.login(provider: "facebook")
            let skewed = ManualWallClock(SystemWallClock().now() - 600)
            let client = harness.client(clock: skewed)
            // RetryPolicy.none: the success can only come from the 403002 correction.
            let session = try await client.getSessionInfo(uid: uid, provider: "facebook")
            #expect(session.authToken != nil)
            let offset = client.learnedState.clockOffsetSeconds
            #expect((595...605).contains(offset))
            _ = try await client.getUserInfo(uid: uid)
            #expect(client.learnedState.clockOffsetSeconds == offset)
        }
    }

    @Test func anUncorrectedSkewedClockIsRefused() async throws {
        try await EmulatorHarness.with(retry: .none) { harness in
            let site = harness.site
            let client = GigyaRESTClient(
                site: site, httpClient: .shared, clock: ManualWallClock(SystemWallClock().now() - 600), logger: Logger(label: "t")
            )
            let request = client.signedRequest(method: "socialize.getUserInfo", params: ["UID": "x"])
            var http = HTTPClientRequest(url: request.url)
            http.method = .POST
            http.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            http.body = .bytes(ByteBuffer(string: request.formBody))
            let response = try await HTTPClient.shared.execute(http, timeout: .seconds(5))
            let body = GigyaJSON(parsing: Data(try await response.body.collect(upTo: 1 << 20).readableBytesView))
            #expect(body?["errorCode"]?.intValue == GigyaErrorCode.requestHasExpired.rawValue)
        }
    }
}
