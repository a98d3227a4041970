import Foundation
import GigyaKit
import HTTPTypes
import Hummingbird

/// The request checks every REST call passes before its method runs.
extension EmulatorCore {
    /// Gigya's request checks, in this order: apiKey (400093), the method's required parameters (400002), `secret` over
    /// HTTP (403006), then either the secret itself (403010) or: timestamp/nonce/sig present (400002), user key and
    /// signature (403003), timestamp window (403002), nonce (403004).
    func authenticate(_ request: Request, params: [String: String], method: EmulatedMethod) -> Result<AuthenticatedCall, Refusal> {
        guard let apiKey = params["apiKey"], !apiKey.isEmpty else {
            return .failure(.error(.invalidAPIKey, "Missing apiKey parameter"))
        }
        guard let site = sites[apiKey] else {
            return .failure(.error(.invalidAPIKey, "Invalid ApiKey parameter"))
        }
        if let missing = missingParameter(params, method.requiredParameters) {
            return .failure(.error(.missingRequiredParameter, "Missing required parameter: \(missing)"))
        }
        let scheme = requestScheme(request)
        if let presented = params["secret"] {
            // Protocol.md §1.4: a secret in clear is refused over plain HTTP.
            guard scheme == "https" else {
                return .failure(.error(.secretSentOverHTTP, "Secret Sent Over Http"))
            }
            let userKey = params["userKey"]
            guard let expected = userKey.map({ site.site.userKeys[$0] }) ?? site.site.partnerSecret,
                ConstantTime.equals(presented, expected)
            else {
                return .failure(.error(.invalidSecret, "Invalid secret"))
            }
            return .success(AuthenticatedCall(site: site, params: params, scheme: scheme))
        }
        if let missing = missingParameter(params, ["timestamp", "nonce", "sig"]) {
            return .failure(.error(.missingRequiredParameter, "Missing required parameter: \(missing)"))
        }
        guard let secret = secretFor(site, userKey: params["userKey"]) else {
            return .failure(.error(.invalidRequestSignature, "Invalid userKey for this site"))
        }
        guard let url = signedURL(request, scheme: scheme) else {
            return .failure(.error(.invalidRequestFormat, "the request has no Host header"))
        }
        guard RequestSignatureCheck.isValid(httpMethod: request.method.rawValue, url: url, params: params, secret: secret) else {
            return .failure(.error(.invalidRequestSignature, "Invalid request signature"))
        }
        guard let timestamp = Int64(params["timestamp"]!) else {
            return .failure(.error(.invalidParameterValue, "Invalid parameter value: timestamp"))
        }
        let now = clock.now()
        guard abs(now - timestamp) <= window else {
            return .failure(.error(.requestHasExpired, "Request has expired"))
        }
        // A nonce must be remembered for as long as a request carrying it could still pass the timestamp check.
        let forgetAfter = max(now, timestamp) + window + 1
        guard store.rememberNonce(params["nonce"]!, apiKey: apiKey, forgetAfter: forgetAfter, now: now, window: window) else {
            return .failure(.error(.duplicateNonce, "Duplicate nonce"))
        }
        return .success(AuthenticatedCall(site: site, params: params, scheme: scheme))
    }

    /// The first required parameter that is absent or empty (`UID` may also be spelled `uid`).
    private func missingParameter(_ params: [String: String], _ names: [String]) -> String? {
        names.first { name in
            if name == "UID" {
                return (params["UID"] ?? "").isEmpty && (params["uid"] ?? "").isEmpty
            }
            return (params[name] ?? "").isEmpty
        }
    }

    /// The partner secret, or the user key's secret; nil for a user key the site does not have.
    private func secretFor(_ site: SiteKeys, userKey: String?) -> GigyaSecret? {
        guard let userKey else {
            return site.partnerSecret
        }
        return site.userKeys[userKey]
    }

    /// `http`, unless the configuration trusts a proxy's `X-Forwarded-Proto: https`.
    func requestScheme(_ request: Request) -> String {
        if trustForwardedProto, let forwarded = request.headers[HTTPField.Name("X-Forwarded-Proto")!] {
            let first = forwarded.split(separator: ",").first.map { $0.trimmingCharacters(in: CharacterSet.whitespaces).lowercased() }
            if first == "https" {
                return "https"
            }
        }
        return "http"
    }

    /// The URL as the client addressed it: scheme, Host header with its port, raw path (docs/gigya-protocol.md §1.3).
    func signedURL(_ request: Request, scheme: String) -> String? {
        guard let host = request.head.authority , !host.isEmpty else {
            return nil
        }
        return scheme + "://" + host + request.uri.path
    }
}
