/// A signed REST call, ready to POST as a form (docs/gigya-protocol.md §1.2).
public struct SignedRequest: Sendable, Equatable {
    /// The URL to POST to.
    public let url: String
    /// Always `POST`, as in every official server SDK.
    public let httpMethod: String
    /// Every parameter sent, `sig` included.
    public let params: [String: String]
    /// The text that was signed.
    public let baseString: String
    /// The base64 HMAC-SHA1 of `baseString`.
    public let signature: String

    /// The `application/x-www-form-urlencoded` body: keys sorted, keys and values RFC 3986 encoded.
    public var formBody: String {
        FormEncoding.encode(params)
    }
}

/// Signs REST calls exactly as SAP's server SDKs do (docs/gigya-protocol.md §1.2, §1.3).
public struct RequestSigner: Sendable {
    /// The site API key.
    public let apiKey: String
    /// The partner secret, or the user key's secret when `userKey` is set.
    public let secret: GigyaSecret
    /// A user or application key, sent (and signed) as `userKey`.
    public let userKey: String?
    /// The `sdk` parameter, unless the caller sets one.
    public let sdk: String

    /// The `sdk` parameter session-vault's own requests carry (docs/gigya-protocol.md §1.2).
    public static let defaultSDK = "session-vault_1.0"

    /// Creates a signer.
    public init(apiKey: String, secret: GigyaSecret, userKey: String? = nil, sdk: String = RequestSigner.defaultSDK) {
        self.apiKey = apiKey
        self.secret = secret
        self.userKey = userKey
        self.sdk = sdk
    }

    /// Adds `apiKey`, `userKey`, `format`, `httpStatusCodes`, `sdk`, `timestamp` and `nonce`, then signs (`sig`).
    ///
    /// `format=json`, `httpStatusCodes=false` and `sdk` are defaults the caller's params can override; `url` is the URL
    /// the request goes to, and its scheme is part of the signature (http and https sign differently, docs/gigya-protocol.md §1.3).
    public func sign(method: String, params: [String: String], url: String, timestamp: Int64, nonce: String) -> SignedRequest {
        var all = params
        all["sig"] = nil
        all["apiKey"] = apiKey
        if let userKey {
            all["userKey"] = userKey
        }
        if all["format"] == nil {
            all["format"] = "json"
        }
        if all["httpStatusCodes"] == nil {
            all["httpStatusCodes"] = "false"
        }
        if all["sdk"] == nil {
            all["sdk"] = sdk
        }
        all["timestamp"] = String(timestamp)
        all["nonce"] = nonce
        let baseString = OAuth1BaseString.build(httpMethod: "POST", url: url, params: all)
        let signature = secret.signature(for: baseString)
        all["sig"] = signature
        return SignedRequest(url: url, httpMethod: "POST", params: all, baseString: baseString, signature: signature)
    }

    /// A nonce in the Python SDK's shape: milliseconds followed by random digits (docs/gigya-protocol.md §1.2).
    public static func makeNonce(nowMilliseconds: Int64) -> String {
        String(nowMilliseconds) + String(UInt32.random(in: 0..<1_000_000_000))
    }
}

/// The server side of request signing: recomputes the base string of a received request and checks its `sig`.
public enum RequestSignatureCheck {
    /// The base string a request should have been signed over (every received param except `sig`).
    public static func expectedBaseString(httpMethod: String, url: String, params: [String: String]) -> String {
        var unsigned = params
        unsigned["sig"] = nil
        return OAuth1BaseString.build(httpMethod: httpMethod, url: url, params: unsigned)
    }

    /// Whether the request's `sig` matches, compared in constant time; false when `sig` is missing or malformed.
    public static func isValid(httpMethod: String, url: String, params: [String: String], secret: GigyaSecret) -> Bool {
        guard let signature = params["sig"] else {
            return false
        }
        return secret.isValidSignature(signature, for: expectedBaseString(httpMethod: httpMethod, url: url, params: params))
    }
}

/// `application/x-www-form-urlencoded` bodies with RFC 3986 escaping (a space is `%20`, as in the Python SDK's body).
public enum FormEncoding {
    /// Joins `enc(key)=enc(value)` with `&`, keys in UTF-8 byte order.
    public static func encode(_ params: [String: String]) -> String {
        OAuth1BaseString.sortedKeys(params)
            .map { PercentEncoding.rfc3986($0) + "=" + PercentEncoding.rfc3986(params[$0]!) }
            .joined(separator: "&")
    }

    /// Parses a form body: `+` is a space and `%XX` is a byte; malformed escapes are kept as they are; nil for non-UTF-8.
    public static func decode(_ body: String) -> [String: String]? {
        var result: [String: String] = [:]
        for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = unescape(parts[0]), let value = unescape(parts.count > 1 ? parts[1] : "") else {
                return nil
            }
            result[key] = value
        }
        return result
    }

    /// Undoes form escaping.
    static func unescape(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                if iterator.count >= 2, let high = hexValue(iterator[iterator.startIndex]),
                    let low = hexValue(iterator[iterator.startIndex + 1])
                {
                    bytes.append(high << 4 | low)
                    iterator = iterator.dropFirst(2)
                } else {
                    bytes.append(byte)
                }
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The value of one hex digit.
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
