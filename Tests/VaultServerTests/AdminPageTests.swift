import Foundation
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

/// The admin page at router level: sign-in, cookie, CSRF, headers, expiry. The browser tests drive it for real.
@Suite("Admin page")
struct AdminPageTests {
    /// A form posted from `http://localhost`, the origin of router-level requests.
    static let plainHTTPForm: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .origin: "http://localhost"]

    /// A form as a browser posts it from the page (without an `Origin`, which router-level requests have no host to match).
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]

    /// Signs in with `key`; returns the session cookie's value and the Set-Cookie header.
    static func signIn(_ client: some TestClientProtocol, key: String) async throws -> (cookie: String, header: String) {
        try await client.execute(uri: "/admin/sign-in", method: .post, headers: form, body: ByteBuffer(string: "key=\(key)")) { response in
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/admin")
            let header = try #require(response.headers[.setCookie])
            let value = String(header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)[1])
            return (value, header)
        }
    }

    static func csrf(_ html: String) -> String? {
        guard let range = html.range(of: "name=\"csrf\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func page(_ client: some TestClientProtocol, _ uri: String, cookie: String) async throws -> (HTTPResponse.Status, String, HTTPFields) {
        try await client.execute(uri: uri, method: .get, headers: [.cookie: "sv_admin=\(cookie)"]) { ($0.status, String(buffer: $0.body), $0.headers) }
    }

    @Test("signing in takes an admin key only, and sets an HttpOnly, SameSite=Strict cookie scoped to /admin that expires")
    func signIn() async throws {
        try await VaultHarness.with { harness in
            let admin = try await harness.accessKey([.admin])
            let reader = try await harness.accessKey([.sessionsRead])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/admin", method: .get) { response in
                    #expect(response.status == .seeOther)
                    #expect(response.headers[.location] == "/admin/sign-in")
                }
                for key in [reader, "svk_nope_nope", ""] {
                    try await client.execute(uri: "/admin/sign-in", method: .post, headers: Self.form, body: ByteBuffer(string: "key=\(key)")) { response in
                        #expect(response.status == .unauthorized)
                        #expect(response.headers[.setCookie] == nil)
                        #expect(String(buffer: response.body).contains("admin scope"))
                    }
                }
                let (cookie, header) = try await Self.signIn(client, key: admin)
                #expect(header.contains("HttpOnly") && header.contains("SameSite=Strict") && header.contains("Path=/admin"))
                #expect(header.contains("Max-Age=3600"))
                #expect(!header.contains("Secure"))
                #expect(!header.contains(admin))
                let (status, html, headers) = try await Self.page(client, "/admin", cookie: cookie)
                #expect(status == .ok)
                #expect(html.contains("Overview"))
                let policy = try #require(headers[HTTPField.Name("Content-Security-Policy")!])
                #expect(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"))
                #expect(headers[.cacheControl] == "no-store")
                #expect(!html.lowercased().contains("<script"))
            }
            #expect(try await harness.store.recentAudit(limit: 10).contains { $0.action == "admin.sign_in" })
        }
    }

    @Test("behind TLS the cookie is Secure")
    func secureCookie() async throws {
        try await VaultHarness.with(configure: { $0.admin.secureCookie = true }) { harness in
            let admin = try await harness.accessKey([.admin])
            try await harness.application().test(.router) { client in
                let (_, header) = try await Self.signIn(client, key: admin)
                #expect(header.contains("; Secure"))
            }
        }
    }

    @Test("every form needs the session's CSRF token; an expired session or a revoked key signs the admin out")
    func csrfAndExpiry() async throws {
        try await VaultHarness.with { harness in
            let admin = try await harness.accessKey([.admin], name: "page-admin")
            try await harness.application().test(.router) { client in
                let (cookie, _) = try await Self.signIn(client, key: admin)
                let (_, html, _) = try await Self.page(client, "/admin", cookie: cookie)
                let token = try #require(Self.csrf(html))
                var headers = Self.form
                headers[.cookie] = "sv_admin=\(cookie)"
                for body in ["id=\(UUID())", "id=\(UUID())&csrf=wrong", "id=\(UUID())&csrf="] {
                    try await client.execute(uri: "/admin/events/requeue", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
                        #expect(response.status == .forbidden)
                    }
                }
                // The right token passes the check (and the unknown event is refused for what it is).
                try await client.execute(
                    uri: "/admin/events/requeue", method: .post, headers: headers, body: ByteBuffer(string: "id=\(UUID())&csrf=\(token)")
                ) { #expect($0.status == .conflict) }
                // Another session's token is no good either.
                let (other, _) = try await Self.signIn(client, key: admin)
                var otherHeaders = Self.form
                otherHeaders[.cookie] = "sv_admin=\(other)"
                try await client.execute(
                    uri: "/admin/events/requeue", method: .post, headers: otherHeaders, body: ByteBuffer(string: "id=\(UUID())&csrf=\(token)")
                ) { #expect($0.status == .forbidden) }

                _ = try await harness.scalar("WITH x AS (UPDATE admin_sessions SET expires_at = now() - interval '1 second' RETURNING 1) SELECT count(*)::int FROM x")
                #expect(try await Self.page(client, "/admin", cookie: cookie).0 == .seeOther)
                let (fresh, _) = try await Self.signIn(client, key: admin)
                #expect(try await Self.page(client, "/admin", cookie: fresh).0 == .ok)
                #expect(try await harness.store.revokeKey(nameOrID: "page-admin"))
                #expect(try await Self.page(client, "/admin", cookie: fresh).0 == .seeOther)
            }
        }
    }

    @Test("signing out ends the session on the server and clears the cookie")
    func signOut() async throws {
        try await VaultHarness.with { harness in
            let admin = try await harness.accessKey([.admin])
            try await harness.application().test(.router) { client in
                let (cookie, _) = try await Self.signIn(client, key: admin)
                let (_, html, _) = try await Self.page(client, "/admin", cookie: cookie)
                var headers = Self.form
                headers[.cookie] = "sv_admin=\(cookie)"
                try await client.execute(
                    uri: "/admin/sign-out", method: .post, headers: headers, body: ByteBuffer(string: "csrf=\(try #require(Self.csrf(html)))")
                ) { response in
                    #expect(response.status == .seeOther)
                    #expect(response.headers[.location] == "/admin/sign-in")
                    #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
                }
                #expect(try await Self.page(client, "/admin", cookie: cookie).0 == .seeOther)
                #expect(try await harness.count("admin_sessions") == 0)
            }
        }
    }

    @Test("the user, failed-events, reconciliation and audit pages render, and none shows a stored token")
    func pagesShowNoTokens() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login(provider: "facebook")
            _ = try await harness.vault.intake.accept(login)
            try await harness.drain()
            let stored = try #require(try await harness.store.session(site: harness.site.apiKey, uid: login.uid, provider: "facebook"))
            let secrets = [stored.authToken, stored.tokenSecret, stored.sessionHandle].compactMap { $0 }
            #expect(secrets.count == 3)
            let admin = try await harness.accessKey([.admin])
            try await harness.application().test(.router) { client in
                let (cookie, _) = try await Self.signIn(client, key: admin)
                for uri in [
                    "/admin", "/admin/users?q=\(login.uid)", "/admin/users/delete?uid=\(login.uid)", "/admin/users/refresh?uid=\(login.uid)&provider=facebook",
                    "/admin/events/failed", "/admin/reconciliation", "/admin/reconciliation/repair", "/admin/audit", "/admin/audit?uid=\(login.uid)",
                ] {
                    let (status, html, _) = try await Self.page(client, uri, cookie: cookie)
                    #expect(status == .ok, "\(uri)")
                    for secret in secrets { #expect(!html.contains(secret), "\(uri) shows a token") }
                    #expect(!html.lowercased().contains("<script"), "\(uri)")
                }
                let (_, user, _) = try await Self.page(client, "/admin/users?q=\(login.uid)", cookie: cookie)
                #expect(user.contains("facebook"))
                #expect(user.contains(stored.providerUID ?? "-"))
                // Markup in a query is escaped, never interpreted.
                let (_, escaped, _) = try await Self.page(client, "/admin/users?q=%3Cb%3Ebold%3C%2Fb%3E", cookie: cookie)
                #expect(escaped.contains("&lt;b&gt;bold") && !escaped.contains("<b>bold"))
            }
        }
    }
}

