import Foundation

/// A Gigya data centre: the API domain an API key is served from (docs/gigya-protocol.md §6).
public struct DataCenter: Sendable, Hashable, CustomStringConvertible {
    /// The API domain, such as `us1.gigya.com` or `cn1.gigya-api.cn`.
    public let apiDomain: String

    /// The US data centre, every official SDK's default.
    public static let us1 = DataCenter(apiDomain: "us1.gigya.com")
    /// The European data centre.
    public static let eu1 = DataCenter(apiDomain: "eu1.gigya.com")
    /// The Australian data centre.
    public static let au1 = DataCenter(apiDomain: "au1.gigya.com")
    /// The Russian data centre.
    public static let ru1 = DataCenter(apiDomain: "ru1.gigya.com")
    /// The Chinese data centre, on its own domain.
    public static let cn1 = DataCenter(apiDomain: "cn1.gigya-api.cn")

    /// Takes a data-centre name (`eu1` → `eu1.gigya.com`, `cn1` → `cn1.gigya-api.cn`) or any full domain (kept as given).
    public init(_ nameOrDomain: String) {
        let trimmed = nameOrDomain.lowercased()
        if trimmed.contains(".") {
            self.apiDomain = trimmed
        } else if trimmed == "cn1" {
            self.apiDomain = "cn1.gigya-api.cn"
        } else {
            self.apiDomain = trimmed + ".gigya.com"
        }
    }

    /// Wraps a full API domain.
    private init(apiDomain: String) {
        self.apiDomain = apiDomain
    }

    public var description: String { apiDomain }
}

/// Where a Gigya REST method is sent: `<scheme>://<ns>.<apiDomain>/<ns>.<method>` (docs/gigya-protocol.md §1.1).
public struct GigyaEndpoint: Sendable, Hashable {
    /// The full method name, namespace included (`getUserInfo` becomes `socialize.getUserInfo`).
    public let method: String
    /// The namespace: the part of the method before the first dot, or `socialize`.
    public let namespace: String
    /// The host (with a port when the base URL has one).
    public let host: String
    /// The path, `/<namespace>.<method>`.
    public let path: String
    /// The scheme (`https` unless overridden).
    public let scheme: String
    /// The URL to POST to.
    public let url: String

    /// Derives the host from the namespace and a data centre name or API domain.
    public init(method: String, apiDomain: String = DataCenter.us1.apiDomain, scheme: String = "https") {
        let (namespace, method) = Self.split(method)
        self.method = method
        self.namespace = namespace
        self.host = namespace + "." + DataCenter(apiDomain).apiDomain
        self.path = "/" + method
        self.scheme = scheme.lowercased()
        self.url = self.scheme + "://" + host + path
    }

    /// Sends to a fixed base URL instead (an emulator such as `http://127.0.0.1:4010`); the path stays `/<ns>.<method>`.
    public init(method: String, baseURL: String) {
        let (namespace, method) = Self.split(method)
        var base = Substring(baseURL)
        while base.hasSuffix("/") {
            base = base.dropLast()
        }
        self.method = method
        self.namespace = namespace
        self.path = "/" + method
        if let separator = base.range(of: "://") {
            self.scheme = base[..<separator.lowerBound].lowercased()
            let authority = base[separator.upperBound...]
            self.host = String(authority.prefix { $0 != "/" })
        } else {
            self.scheme = "https"
            self.host = String(base.prefix { $0 != "/" })
        }
        self.url = String(base) + path
    }

    /// Strips a leading `/`, then splits off the namespace, defaulting to `socialize` (docs/gigya-protocol.md §1.1).
    static func split(_ rawMethod: String) -> (namespace: String, method: String) {
        var method = Substring(rawMethod)
        while method.hasPrefix("/") {
            method = method.dropFirst()
        }
        guard let dot = method.firstIndex(of: ".") else {
            return ("socialize", "socialize." + method)
        }
        return (String(method[..<dot]), String(method))
    }
}
