import Foundation
import NIOSSL
public import PostgresNIO

/// Parses `postgres://user:password@host:port/database?sslmode=…` into a client configuration.
/// `sslmode`: `disable`, `prefer`/`allow`, or `require`/`verify-ca`/`verify-full` (all three verify the certificate and
/// host name). The default is `require` for every host that is not a loopback IP literal, and `disable` for those.
public enum DatabaseURL {
    /// How the connection uses TLS.
    public enum SSLMode: String, Sendable, Equatable {
        case disable, prefer, require
    }

    public static func configuration(from text: String) throws(SettingsError) -> PostgresClient.Configuration {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw .invalid(key: "database.url", reason: "must be postgres://user:password@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalid(key: "database.url", reason: "has no host")
        }
        let user = components.percentEncodedUser?.removingPercentEncoding ?? "postgres"
        let password = components.percentEncodedPassword?.removingPercentEncoding
        let database = components.path.split(separator: "/").first.map(String.init)
        let tls: PostgresClient.Configuration.TLS
        switch try sslMode(host: host, query: components.queryItems?.first(where: { $0.name == "sslmode" })?.value) {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        return PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: user,
            password: password,
            database: database,
            tls: tls
        )
    }

    /// The TLS mode for `host`: the URL's `sslmode` when given, else `disable` for a loopback IP literal (the zero-config
    /// server has no certificate) and `require` everywhere else, `localhost` included (a name can resolve anywhere).
    public static func sslMode(host: String, query: String?) throws(SettingsError) -> SSLMode {
        guard let query else { return isLoopbackLiteral(host) ? .disable : .require }
        switch query {
        case "disable": return .disable
        case "prefer", "allow": return .prefer
        case "require", "verify-ca", "verify-full": return .require
        default: throw .invalid(key: "database.url", reason: "unknown sslmode (use disable, prefer, require, verify-ca or verify-full)")
        }
    }

    /// `127.x.y.z` or `::1` written as an address, not a name.
    static func isLoopbackLiteral(_ host: String) -> Bool {
        let unbracketed = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if unbracketed == "::1" { return true }
        let octets = unbracketed.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
