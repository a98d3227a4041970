public import GigyaKit

/// Why a Gigya call failed; carries evidence (codes, call ids, reasons), never a secret, signature or token.
public enum GigyaCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Gigya answered with a non-success `errorCode` (docs/gigya-protocol.md §5).
    case gigya(code: Int, message: String, details: String?, callId: String?)
    /// The request never got a usable answer: connection refused or dropped, TLS failure, HTTP 5xx.
    case transport(String)
    /// No complete answer before the configured timeout.
    case timeout
    /// The answer was not a Gigya JSON response, or failed a check (such as `providerUIDSig`).
    case invalidResponse(String)
    /// An encrypted field could not be decrypted with the partner secret (docs/gigya-protocol.md §4).
    case decryption(String)

    /// What a caller should do: Gigya codes use GigyaKit's table; transport failures and timeouts are worth retrying.
    public var disposition: GigyaErrorDisposition {
        switch self {
        case .gigya(let code, _, _, _): GigyaErrorCode(rawValue: code).disposition
        case .transport, .timeout: .retryable
        case .invalidResponse, .decryption: .permanent
        }
    }

    /// Whether trying again later may succeed: retryable codes and transport failures, and the clock-skew and
    /// data-centre answers that the client corrects once and that outlast that one correction only transiently.
    public var isTransient: Bool {
        switch disposition {
        case .retryable, .clockSkew, .wrongDataCenter: true
        case .success, .noSession, .permanent: false
        }
    }

    /// A label for metrics: the Gigya code, or the kind of local failure.
    public var metricCode: String {
        switch self {
        case .gigya(let code, _, _, _): String(code)
        case .transport: "transport"
        case .timeout: "timeout"
        case .invalidResponse: "invalid_response"
        case .decryption: "decryption"
        }
    }

    /// A message safe to store and show: Gigya's code and message, or the local failure; never a token.
    public var summary: String {
        switch self {
        case .gigya(let code, let message, let details, _):
            if let details, !details.isEmpty, details != message { "Gigya \(code): \(message) (\(details))" } else { "Gigya \(code): \(message)" }
        default:
            description
        }
    }

    /// The Gigya error code, when Gigya gave one.
    public var gigyaCode: Int? {
        if case .gigya(let code, _, _, _) = self { code } else { nil }
    }

    public var description: String {
        switch self {
        case .gigya(let code, let message, let details, let callId):
            "Gigya error \(code) \(message)" + (details.map { ": \($0)" } ?? "") + (callId.map { " (callId \($0))" } ?? "")
        case .transport(let reason): "transport failure: \(reason)"
        case .timeout: "timed out"
        case .invalidResponse(let reason): "invalid response: \(reason)"
        case .decryption(let reason): "decryption failed: \(reason)"
        }
    }
}
