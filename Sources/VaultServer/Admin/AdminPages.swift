import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import VaultCore
import VaultStore

/// A failure shown as a page.
struct PageError: Error {
    let status: HTTPResponse.Status
    let message: String
    var back = "/admin"
}

/// Renders the admin page's view models inside the layout, with the headers every admin answer carries.
struct AdminPages: Sendable {
    let library: MustacheLibrary

    init() throws {
        library = try AdminTemplates.library()
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

    /// Renders `template` with `view` inside the layout; `session` shows who is signed in.
    func render(
        _ template: String, title: String, view: Any, session: AdminSessionRecord?, status: HTTPResponse.Status = .ok, refresh: Int? = nil,
        notice: String? = nil, headers extra: HTTPFields = [:]
    ) -> Response {
        let body = library.render(view, withTemplate: template) ?? ""
        let frame = LayoutView(
            title: title, body: body, signedIn: session != nil, csrf: session?.csrfToken, keyName: session?.keyName, refresh: refresh.map { String($0) },
            notice: notice)
        let html = library.render(frame, withTemplate: "layout") ?? ""
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        for field in extra { headers.append(field) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func redirect(_ location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = Self.securityHeaders
        headers[.location] = location
        for field in extra { headers.append(field) }
        return Response(status: .seeOther, headers: headers)
    }

    func error(_ error: PageError) -> Response {
        render("error", title: "Something went wrong", view: ErrorView(message: error.message, back: error.back), session: nil, status: error.status)
    }
}

/// The admin page's error mapping: a `PageError` is its page; a database that did not answer is a 503 page, anything
/// else a 500 page (logged), and nothing reaches the API's JSON error mapping.
struct AdminErrorPages: RouterMiddleware {
    typealias Context = VaultRequestContext
    let pages: AdminPages

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PageError {
            return pages.error(error)
        } catch {
            context.logger.error("admin page failed", metadata: ["error": "\(String(reflecting: error))"])
            let unavailable = ErrorMappingMiddleware.isStoreFailure(error)
            return pages.render(
                "error", title: unavailable ? "The database is unavailable" : "Something went wrong",
                view: ErrorView(
                    message: unavailable ? "The database did not answer in time; nothing was changed. Try again." : "The request failed; nothing was changed.",
                    back: "/admin"),
                session: nil, status: unavailable ? .serviceUnavailable : .internalServerError)
        }
    }
}