extension AdminPageTests {
    @Test("sign-in attempts are throttled per peer with 429 and Retry-After, counted in a metric, and audited in aggregate, not a row each")
    func signInsAreThrottledAndAuditedInAggregate() async throws {
        try await VaultHarness.with(configure: { $0.admin.signInsPerPeerPerMinute = 3 }) { harness in
            let admin = try await harness.accessKey([.admin])
            let auditBefore = try await harness.count("audit_log")
            try await harness.application().test(.router) { client in
                for attempt in 0..<40 {
                    try await client.execute(uri: "/admin/sign-in", method: .post, headers: Self.form, body: ByteBuffer(string: "key=svk_guess_\(attempt)")) { response in
                        if attempt < 3 {
                            #expect(response.status == .unauthorized, "attempt \(attempt)")
                        } else {
                            #expect(response.status == .tooManyRequests, "attempt \(attempt)")
                            let wait = Int(response.headers[.retryAfter] ?? "")
                            #expect(wait.map { (1...60).contains($0) } == true, "Retry-After \(response.headers[.retryAfter] ?? "none")")
                        }
                        #expect(response.headers[.setCookie] == nil)
                    }
                }
                // The right key from the same peer waits too: the throttle comes before the key is looked at.
                try await client.execute(uri: "/admin/sign-in", method: .post, headers: Self.form, body: ByteBuffer(string: "key=\(admin)")) { response in
                    #expect(response.status == .tooManyRequests)
                    #expect(response.headers[.setCookie] == nil)
                }
                try await client.execute(uri: "/metrics", method: .get) { response in
                    let text = String(buffer: response.body)
                    #expect(text.contains(#"vault_admin_sign_in_refusals_total{reason="not_admin"} 3"#), "\(text)")
                    #expect(text.contains(#"vault_admin_sign_in_refusals_total{reason="rate_limited"} 38"#))
                }
            }
            // 41 refusals within a minute from one peer: one audit row, not 41.
            let refused = try await harness.store.recentAudit(limit: 100).filter { $0.action == "admin.sign_in_refused" }
            #expect(refused.count == 1)
            #expect(refused.first?.detail?.contains("refused=1") == true)
            #expect(try await harness.count("audit_log") - auditBefore == 1)
        }
    }

