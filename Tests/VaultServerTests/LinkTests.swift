import Foundation
import GigyaClient
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

@Suite("Account links")
struct LinkTests {
    /// A user with a stored facebook session; returns the Gigya UID.
    private func storedUser(_ harness: VaultHarness, provider: String = "facebook") async throws -> String {
        let login = try await harness.login(provider: provider)
        _ = try await harness.vault.intake.accept(login)
        try await harness.drain()
        return login.uid
    }

    private func body(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    private static let json: HTTPFields = [.contentType: "application/json"]

    private func headers(_ key: String) -> HTTPFields {
        var headers = Self.json
        headers[.authorization] = "Bearer \(key)"
        return headers
    }

    /// Calls of the link methods the emulator answered, whatever the outcome.
    private func linkCalls(_ harness: VaultHarness) async throws -> Int {
        let stats = try await harness.emulatorControl.stats()
        return ["socialize.setUID", "socialize.notifyRegistration"].reduce(0) { total, method in
            total + (stats.calls[method].map { $0.ok + $0.error } ?? 0)
        }
    }

    @Test("a link end to end: 202, sent by the worker, tokens readable under the siteUID and no longer under the Gigya UID")
    func endToEnd() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            let writer = try await harness.accessKey([.linksWrite, .sessionsRead])
            let siteUID = "customer-\(UUID().uuidString.prefix(8))"
            try await harness.application().test(.router) { client in
                var linkID: String?
                try await client.execute(
                    uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": siteUID])
                ) { response in
                    #expect(response.status == .accepted)
                    #expect(jsonString(response.body, "status") == "pending")
                    #expect(jsonString(response.body, "via") == "notifyRegistration")
                    linkID = jsonString(response.body, "id")
                }
                #expect(try await linkCalls(harness) == 0, "nothing is sent before the answer; the worker sends it")
                try await harness.drainLinks()
                try await client.execute(uri: "/v1/links/\(siteUID)", method: .get, headers: headers(writer)) { response in
                    #expect(response.status == .ok)
                    #expect(jsonString(response.body, "status") == "linked")
                    #expect(jsonString(response.body, "id") == linkID)
                }
                let expected = try await harness.emulatorSession(uid: siteUID, provider: "facebook")
                try await client.execute(uri: "/v1/users/\(siteUID)/sessions/facebook", method: .get, headers: headers(writer)) { response in
                    #expect(response.status == .ok)
                    #expect(jsonString(response.body, "authToken") == expected.authToken)
                }
                try await client.execute(uri: "/v1/users/\(uid)/sessions/facebook", method: .get, headers: headers(writer)) { response in
                    #expect(response.status == .notFound)
                }
                // Gigya holds the link too.
                #expect(try await harness.emulatorControl.user(uid: uid).siteUID == siteUID)
                // The same request again links once: the same link, no second call to Gigya.
                let calls = try await linkCalls(harness)
                try await client.execute(
                    uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": siteUID])
                ) { response in
                    #expect(response.status == .ok)
                    #expect(jsonString(response.body, "id") == linkID)
                }
                try await harness.drainLinks()
                #expect(try await linkCalls(harness) == calls)
                #expect(try await harness.count("account_links") == 1)
                // From now on Gigya answers with the siteUID: a new login result lands in the same place.
                let again = try await harness.login(uid: siteUID, provider: "google")
                #expect(again.uid == siteUID)
                _ = try await harness.vault.intake.accept(again)
                try await harness.drain()
                let providers = try await harness.store.metadata(site: harness.site.apiKey, uid: siteUID).map(\.provider)
                #expect(providers == ["facebook", "google"])
                #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: uid).isEmpty)
                // Every link change is audited.
                let actions = try await harness.store.recentAudit(limit: 50).map(\.action)
                #expect(actions.contains("link.requested") && actions.contains("link.linked"))
            }
        }
    }

    @Test("each validation rule is a 400 naming it, and nothing is stored or sent", arguments: [
        (["uid": "U1", "siteUID": "caf\u{e9}"], "siteUID", "ASCII"),
        (["uid": "U1", "siteUID": String(repeating: "s", count: 253)], "siteUID", "252"),
        (["uid": "U1", "siteUID": "U1"], "siteUID", "differ"),
        (["uid": "U1", "siteUID": ""], "siteUID", "empty"),
        (["uid": "U1", "siteUID": "a\u{1}b"], "siteUID", "control"),
        (["uid": "U1"], "siteUID", "required"),
        (["siteUID": "S1"], "uid", "required"),
        (["uid": "U1", "siteUID": "S1", "via": "magic"], "via", "notifyRegistration or setUID"),
    ])
    func validation(fields: [String: String], field: String, rule: String) async throws {
        try await VaultHarness.with { harness in
            let writer = try await harness.accessKey([.linksWrite])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/links", method: .post, headers: headers(writer), body: body(fields)) { response in
                    #expect(response.status == .badRequest)
                    #expect(errorField(response.body) == field)
                    let message = try #require(try jsonObject(response.body)["error"] as? [String: Any])["message"] as? String
                    #expect(message?.contains(rule) == true, "\(message ?? "")")
                }
            }
            #expect(try await harness.count("account_links") == 0)
            #expect(try await linkCalls(harness) == 0)
        }
    }

    @Test("a 252-character ASCII siteUID is accepted")
    func longestSiteUID() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            let writer = try await harness.accessKey([.linksWrite])
            try await harness.application().test(.router) { client in
                let siteUID = String(repeating: "s", count: 252)
                try await client.execute(uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": siteUID])) {
                    #expect($0.status == .accepted)
                }
            }
        }
    }

    @Test("a siteUID Gigya already knows as a UID is refused with 409 before any call: no merge happens")
    func collisionAtGigya() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            let other = try await harness.login(provider: "google").uid
            let writer = try await harness.accessKey([.linksWrite])
            try await harness.application().test(.router) { client in
                for via in ["notifyRegistration", "setUID"] {
                    try await client.execute(
                        uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": other, "via": via])
                    ) { response in
                        #expect(response.status == .conflict)
                        #expect(errorCode(response.body) == "site_uid_taken")
                    }
                }
            }
            #expect(try await harness.count("account_links") == 0)
            #expect(try await linkCalls(harness) == 0)
            let survivor = try await harness.emulatorControl.user(uid: other)
            #expect(survivor.deleted == false && survivor.siteUID == nil)
            #expect(try await harness.emulatorControl.user(uid: uid).siteUID == nil)
        }
    }

    @Test("a siteUID or a UID already linked here is refused with 409 and nothing new is stored")
    func collisionHere() async throws {
        try await VaultHarness.with { harness in
            let first = try await storedUser(harness)
            let second = try await storedUser(harness)
            let writer = try await harness.accessKey([.linksWrite])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": first, "siteUID": "shared-1"])) {
                    #expect($0.status == .accepted)
                }
                try await client.execute(uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": second, "siteUID": "shared-1"])) {
                    #expect($0.status == .conflict)
                    #expect(errorCode($0.body) == "site_uid_taken")
                }
                try await client.execute(uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": first, "siteUID": "other-2"])) {
                    #expect($0.status == .conflict)
                    #expect(errorCode($0.body) == "uid_already_linked")
                }
            }
            #expect(try await harness.count("account_links") == 1)
        }
    }

    @Test("a siteUID that still holds sessions here is refused with 409 rather than merged, and nothing is stored or sent")
    func siteUIDWithSessions() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            // Sessions stored under a UID Gigya has since forgotten (its deletion never reached session-vault).
            let stale = try await storedUser(harness, provider: "google")
            _ = try await harness.emulatorControl.deleteUser(uid: stale, apiKey: harness.site.apiKey)
            let writer = try await harness.accessKey([.linksWrite])
            try await harness.application().test(.router) { client in
                for via in ["notifyRegistration", "setUID"] {
                    try await client.execute(
                        uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": stale, "via": via])
                    ) { response in
                        #expect(response.status == .conflict)
                        #expect(errorCode(response.body) == "site_uid_holds_sessions")
                    }
                }
            }
            #expect(try await harness.count("account_links") == 0)
            #expect(try await linkCalls(harness) == 0)
            #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: stale).count == 1)
        }
    }

    @Test("Gigya calls that requests wait on are bounded: at the cap a link request or a refresh is 503 gigya_busy at once, nothing called or stored")
    func requestCallsAreBounded() async throws {
        try await VaultHarness.with(configure: { $0.gigyaRequestCalls = 1 }) { harness in
            let uid = try await storedUser(harness)
            let other = try await storedUser(harness, provider: "google")
            let writer = try await harness.accessKey([.linksWrite, .sessionsRefresh])
            // The one permitted call hangs at Gigya long enough for the others to be turned away.
            try await harness.injectFault(EmulatorFault(method: "socialize.getUserInfo", latencyMs: 8_000, count: 1))
            try await harness.application().test(.router) { client in
                async let held = client.execute(
                    uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": "held-1"])) { $0.status }
                let deadline = ContinuousClock.now.advanced(by: .seconds(20))
                while harness.vault.gigyaCalls.current == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                #expect(harness.vault.gigyaCalls.current == 1)
                try await client.execute(
                    uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": other, "siteUID": "turned-away-1"])
                ) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(errorCode(response.body) == "gigya_busy")
                    #expect(response.headers[.retryAfter] == "1")
                }
                try await client.execute(uri: "/v1/users/\(other)/sessions/google/refresh", method: .post, headers: headers(writer)) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(errorCode(response.body) == "gigya_busy")
                }
                #expect(try await held == .accepted)
            }
            #expect(try await harness.count("account_links") == 1)
            #expect(harness.vault.gigyaCalls.current == 0)
        }
    }

    @Test("transient Gigya failures are retried until the link goes through; a permanent one fails it with Gigya's code")
    func retriesUnderFaults() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            let doomed = try await storedUser(harness)
            let writer = try await harness.accessKey([.linksWrite])
            // More failures than the client's own retries absorb: the worker's attempts must carry the link through.
            _ = try await harness.emulatorControl.injectFaults([
                EmulatorFault(method: "socialize.notifyRegistration", errorCode: 500_001, count: 4),
                EmulatorFault(method: "socialize.notifyRegistration", httpStatus: 503, count: 2),
                EmulatorFault(method: "socialize.notifyRegistration", dropConnection: true, count: 2),
            ])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": "retry-1"])) {
                    #expect($0.status == .accepted)
                }
                try await harness.drainLinks()
                let link = try #require(try await harness.store.link(site: harness.site.apiKey, siteUID: "retry-1"))
                #expect(link.status == .linked)
                #expect(link.attempts >= 2)
                #expect(try await harness.emulatorControl.user(uid: "retry-1").siteUID == "retry-1")

                _ = try await harness.emulatorControl.injectFault(EmulatorFault(method: "socialize.setUID", errorCode: 400_006, count: 1))
                try await client.execute(
                    uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": doomed, "siteUID": "refused-1", "via": "setUID"])
                ) { #expect($0.status == .accepted) }
                try await harness.drainLinks()
                try await client.execute(uri: "/v1/links?status=failed", method: .get, headers: headers(writer)) { response in
                    let links = try #require(try jsonObject(response.body)["links"] as? [[String: Any]])
                    #expect(links.count == 1)
                    #expect(links.first?["lastErrorCode"] as? Int == 400_006)
                    #expect(links.first?["siteUID"] as? String == "refused-1")
                }
                // Its sessions stay where they were.
                #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: doomed).count == 1)
            }
        }
    }

    @Test("linking on an accounts (RaaS) site is refused unless the site allows it, with the reason")
    func accountsSite() async throws {
        try await VaultHarness.with(configure: { settings in settings.sites[0].accounts.accountsAPI = true }) { harness in
            let uid = try await storedUser(harness)
            let writer = try await harness.accessKey([.linksWrite])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": "raas-1"])) { response in
                    #expect(response.status == .forbidden)
                    #expect(errorCode(response.body) == "rename_not_allowed")
                    #expect(String(buffer: response.body).contains("merges"))
                }
            }
            #expect(try await harness.count("account_links") == 0)
            try await harness.withApplication({ settings in settings.sites[0].accounts.allowRenameOnAccountsSite = true }) { app in
                try await app.routerOnly.test(.router) { client in
                    try await client.execute(uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": "raas-1"])) {
                        #expect($0.status == .accepted)
                    }
                }
            }
        }
    }

    @Test("links are listed by status and paged, scoped to the key's sites; DELETE forgets a link and is audited")
    func listAndForget() async throws {
        try await VaultHarness.with { harness in
            let writer = try await harness.accessKey([.linksWrite])
            let reader = try await harness.accessKey([.linksRead])
            let foreign = try await harness.accessKey([.linksRead, .linksWrite], sites: .only(["3_someone_else"]))
            var collected: [String] = []
            for _ in 0..<5 { collected.append(try await harness.login(provider: "facebook").uid) }
            let uids = collected
            try await harness.application().test(.router) { client in
                for (index, uid) in uids.enumerated() {
                    try await client.execute(uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": "page-\(index)"])) {
                        #expect($0.status == .accepted)
                    }
                }
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let uri = "/v1/links?status=pending&limit=2" + (cursor.map { "&after=\($0)" } ?? "")
                    try await client.execute(uri: uri, method: .get, headers: headers(reader)) { response in
                        #expect(response.status == .ok)
                        let object = try jsonObject(response.body)
                        seen += ((object["links"] as? [[String: Any]]) ?? []).compactMap { $0["siteUID"] as? String }
                        cursor = object["nextCursor"] as? String
                    }
                } while cursor != nil
                #expect(Set(seen) == Set((0..<5).map { "page-\($0)" }))
                #expect(seen.count == 5)
                try await client.execute(uri: "/v1/links?status=linked", method: .get, headers: headers(reader)) { response in
                    let links = try jsonObject(response.body)["links"] as? [Any]
                    #expect(links?.isEmpty == true)
                }
                try await client.execute(uri: "/v1/links?status=bogus", method: .get, headers: headers(reader)) { #expect($0.status == .badRequest) }
                try await client.execute(uri: "/v1/links?after=garbage", method: .get, headers: headers(reader)) { #expect($0.status == .badRequest) }
                try await client.execute(uri: "/v1/links/page-0", method: .get, headers: headers(foreign)) { #expect($0.status == .forbidden) }
                try await client.execute(uri: "/v1/links", method: .get, headers: headers(foreign)) { response in
                    let links = try jsonObject(response.body)["links"] as? [Any]
                    #expect(links?.isEmpty == true)
                }
                try await client.execute(uri: "/v1/links/page-0", method: .delete, headers: headers(reader)) { #expect($0.status == .forbidden) }
                try await client.execute(uri: "/v1/links/page-0", method: .delete, headers: headers(writer)) { #expect($0.status == .ok) }
                try await client.execute(uri: "/v1/links/page-0", method: .get, headers: headers(reader)) {
                    #expect($0.status == .notFound)
                    #expect(errorCode($0.body) == "link_not_found")
                }
                try await client.execute(uri: "/v1/links/page-0", method: .delete, headers: headers(writer)) { #expect($0.status == .notFound) }
            }
            let forgets = try await harness.store.recentAudit(limit: 50).filter { $0.action == "link.forget" }
            #expect(forgets.count == 1)
            #expect(forgets.first?.uid == uids[0])
        }
    }
}

extension LinkTests {
    @Test("an attempt that reached Gigya but whose outcome was never recorded (a lost lease) ends linked, not refused")
    func lostOutcome() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login(provider: "facebook")
            _ = try await harness.vault.intake.accept(login)
            try await harness.drain()
            let site = harness.site.apiKey
            guard case .created(let link) = try await harness.store.requestLink(
                NewAccountLink(site: site, uid: login.uid, siteUID: "ghost-1", via: .notifyRegistration, requestedBy: "test", requestedByKeyID: nil))
            else { Issue.record("not created"); return }
            // A worker claims it, reaches Gigya, and dies before recording anything; its lease runs out.
            _ = try await harness.store.claimLinks(worker: "ghost", limit: 1, lease: .milliseconds(1))
            try await #require(harness.vault.sites.site(apiKey: site)?.directory).notifyRegistration(uid: login.uid, siteUID: "ghost-1")
            try await waitUntil("the dead worker's lease to run out") {
                try await harness.scalar("SELECT count(*)::int FROM account_links WHERE id = \(link.id) AND lease_expires_at <= now()") == 1
            }
            try await harness.drainLinks()
            let after = try #require(try await harness.store.link(site: site, siteUID: "ghost-1"))
            #expect(after.id == link.id)
            #expect(after.status == .linked)
            #expect(after.attempts == 2)
            #expect(try await harness.store.metadata(site: site, uid: "ghost-1").map(\.provider) == ["facebook"])
        }
    }
}

extension LinkTests {
    @Test("a body that is not a link request is a 4xx with its code, and Gigya out of reach is a 503; nothing is stored")
    func badBodiesAndGigyaDown() async throws {
        try await VaultHarness.with { harness in
            let uid = try await storedUser(harness)
            let writer = try await harness.accessKey([.linksWrite])
            try await harness.application().test(.router) { client in
                func post(_ body: String, contentType: String = "application/json") async throws -> (HTTPResponse.Status, String?) {
                    try await client.execute(
                        uri: "/v1/links", method: .post, headers: [.authorization: "Bearer \(writer)", .contentType: contentType],
                        body: ByteBuffer(string: body)
                    ) { ($0.status, errorCode($0.body)) }
                }
                #expect(try await post("uid=\(uid)&siteUID=s1", contentType: "application/x-www-form-urlencoded") == (.unsupportedMediaType, "unsupported_media_type"))
                #expect(try await post("{\"uid\": ") == (.badRequest, "malformed_body"))
                #expect(try await post("{\"uid\": 42, \"siteUID\": \"s1\"}") == (.badRequest, "invalid_field"))
                #expect(try await post("{\"uid\": \"\(uid)\", \"siteUID\": \"s1\", \"siteUID\": \"s2\"}") == (.badRequest, "duplicate_field"))
                let large = try await post("{\"uid\": \"\(uid)\", \"siteUID\": \"\(String(repeating: "x", count: 5000))\"}")
                #expect(large == (.contentTooLarge, "payload_too_large"), "\(large)")
                #expect(try await post("{\"uid\": \"\(uid)\", \"siteUID\": \"s1\", \"site\": \"3_nope\"}") == (.badRequest, "unknown_site"))
                // Gigya cannot be asked whether the siteUID is free: nothing is stored, and the client may retry.
                _ = try await harness.emulatorControl.injectFault(EmulatorFault(method: "socialize.getUserInfo", httpStatus: 503, count: 20))
                try await client.execute(
                    uri: "/v1/links", method: .post, headers: headers(writer), body: body(["uid": uid, "siteUID": "s1"])
                ) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(errorCode(response.body) == "gigya_unavailable")
                    #expect(response.headers[.retryAfter] != nil)
                }
                try await harness.emulatorControl.clearFaults()
            }
            #expect(try await harness.count("account_links") == 0)
            #expect(try await linkCalls(harness) == 0)
        }
    }
}
