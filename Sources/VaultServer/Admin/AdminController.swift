import Crypto
import Foundation
import GigyaKit
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import VaultCore
import VaultStore

/// The admin page (`/admin`): server-rendered HTML, no JavaScript. Signed in with an admin access key exchanged for an
/// expiring session cookie (HttpOnly, SameSite=Strict, Secure unless served on loopback), sign-in attempts throttled per
/// peer and overall; every form carries the session's CSRF token and comes from this origin; every answer carries a
/// strict Content-Security-Policy. No page ever shows a token.
struct AdminController: Sendable {
    let vault: Vault
    let jobs: AdminJobs
    let library: MustacheLibrary
    let logger: Logger
    let signIns: SignInGuard

    init(vault: Vault, jobs: AdminJobs, library: MustacheLibrary, logger: Logger) {
        self.vault = vault
        self.jobs = jobs
        self.library = library
        self.logger = logger
        self.signIns = SignInGuard(
            settings: .init(perPeer: vault.settings.admin.signInsPerPeerPerMinute, overall: vault.settings.admin.signInsPerMinute))
    }

    static let cookieName = "sv_admin"
    static let maxFormBytes = 16 * 1024

    func addRoutes(to router: Router<VaultRequestContext>) {
        let admin = router.group("/admin")
        admin.get("static/admin.css") { _, _ in
            var headers = Self.securityHeaders
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "max-age=3600"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: AdminTemplates.stylesheet)))
        }
        admin.get("sign-in") { request, context in await self.handle(request, context, signedIn: false) { try await self.signInPage(request, $0) } }
        admin.post("sign-in") { request, context in await self.handle(request, context, signedIn: false) { try await self.signIn(request, $0) } }
        admin.post("sign-out") { request, context in await self.handle(request, context, form: true) { try await self.signOut(request, $0) } }
        admin.get { request, context in await self.handle(request, context) { try await self.overview(request, $0) } }
        admin.get("users") { request, context in await self.handle(request, context) { try await self.userPage(request, $0) } }
        admin.get("users/delete") { request, context in await self.handle(request, context) { try await self.confirmDelete(request, $0) } }
        admin.post("users/delete") { request, context in await self.handle(request, context, form: true) { try await self.deleteUser(request, $0) } }
        admin.get("users/refresh") { request, context in await self.handle(request, context) { try await self.confirmRefresh(request, $0) } }
        admin.post("users/refresh") { request, context in await self.handle(request, context, form: true) { try await self.refresh(request, $0) } }
        admin.get("events/failed") { request, context in await self.handle(request, context) { try await self.failedEvents(request, $0) } }
        admin.post("events/requeue") { request, context in await self.handle(request, context, form: true) { try await self.requeue(request, $0) } }
        admin.get("reconciliation") { request, context in await self.handle(request, context) { try await self.reconciliation(request, $0) } }
        admin.get("reconciliation/repair") { request, context in await self.handle(request, context) { try await self.confirmRepair(request, $0) } }
        admin.post("reconciliation/run") { request, context in await self.handle(request, context, form: true) { try await self.runReconciliation(request, $0) } }
        admin.get("audit") { request, context in await self.handle(request, context) { try await self.audit(request, $0) } }
    }

    // MARK: The frame every handler runs in

    /// What a handler gets: the signed-in session (nil on the sign-in routes), the form fields of a POST, the site list.
    struct Visit: Sendable {
        let session: AdminSessionRecord?
        let tokenHash: [UInt8]?
        let form: [String: String]
        let secure: Bool
        /// The connection's remote address (without its port), what sign-in attempts are throttled by.
        let peer: String
    }

    /// A failure shown as a page.
    struct PageError: Error {
        let status: HTTPResponse.Status
        let message: String
        var back = "/admin"
    }

    /// Checks the session (redirecting to sign-in without one), the CSRF token of a form, and renders any failure as a page.
    private func handle(
        _ request: Request, _ context: VaultRequestContext, signedIn: Bool = true, form: Bool = false,
        _ body: (Visit) async throws -> Response
    ) async -> Response {
        do {
            var request = request
            var fields: [String: String] = [:]
            let forwarded = vault.settings.http.trustForwardedProto ? request.headers[Self.forwardedProto]?.lowercased() : nil
            let secure = forwarded == "https" || (vault.settings.admin.secureCookie ?? !Self.isLoopback(vault.settings.host))
            if request.method == .post {
                // A form must come from this origin, scheme included (the sign-in form too): browsers send Origin on a
                // POST, or at least Sec-Fetch-Site; a POST with neither is not from a page of this server.
                guard Self.isSameOrigin(request, scheme: secure ? "https" : "http") else {
                    vault.metrics.adminSignInRefused(reason: "origin")
                    logger.notice("admin form refused: not posted from this origin")
                    throw PageError(status: .forbidden, message: "This form was not posted from this site's page.")
                }
                fields = try await Self.formFields(&request)
            }
            let token = request.cookies[Self.cookieName].map(\.value).flatMap { $0.isEmpty ? nil : $0 }
            let hash = token.map { Array(SHA256.hash(data: Data($0.utf8))) }
            var session: AdminSessionRecord?
            if let hash { session = try await withDeadline(vault.settings.databaseCallDeadline) { [store = vault.store] in try await store.adminSession(tokenHash: hash) } }
            if signedIn {
                guard let session else { return Self.redirect("/admin/sign-in") }
                if form {
                    guard let presented = fields["csrf"], ConstantTime.equals(presented, session.csrfToken) else {
                        throw PageError(status: .forbidden, message: "This form has expired or did not come from this page. Go back, reload and try again.")
                    }
                }
            }
            return try await body(Visit(session: session, tokenHash: hash, form: fields, secure: secure, peer: Self.peer(context)))
        } catch let error as PageError {
            return render("error", title: "Something went wrong", visit: nil, data: ["message": error.message, "back": error.back], status: error.status)
        } catch {
            context.logger.error("admin page failed", metadata: ["error": "\(String(reflecting: error))"])
            let unavailable = ErrorMappingMiddleware.isStoreFailure(error)
            return render(
                "error", title: unavailable ? "The database is unavailable" : "Something went wrong", visit: nil,
                data: ["message": unavailable ? "The database did not answer in time; nothing was changed. Try again." : "The request failed; nothing was changed.", "back": "/admin"],
                status: unavailable ? .serviceUnavailable : .internalServerError)
        }
    }

    /// Headers on every admin answer: nothing is framed, sniffed, cached or loaded from elsewhere; no script runs. The
    /// referrer policy is `same-origin`, not `no-referrer`: with the latter browsers post forms with `Origin: null`, and the
    /// origin check on every form needs the real one.
    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        .cacheControl: "no-store",
    ]

    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let hostField = HTTPField.Name("Host")!

    /// Renders `template` inside the layout.
    func render(
        _ template: String, title: String, visit: Visit?, data: [String: Any], status: HTTPResponse.Status = .ok, refresh: Int? = nil,
        notice: String? = nil, headers extra: HTTPFields = [:]
    ) -> Response {
        var data = data
        if let session = visit?.session { data["csrf"] = session.csrfToken }
        let body = library.render(data, withTemplate: template) ?? ""
        var frame: [String: Any] = ["title": title, "body": body]
        if let session = visit?.session {
            frame["signedIn"] = true
            frame["csrf"] = session.csrfToken
            frame["keyName"] = session.keyName
        }
        if let refresh { frame["refresh"] = String(refresh) }
        if let notice { frame["notice"] = notice }
        let html = library.render(frame, withTemplate: "layout") ?? ""
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        for field in extra { headers.append(field) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func redirect(_ location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        for field in extra { headers.append(field) }
        return Response(status: .seeOther, headers: headers)
    }

    /// The fields of a form-encoded body; anything else is refused.
    static func formFields(_ request: inout Request) async throws -> [String: String] {
        guard request.headers[.contentType].flatMap(MediaType.init(from:))?.isType(.applicationUrlEncoded) == true else {
            throw PageError(status: .unsupportedMediaType, message: "Forms must be sent as application/x-www-form-urlencoded.")
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(limit: maxFormBytes)
        } catch {
            throw PageError(status: .contentTooLarge, message: "The form is too large.")
        }
        guard let fields = FormEncoding.decode(String(buffer: body)) else {
            throw PageError(status: .badRequest, message: "The form could not be read.")
        }
        return fields
    }

    static let fetchSite = HTTPField.Name("Sec-Fetch-Site")!

    /// Whether a POST came from a page of this server: its `Origin` is `scheme://host[:port]` of this request exactly, or,
    /// without an `Origin`, the browser says `Sec-Fetch-Site: same-origin`.
    static func isSameOrigin(_ request: Request, scheme: String) -> Bool {
        guard let origin = request.headers[.origin] else { return request.headers[fetchSite]?.lowercased() == "same-origin" }
        guard let host = request.head.authority ?? request.headers[hostField], let url = URL(string: origin), let originHost = url.host else {
            return false
        }
        return url.scheme?.lowercased() == scheme && "\(originHost)\(url.port.map { ":\($0)" } ?? "")".lowercased() == host.lowercased()
            && (url.path.isEmpty || url.path == "/")
    }

    /// Whether the listener is reachable only from this machine (so plain HTTP is all a browser can use).
    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The remote address of the request's connection without its port; `unknown` when the channel has none (tests).
    static func peer(_ context: VaultRequestContext) -> String {
        context.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The session cookie with `value`, for `seconds` (0 clears it).
    static func sessionCookie(_ value: String, seconds: Int, secure: Bool) -> Cookie {
        Cookie(name: cookieName, value: value, maxAge: seconds, path: "/admin", secure: secure, httpOnly: true, sameSite: .strict)
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    // MARK: Shared bits of the pages

    /// The site a page is about: `site` when configured, else the first configured one.
    func site(_ request: Request, _ visit: Visit) throws -> GigyaSite {
        let named = visit.form["site"] ?? request.uri.queryParameters.get("site")
        if let named, !named.isEmpty {
            guard let site = vault.sites.site(apiKey: named) else { throw PageError(status: .badRequest, message: "No site \(named) is configured.") }
            return site
        }
        guard let first = vault.sites.apiKeys.first, let site = vault.sites.site(apiKey: first) else {
            throw PageError(status: .badRequest, message: "No site is configured.")
        }
        return site
    }

    func siteChoices(selected: String) -> [String: Any] {
        ["multiSite": vault.sites.apiKeys.count > 1, "sites": vault.sites.apiKeys.map { ["apiKey": $0, "selected": $0 == selected] as [String: Any] }]
    }

    func actor(_ visit: Visit) -> AccessActor {
        AccessActor(keyID: visit.session?.keyID, name: "admin:\(visit.session?.keyName ?? "unknown")")
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        return date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeSeparator(.colon))
    }

    static func queryEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}