    @Test("a form must come from this origin, scheme included: no Origin and no Sec-Fetch-Site, cross-site, or another scheme is 403")
    func formsMustComeFromThisOrigin() async throws {
        try await VaultHarness.with { harness in
            let admin = try await harness.accessKey([.admin])
            let fetchSite = HTTPField.Name("Sec-Fetch-Site")!
            let plain: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            var crossSite = plain
            crossSite[fetchSite] = "cross-site"
            var otherScheme = plain
            otherScheme[.origin] = "https://localhost"
            var otherPort = plain
            otherPort[.origin] = "http://localhost:9090"
            var same = plain
            // Router-level requests are for http://localhost.
            same[.origin] = "http://localhost"
            let refused = [("no Origin, no Sec-Fetch-Site", plain), ("cross-site", crossSite), ("https origin on http", otherScheme), ("another port", otherPort)]
            let accepted = same
            try await harness.application().test(.router) { client in
                for (note, headers) in refused {
                    try await client.execute(uri: "/admin/sign-in", method: .post, headers: headers, body: ByteBuffer(string: "key=\(admin)")) { response in
                        #expect(response.status == .forbidden, "\(note)")
                        #expect(response.headers[.setCookie] == nil, "\(note)")
                    }
                }
                try await client.execute(uri: "/admin/sign-in", method: .post, headers: accepted, body: ByteBuffer(string: "key=\(admin)")) { response in
                    #expect(response.status == .seeOther)
                    #expect(response.headers[.setCookie] != nil)
                }
            }
        }
    }

    @Test("the cookie is Secure unless the listener is on loopback, and then an https origin is expected")
    func cookieIsSecureOffLoopback() async throws {
        try await VaultHarness.with(configure: { $0.host = "0.0.0.0" }) { harness in
            let admin = try await harness.accessKey([.admin])
            try await harness.application().test(.router) { client in
                let (_, header) = try await Self.signIn(client, key: admin)
                #expect(header.contains("Secure"))
                try await client.execute(uri: "/admin/sign-in", method: .post, headers: Self.plainHTTPForm, body: ByteBuffer(string: "key=\(admin)")) {
                    #expect($0.status == .forbidden)
                }
            }
        }
        try await VaultHarness.with(configure: { $0.host = "0.0.0.0"; $0.admin.secureCookie = false }) { harness in
            let admin = try await harness.accessKey([.admin])
            try await harness.application().test(.router) { client in
                let (_, header) = try await Self.signIn(client, key: admin)
                #expect(!header.contains("Secure"))
            }
        }
    }

