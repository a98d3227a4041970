import Foundation

/// The OAuth1-style text that Gigya REST requests are signed over (docs/gigya-protocol.md §1.3).
public enum OAuth1BaseString {
    /// `UPPER(method) & enc(normalizedURL) & enc(query)`, where the query joins `key=enc(value)` in UTF-8 byte order of the keys.
    ///
    /// `url` is the URL as sent: scheme and host are lower-cased, a default port (80 for http, 443 for https) is dropped,
    /// any other port is kept (the Java SDK's behaviour, vector `port_normalization_java`), and a query or fragment is ignored.
    /// `params` must not hold `sig`; an empty value is signed as `key=` (docs/gigya-protocol.md §1.3). Values are encoded here and
    /// the whole query again, so `a b` appears as `a%2520b`.
    public static func build(httpMethod: String, url: String, params: [String: String]) -> String {
        let query = canonicalQuery(params)
        return httpMethod.uppercased() + "&" + PercentEncoding.rfc3986(normalizedURL(url)) + "&" + PercentEncoding.rfc3986(query)
    }

    /// `key=enc(value)` pairs joined with `&`, keys sorted by UTF-8 bytes (the same as code-point order).
    public static func canonicalQuery(_ params: [String: String]) -> String {
        var query = ""
        for key in sortedKeys(params) {
            if !query.isEmpty {
                query += "&"
            }
            query += key
            query += "="
            query += PercentEncoding.rfc3986(params[key]!)
        }
        return query
    }

    /// Keys in code-point order, so `UID` sorts before `apiKey` (docs/gigya-protocol.md §1.3).
    static func sortedKeys(_ params: [String: String]) -> [String] {
        params.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// `lower(scheme)://lower(host)[:port]path`, the URL part of the base string.
    public static func normalizedURL(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else {
            return url
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = rest[authorityEnd...]
        if let queryStart = path.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            path = path[..<queryStart]
        }
        var host = Substring(authority)
        var port: Substring?
        // A bracketed IPv6 literal holds colons of its own; the port colon comes after `]`.
        let hostEnd = authority.lastIndex(of: "]") ?? authority.startIndex
        if let colon = authority[hostEnd...].lastIndex(of: ":") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        var normalized = scheme + "://" + host.lowercased()
        if let port, !port.isEmpty, !(scheme == "http" && port == "80"), !(scheme == "https" && port == "443") {
            normalized += ":" + port
        }
        return normalized + path
    }
}
