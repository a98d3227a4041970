import GigyaKit

/// A refused call: the Gigya code and details to answer with.
struct Refusal: Error {
    /// The error code.
    let code: GigyaErrorCode
    /// `errorDetails`.
    let details: String

    /// A refusal.
    static func error(_ code: GigyaErrorCode, _ details: String) -> Refusal {
        Refusal(code: code, details: details)
    }

    /// The reply to send.
    var reply: GigyaReply {
        .error(code, details)
    }
}
