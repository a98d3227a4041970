import Foundation
import NIOSSL
public import PostgresNIO

/// Parses `postgres://user:password@host:port/database?sslmode=…` into a client configuration.
/// `sslmode`: `disable`, `prefer` (the default, except on loopback where it is `disable`) or `require`/`verify-full`.
public enum DatabaseURL {
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
        // A loopback server (the zero-config one) has no certificate to offer; elsewhere try TLS first.
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        let sslmode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? (loopback ? "disable" : "prefer")
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw .invalid(key: "database.url", reason: "unknown sslmode '\(sslmode)'")
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
}
