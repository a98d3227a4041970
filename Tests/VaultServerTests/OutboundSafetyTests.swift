import AsyncHTTPClient
import Foundation
import GigyaEmulator
@testable import GigyaClient
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

@Suite("Outbound calls and configuration secrets (issue 9)")
struct OutboundSafetyTests {
    @Test("a Date header with an absurd year is ignored, not an arithmetic overflow", arguments: [
        "Sun, 06 Nov 99999999999999999 08:49:37 GMT", "Sun, 06 Nov 9223372036854775807 08:49:37 GMT", "Sun, 06 Nov -9223372036854775808 08:49:37 GMT",
        "Sun, 06 Nov 10000 08:49:37 GMT", "Sun, 06 Nov 1969 08:49:37 GMT",
    ])
    func absurdDatesDoNotCrash(_ header: String) {
        #expect(HTTPDate.parse(header) == nil)
    }

    @Test("an ordinary Date header still parses")
    func ordinaryDateParses() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
    }

    @Test("a 301001 data-centre switch is accepted only to Gigya's domains or the configured one")
    func dataCentreSwitchIsBounded() {
        for allowed in ["eu1.gigya.com", "EU1.GIGYA.COM", "eu1", "cn1.gigya-api.cn", "cn1", "gigya.internal.example"] {
            #expect(GigyaRESTClient.isAllowedDataCenter(allowed, configured: "gigya.internal.example"), "\(allowed)")
        }
        for refused in [
            "evil.example", "gigya.com.evil.example", "evilgigya.com", "eu1.gigya.com/", "eu1.gigya.com:444", "user@eu1.gigya.com", "eu1.gigya.com.",
            "", ".gigya.com", "eu1.gigya.com?x", "127.0.0.1",
        ] {
            #expect(!GigyaRESTClient.isAllowedDataCenter(refused, configured: "us1.gigya.com"), "\(refused)")
        }
    }

    @Test("the Gigya client follows no redirect: the signed request never reaches the redirect's target")
    func noRedirectsAreFollowed() async throws {
        let targetHits = HitCounter()
        let router = Router()
        router.post("/socialize.getSessionInfo") { _, _ in
            Response(status: .temporaryRedirect, headers: [.location: "/stolen"])
        }
        router.post("/stolen") { _, _ in
            targetHits.count.add(1, ordering: .relaxed)
            return Response(status: .ok)
        }
        let redirector = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await redirector.test(.live) { client in
            let port = try #require(client.port)
            try await VaultHarness.with(configure: { $0.sites[0].baseURL = "http://127.0.0.1:\(port)" }) { harness in
                let site = try #require(harness.vault.sites.site(apiKey: harness.site.apiKey))
                await #expect(throws: GigyaCallError.self) { _ = try await site.gigya.getSessionInfo(uid: "u", provider: "facebook") }
            }
        }
        #expect(targetHits.count.load(ordering: .relaxed) == 0)
    }

    @Test("the database URL defaults to TLS with verification except on loopback IP literals")
    func databaseTLSDefaults() throws {
        #expect(try DatabaseURL.sslMode(host: "db.example.com", query: nil) == .require)
        #expect(try DatabaseURL.sslMode(host: "localhost", query: nil) == .require)
        #expect(try DatabaseURL.sslMode(host: "10.0.0.5", query: nil) == .require)
        #expect(try DatabaseURL.sslMode(host: "127.0.0.1", query: nil) == .disable)
        #expect(try DatabaseURL.sslMode(host: "::1", query: nil) == .disable)
        #expect(try DatabaseURL.sslMode(host: "127.evil.example", query: nil) == .require)
        #expect(try DatabaseURL.sslMode(host: "db.example.com", query: "verify-full") == .require)
        #expect(try DatabaseURL.sslMode(host: "db.example.com", query: "disable") == .disable)
        #expect(throws: SettingsError.self) { try DatabaseURL.sslMode(host: "db.example.com", query: "sometimes") }
    }
}

/// Counts requests that reached a route, from the server's tasks.
private final class HitCounter: Sendable {
    let count = Atomic<Int>(0)
}
