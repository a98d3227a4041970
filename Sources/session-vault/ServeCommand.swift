import ArgumentParser
import Configuration
import VaultDevelopment
import VaultServer

/// `session-vault serve`: the production server, or the zero-config development stack when nothing is configured.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server (zero-config development mode when no database, site or data keys are configured)."
    )

    @OptionGroup var options: ServerOptions

    @Option(help: "Address to listen on (also HTTP_HOST).")
    var host: String?

    @Option(help: "Port to listen on (also HTTP_PORT; default 8080).")
    var port: Int?

    @Option(help: "Worker loops in this instance (also WORKERS_COUNT; default 4).")
    var workers: Int?

    @Option(help: "What the sites accept: signatures, id_tokens or both (also GIGYA_LOGIN_VERIFICATION; default signatures).")
    var loginVerification: String?

    @Flag(help: "Apply pending migrations before starting (zero-config mode always does).")
    var migrate = false

    func run() async throws {
        var extra: [String: ConfigValue] = [:]
        if let host { extra["http.host"] = ConfigValue(.string(host), isSecret: false) }
        if let port { extra["http.port"] = ConfigValue(.int(port), isSecret: false) }
        if let workers { extra["workers.count"] = ConfigValue(.int(workers), isSecret: false) }
        if let loginVerification { extra["gigya.loginVerification"] = ConfigValue(.string(loginVerification), isSecret: false) }
        if migrate { extra["migrate.onStart"] = ConfigValue(.bool(true), isSecret: false) }
        let settings = try await options.load(extra: extra)
        try await ZeroConfig.serve(settings: settings, logger: makeLogger("session-vault", level: settings.logLevel))
    }
}
