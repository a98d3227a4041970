import ArgumentParser
import Foundation
import Logging
import VaultDevelopment

/// `bench reads`: token reads per second through the HTTP API at a fixed rate, with their latency.
struct BenchReads: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reads",
        abstract: "Token reads (GET /v1/users/{uid}/sessions/{provider}) per second and their latency at a fixed rate.",
        discussion: """
            By default it starts a private PostgreSQL and the emulator, stores --users sessions through the pipeline, then \
            reads them in turn at --rate (open loop) for --duration seconds. The last line is key=value pairs.
            """
    )

    @Option(help: "Reads started per second (open loop).")
    var rate: Double = 1000

    @Option(help: "Seconds to read for.")
    var duration: Double = 10

    @Option(help: "Users with a stored session, read in turn.")
    var users = 200

    @Option(help: "The most reads in flight (and HTTP connections).")
    var maxOutstanding = 64

    @Option(name: .customLong("server-url"), help: "A running server to target instead of starting one.")
    var serverURL: String?

    @Option(help: "With --server-url: an access key with sessions:read.")
    var accessKey: String?

    @Option(name: .customLong("site-api-key"), help: "With --server-url: the Gigya site's API key.")
    var siteAPIKey: String?

    @Option(name: .customLong("emulator-url"), help: "With --server-url: the emulator the server calls, where the users are created.")
    var emulatorURL: String?

    @Option(name: .customLong("emulator-token-file"), help: "With --emulator-url: a file holding its control token (zero-config: .session-vault/emulator-control-token).")
    var emulatorTokenFile: String?

    @Option(help: "The self-started server's log level.")
    var logLevel = "critical"

    @Flag(help: "No progress line.")
    var quiet = false

    func validate() throws {
        guard rate > 0, duration > 0, users > 0, maxOutstanding > 0 else {
            throw ValidationError("--rate, --duration, --users and --max-outstanding must be positive")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: trace, debug, info, notice, warning, error or critical") }
        if serverURL == nil {
            guard accessKey == nil, siteAPIKey == nil, emulatorURL == nil else {
                throw ValidationError("--access-key, --site-api-key and --emulator-url need --server-url")
            }
        } else if accessKey == nil || emulatorURL == nil {
            throw ValidationError("with --server-url, give --access-key (sessions:read) and --emulator-url (to prepare the users)")
        }
    }

    func run() async throws {
        var options = ReadsBenchmark.Options()
        options.rate = rate
        options.duration = duration
        options.users = users
        options.maxOutstanding = maxOutstanding
        options.serverLogLevel = Logger.Level(rawValue: logLevel) ?? .critical
        options.showProgress = !quiet
        if let serverURL {
            options.target = BenchmarkTarget(serverURL: serverURL, siteAPIKey: siteAPIKey, accessKey: accessKey, emulatorURL: emulatorURL,
                emulatorToken: try emulatorTokenFile.map { try StateDirectory.readToken($0) })
        }
        var logger = Logger(label: "session-vault.bench")
        logger.logLevel = .error
        let target = serverURL ?? "a private stack"
        output("bench reads: \(Int(rate))/s for \(duration) s over \(users) users, at most \(maxOutstanding) in flight, target: \(target)")
        let report = try await ReadsBenchmark.run(options, logger: logger)
        for line in report.lines { output(line) }
    }
}
