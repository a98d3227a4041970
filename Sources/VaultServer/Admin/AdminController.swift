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
/// strict Content-Security-Policy. No page ever shows a token. What the pages read and do is `AdminConsole`'s; this
/// controller parses requests, checks the session and renders view models.
struct AdminController: Sendable {
    let console: AdminConsole
    let sites: SiteDirectory
    let jobs: AdminJobs
    let pages: AdminPages
    /// Whether the cookie is Secure: set by `admin.secureCookie`, else unless the listener is on loopback.
    let secureByDefault: Bool
    /// Believe a proxy's `X-Forwarded-Proto: https` (`http.trustForwardedProto`).
    let trustForwardedProto: Bool

    init(console: AdminConsole, sites: SiteDirectory, jobs: AdminJobs, pages: AdminPages, settings: ServerSettings) {
        self.console = console
        self.sites = sites
        self.jobs = jobs
        self.pages = pages
        self.secureByDefault = settings.admin.secureCookie ?? !Self.isLoopback(settings.host)
        self.trustForwardedProto = settings.http.trustForwardedProto
    }

    static let cookieName = "sv_admin"
    static let maxFormBytes = 16 * 1024

    func addRoutes(to router: Router<VaultRequestContext>) {
        let admin = router.group("/admin").add(middleware: AdminErrorPages(pages: pages))
        admin.get("static/admin.css") { _, _ in
            var headers = AdminPages.securityHeaders
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "max-age=3600"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: AdminTemplates.stylesheet)))
        }
        admin.get("sign-in") { request, context in try await self.visit(request, context, signedIn: false) { try await self.signInPage(request, $0) } }
        admin.post("sign-in") { request, context in try await self.visit(request, context, signedIn: false) { try await self.signIn(request, $0) } }
        admin.post("sign-out") { request, context in try await self.visit(request, context, form: true) { try await self.signOut(request, $0) } }
        admin.get { request, context in try await self.visit(request, context) { try await self.overview(request, $0) } }
        admin.get("users") { request, context in try await self.visit(request, context) { try await self.userPage(request, $0) } }
        admin.get("users/delete") { request, context in try await self.visit(request, context) { try await self.confirmDelete(request, $0) } }
        admin.post("users/delete") { request, context in try await self.visit(request, context, form: true) { try await self.deleteUser(request, $0) } }
        admin.get("users/refresh") { request, context in try await self.visit(request, context) { try await self.confirmRefresh(request, $0) } }
        admin.post("users/refresh") { request, context in try await self.visit(request, context, form: true) { try await self.refresh(request, $0) } }
        admin.get("events/failed") { request, context in try await self.visit(request, context) { try await self.failedEvents(request, $0) } }
        admin.post("events/requeue") { request, context in try await self.visit(request, context, form: true) { try await self.requeue(request, $0) } }
        admin.get("reconciliation") { request, context in try await self.visit(request, context) { try await self.reconciliation(request, $0) } }
        admin.get("reconciliation/repair") { request, context in try await self.visit(request, context) { try await self.confirmRepair(request, $0) } }
        admin.post("reconciliation/run") { request, context in try await self.visit(request, context, form: true) { try await self.runReconciliation(request, $0) } }
        admin.get("audit") { request, context in try await self.visit(request, context) { try await self.audit(request, $0) } }
    }

    // MARK: The frame every handler runs in

    /// What a handler gets: the cookie and its live session (nil on the sign-in routes), the form fields of a POST.
    struct Visit: Sendable {
        let cookie: String?
        let session: AdminSessionRecord?
        let form: [String: String]
        let secure: Bool
        /// The connection's remote address (without its port), what sign-in attempts are throttled by.
        let peer: String

        /// The signed-in session of a page that requires one (`visit(signedIn: true)` made sure).
        var admin: AdminSessionRecord {
            get throws(PageError) {
                guard let session else { throw PageError(status: .forbidden, message: "Sign in first.") }
                return session
            }
        }
    }

    /// Checks the session (redirecting to sign-in without one) and the CSRF token of a form; failures are rendered as
    /// pages by `AdminErrorPages`.
    private func visit(
        _ request: Request, _ context: VaultRequestContext, signedIn: Bool = true, form: Bool = false,
        _ body: (Visit) async throws -> Response
    ) async throws -> Response {
        var request = request
        var fields: [String: String] = [:]
        let forwarded = trustForwardedProto ? request.headers[Self.forwardedProto]?.lowercased() : nil
        let secure = forwarded == "https" || secureByDefault
        if request.method == .post {
            // A form must come from this origin, scheme included (the sign-in form too): browsers send Origin on a POST,
            // or at least Sec-Fetch-Site; a POST with neither is not from a page of this server.
            guard Self.isSameOrigin(request, scheme: secure ? "https" : "http") else {
                console.refuseForeignForm()
                throw PageError(status: .forbidden, message: "This form was not posted from this site's page.")
            }
            fields = try await Self.formFields(&request)
        }
        let cookie = request.cookies[Self.cookieName].map(\.value).flatMap { $0.isEmpty ? nil : $0 }
        var session: AdminSessionRecord?
        if let cookie { session = try await console.session(cookie: cookie) }
        if signedIn {
            guard let session else { return pages.redirect("/admin/sign-in") }
            if form {
                guard let presented = fields["csrf"], ConstantTime.equals(presented, session.csrfToken) else {
                    throw PageError(status: .forbidden, message: "This form has expired or did not come from this page. Go back, reload and try again.")
                }
            }
        }
        return try await body(Visit(cookie: cookie, session: session, form: fields, secure: secure, peer: context.remoteAddress?.ipAddress ?? "unknown"))
    }

    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let hostField = HTTPField.Name("Host")!
    static let fetchSite = HTTPField.Name("Sec-Fetch-Site")!

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

    /// The session cookie with `value`, for `seconds` (0 clears it).
    static func sessionCookie(_ value: String, seconds: Int, secure: Bool) -> Cookie {
        Cookie(name: cookieName, value: value, maxAge: seconds, path: "/admin", secure: secure, httpOnly: true, sameSite: .strict)
    }

    // MARK: Shared bits of the pages

    /// The site a page is about: `site` when configured, else the first configured one.
    func site(_ request: Request, _ visit: Visit) throws -> GigyaSite {
        let named = visit.form["site"] ?? request.uri.queryParameters.get("site")
        if let named, !named.isEmpty {
            guard let site = sites.site(apiKey: named) else { throw PageError(status: .badRequest, message: "No site \(named) is configured.") }
            return site
        }
        guard let first = sites.apiKeys.first, let site = sites.site(apiKey: first) else {
            throw PageError(status: .badRequest, message: "No site is configured.")
        }
        return site
    }

    func choices(selected: String) -> SiteChoices {
        SiteChoices(apiKeys: sites.apiKeys, selected: selected)
    }
}
