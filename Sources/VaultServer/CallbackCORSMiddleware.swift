import HTTPTypes
import Hummingbird

/// CORS for the configured browser origins on the login-callback route only; other origins get no CORS headers.
struct CallbackCORSMiddleware: RouterMiddleware {
    typealias Context = VaultRequestContext

    let origins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path == "/v1/login-callbacks", let origin = request.headers[.origin], origins.contains(origin) || origins.contains("*") else {
            return try await next(request, context)
        }
        if request.method == .options {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: origin,
                    .accessControlAllowMethods: "POST, OPTIONS",
                    .accessControlAllowHeaders: "Content-Type, Prefer",
                    .accessControlMaxAge: "600",
                    .vary: "Origin",
                ]
            )
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlExposeHeaders] = "Location, Preference-Applied"
        response.headers[.vary] = "Origin"
        return response
    }
}
