import GigyaKit
import HTTPTypes
import Hummingbird

/// Guards the `/_emulator` control routes with a bearer token (`EmulatorConfiguration.controlToken`), compared in
/// constant time; anything else is answered 401 before a handler runs.
struct ControlTokenMiddleware: RouterMiddleware {
    typealias Context = EmulatorRequestContext
    let token: String
    let core: EmulatorCore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let prefix = "Bearer "
        guard let header = request.headers[.authorization], header.hasPrefix(prefix),
            ConstantTime.equals(String(header.dropFirst(prefix.count)), token)
        else {
            var response = core.controlError(.unauthorizedUser, "the emulator's control routes need Authorization: Bearer <control token>", status: 401)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }
}