    @Test("an admin key bound to some sites, or a form posted from another origin, cannot sign in")
    func siteBoundKeysAndForeignOrigins() async throws {
        try await VaultHarness.with { harness in
            let bound = try await harness.accessKey([.admin], sites: .only([harness.site.apiKey]))
            let admin = try await harness.accessKey([.admin])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/admin/sign-in", method: .post, headers: Self.form, body: ByteBuffer(string: "key=\(bound)")) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.headers[.setCookie] == nil)
                    #expect(String(buffer: response.body).contains("every site"))
                }
                var foreign = Self.form
                foreign[.origin] = "https://evil.example"
                try await client.execute(uri: "/admin/sign-in", method: .post, headers: foreign, body: ByteBuffer(string: "key=\(admin)")) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.headers[.setCookie] == nil)
                }
            }
            let refused = try await harness.store.recentAudit(limit: 10).filter { $0.action == "admin.sign_in_refused" }
            #expect(refused.count == 1)
        }
    }
}

extension AdminPageTests {
    /// Signs in and returns the cookie and the CSRF token of the first page.
    static func session(_ client: some TestClientProtocol, key: String) async throws -> (cookie: String, csrf: String) {
        let (cookie, _) = try await signIn(client, key: key)
        let (_, html, _) = try await page(client, "/admin", cookie: cookie)
        return (cookie, try #require(csrf(html)))
    }

    static func submit(_ client: some TestClientProtocol, _ uri: String, cookie: String, _ fields: String) async throws -> (HTTPResponse.Status, String?) {
        var headers = form
        headers[.cookie] = "sv_admin=\(cookie)"
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: fields)) {
            ($0.status, $0.headers[.location])
        }
    }

    @Test("a failed event is re-queued from its page and then stored; a user's sessions are refreshed and deleted after confirmation, audited under the admin")
    func actions() async throws {
        try await VaultHarness.with { harness in
            let admin = try await harness.accessKey([.admin], name: "acting-admin")
            // A failed event: Gigya refuses the fetch for good once.
            _ = try await harness.emulatorControl.injectFault(EmulatorFault(method: "socialize.getSessionInfo", errorCode: 400_006, count: 1))
            let login = try await harness.login(provider: "facebook")
            let receipt = try await harness.vault.intake.accept(login)
            try await harness.drain()
            #expect(try await harness.store.event(id: receipt.eventID)?.status == .failed)
            try await harness.application().test(.router) { client in
                let (cookie, csrf) = try await Self.session(client, key: admin)
                let (_, failedPage, _) = try await Self.page(client, "/admin/events/failed", cookie: cookie)
                #expect(failedPage.contains(receipt.eventID.uuidString.lowercased()) && failedPage.contains("400006"))
                let requeued = try await Self.submit(client, "/admin/events/requeue", cookie: cookie, "csrf=\(csrf)&id=\(receipt.eventID)")
                #expect(requeued.0 == .seeOther && requeued.1 == "/admin/events/failed?done=requeued")
                try await harness.drain()
                #expect(try await harness.store.event(id: receipt.eventID)?.status == .stored)

                // Refresh: the confirmation names the action; the POST fetches from Gigya again.
                _ = try await harness.emulatorControl.rotateTokens(uid: login.uid)
                let (_, confirm, _) = try await Self.page(client, "/admin/users/refresh?uid=\(login.uid)&provider=facebook", cookie: cookie)
                #expect(confirm.contains("Refresh from Gigya"))
                let refreshed = try await Self.submit(client, "/admin/users/refresh", cookie: cookie, "csrf=\(csrf)&uid=\(login.uid)&provider=facebook")
                #expect(refreshed.0 == .seeOther)
                let rotated = try await harness.emulatorSession(uid: login.uid, provider: "facebook").authToken
                #expect(try await harness.store.session(site: harness.site.apiKey, uid: login.uid, provider: "facebook")?.authToken == rotated)

                // Delete: the confirmation lists what goes; nothing happens until the POST.
                let (_, deletion, _) = try await Self.page(client, "/admin/users/delete?uid=\(login.uid)", cookie: cookie)
                #expect(deletion.contains("the facebook session"))
                #expect(try await !harness.store.metadata(site: harness.site.apiKey, uid: login.uid).isEmpty)
                let deleted = try await Self.submit(client, "/admin/users/delete", cookie: cookie, "csrf=\(csrf)&uid=\(login.uid)")
                #expect(deleted.0 == .seeOther)
                #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: login.uid).isEmpty)
            }
            let actions = try await harness.store.audit(AuditFilter(actor: "admin:acting-admin"), limit: 20).map(\.action)
            #expect(actions.contains("event.requeue") && actions.contains("session.refresh") && actions.contains("session.delete"))
        }
    }
}
