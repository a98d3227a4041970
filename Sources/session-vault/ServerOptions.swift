import ArgumentParser
import Configuration
import Logging
import VaultDevelopment
import VaultServer

/// Flags shared by every command that reads server settings; flags win over the environment, which wins over the file.
struct ServerOptions: ParsableArguments {
    @Option(help: "A JSON configuration file (also SESSION_VAULT_CONFIG).")
    var config: String?

    @Option(help: "PostgreSQL URL (also DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "The directory of the SQL migrations (default: ./sql, then the installed copy).")
    var sqlDirectory: String?

    @Option(help: "Where zero-config mode keeps its database, keys and demo state.")
    var stateDirectory: String?

    /// Reads the settings with these flags on top.
    func load(extra: [String: ConfigValue] = [:]) async throws -> ServerSettings {
        var overrides = extra
        if let databaseURL { overrides["database.url"] = ConfigValue(.string(databaseURL), isSecret: true) }
        if let sqlDirectory { overrides["sql.directory"] = ConfigValue(.string(sqlDirectory), isSecret: false) }
        if let stateDirectory { overrides["state.directory"] = ConfigValue(.string(stateDirectory), isSecret: false) }
        let reader = try await ServerSettings.makeReader(overrides: overrides, configFile: config)
        return try ServerSettings.load(from: reader)
    }
}

extension ServerOptions {
    /// Runs an operator command's `body` against the built application's database (the zero-config one when nothing is
    /// configured); `database` describes which, for messages.
    func withVault<T: Sendable>(logLevel: String = "warning", label: String, _ body: (_ vault: Vault, _ database: String) async throws -> T) async throws -> T {
        let logger = makeLogger(label, level: logLevel)
        let (settings, database) = try await ZeroConfig.operatorSettings(try await load(), logger: logger)
        // A one-shot command leases its first connection while the pool is still starting; that is expected here, so
        // the pool's own chatter is kept to errors.
        var poolLogger = logger
        poolLogger.logLevel = .error
        return try await buildApplication(settings, logger: logger, poolLogger: poolLogger).withDatabase { vault in
            try await body(vault, database)
        }
    }
}

/// A logger for command-line tools: `LOG_LEVEL` or the given default.
func makeLogger(_ label: String, level: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = Logger.Level(rawValue: level.lowercased()) ?? .info
    return logger
}
