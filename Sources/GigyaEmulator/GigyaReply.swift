import GigyaKit
import Hummingbird

/// A Gigya-shaped JSON answer (docs/gigya-protocol.md §5): the common fields plus the method's own.
struct GigyaReply {
    /// The error code (0 on success).
    var code: GigyaErrorCode
    /// `errorDetails`, for errors.
    var details: String?
    /// The method's own fields.
    var fields: [String: Any] = [:]

    /// A success with fields.
    static func ok(_ fields: [String: Any] = [:]) -> GigyaReply {
        GigyaReply(code: .ok, details: nil, fields: fields)
    }

    /// An error with Gigya's message for the code and a details text.
    static func error(_ code: GigyaErrorCode, _ details: String) -> GigyaReply {
        GigyaReply(code: code, details: details)
    }

    /// The HTTP response: status 200 unless the caller sent `httpStatusCodes=true` (docs/gigya-protocol.md §1.2), or `forcedStatus`.
    func response(httpStatusCodes: Bool, clock: any WallClock, context: String? = nil, forcedStatus: Int? = nil) -> Response {
        var object = fields
        object["errorCode"] = code.rawValue
        if code != .ok {
            object["errorMessage"] = code.message
            object["errorDetails"] = details ?? code.message
        }
        object["statusCode"] = code.statusCode
        object["statusReason"] = code.statusReason
        object["callId"] = GigyaEmulator.randomHex(16)
        object["time"] = GigyaEmulator.formattedTime(clock: clock)
        object["apiVersion"] = 2
        if let context {
            object["context"] = context
        }
        let status = forcedStatus ?? (httpStatusCodes ? code.statusCode : 200)
        return GigyaEmulator.jsonResponse(object, status: status)
    }
}
