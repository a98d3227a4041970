import Foundation
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

@Suite("Several sites and malformed requests")
struct MultiSiteTests {
    /// The harness's settings with a second emulator site added: both served by one server.
    private func addingSecondSite(_ harness: VaultHarness) -> (inout ServerSettings) -> Void {
        let other = GigyaEmulator.demoSite()
        return { settings in
            settings.sites.append(SiteSettings(apiKey: other.apiKey, secret: other.partnerSecret, baseURL: harness.emulator.baseURL))
        }
    }

    @Test("with several sites, a callback without apiKey and a read without ?site= are refused, naming the field")
    func siteIsRequired() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            var unnamed = login
            unnamed.apiKey = nil
            let withoutSite = unnamed
            let reader = try await harness.accessKey([.sessionsMetadata])
            try await harness.withApplication(addingSecondSite(harness)) { app in try await app.routerOnly.test(.router) { client in
                try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: withoutSite.jsonBody) {
                    #expect($0.status == .badRequest)
                    #expect(errorCode($0.body) == "site_required")
                    #expect(errorField($0.body) == "apiKey")
                }
                try await client.execute(uri: "/v1/users/\(login.uid)/sessions", method: .get, headers: [.authorization: "Bearer \(reader)"]) {
                    #expect($0.status == .badRequest)
                    #expect(errorCode($0.body) == "site_required")
                    #expect(errorField($0.body) == "site")
                }
                try await client.execute(uri: "/v1/users/\(login.uid)/sessions?site=3_UNKNOWN", method: .get, headers: [.authorization: "Bearer \(reader)"]) {
                    #expect($0.status == .badRequest)
                    #expect(errorCode($0.body) == "unknown_site")
                    #expect(errorField($0.body) == "site")
                }
                try await client.execute(
                    uri: "/v1/users/\(login.uid)/sessions?site=\(harness.site.apiKey)", method: .get, headers: [.authorization: "Bearer \(reader)"]
                ) {
                    #expect($0.status == .ok)
                }
                try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody) {
                    #expect($0.status == .accepted)
                }
            } }
            #expect(try await harness.count("login_events") == 1)
        }
    }

    @Test("a malformed Prefer header and a malformed event id are 400s that store nothing")
    func malformedHeadersAndIDs() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            let reader = try await harness.accessKey([.eventsRead])
            try await harness.application().test(.router) { client in
                try await client.execute(
                    uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json", .prefer: "wait=soon"], body: login.jsonBody
                ) {
                    #expect($0.status == .badRequest)
                    #expect(errorCode($0.body) == "invalid_prefer")
                }
                try await client.execute(uri: "/v1/login-callbacks/not-a-uuid", method: .get, headers: [.authorization: "Bearer \(reader)"]) {
                    #expect($0.status == .badRequest)
                    #expect(errorCode($0.body) == "invalid_event_id")
                }
                try await client.execute(uri: "/v1/login-callbacks/\(UUID().uuidString)", method: .get, headers: [.authorization: "Bearer \(reader)"]) {
                    #expect($0.status == .notFound)
                }
            }
            #expect(try await harness.count("login_events") == 0)
        }
    }

    @Test("a database failure answers 503 store_unavailable, never a 500 or an acknowledgement")
    func databaseFailureIs503() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            // A reachable database without the schema: every query fails at once, as during an outage or a bad deploy.
            try await withTestDatabase(migrated: false) { empty in
                try await harness.withApplication({ $0.databaseURL = empty.url }) { app in try await app.routerOnly.test(.router) { client in
                    try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody) {
                        #expect($0.status == .serviceUnavailable)
                        #expect(errorCode($0.body) == "store_unavailable")
                    }
                    try await client.execute(uri: "/v1/users/\(login.uid)/sessions", method: .get, headers: [.authorization: "Bearer svk_abc_def"]) {
                        #expect($0.status == .serviceUnavailable)
                        #expect(errorCode($0.body) == "store_unavailable")
                    }
                } }
            }
        }
    }
}
