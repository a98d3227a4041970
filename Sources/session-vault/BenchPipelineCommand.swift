import ArgumentParser
import Foundation
import Logging
import VaultDevelopment

/// `bench pipeline`: callbacks accepted and sessions stored per second behind a Gigya of a given latency, with latencies,
/// errors, lost events and a PostgreSQL insert baseline from the same run.
struct BenchPipeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Login callbacks accepted and sessions stored per second, against an insert baseline from the same run.",
        discussion: """
            By default it starts a private PostgreSQL (fsync on) and the Gigya emulator under a temporary directory, \
            measures the insert baseline, then serves session-vault and drives it. With --server-url it targets a running \
            server instead. The last line is key=value pairs.
            """
    )

    @Option(help: "Callbacks to post; default 2,000, or with --duration: rate × duration, 20,000 in a closed loop (the most prepared).")
    var requests: Int?

    @Option(help: "Post for this many seconds instead of a fixed number of callbacks.")
    var duration: Double?

    @Option(help: "Concurrent clients, each posting its next callback when the previous one is answered (closed loop); default 64.")
    var concurrency: Int?

    @Option(help: "Callbacks started per second whatever the answers (open loop); see --max-outstanding.")
    var rate: Double?

    @Option(help: "With --rate: the most callbacks in flight.")
    var maxOutstanding = 256

    @Option(name: .customLong("gigya-latency-ms"), help: "getSessionInfo's latency in the emulator, in milliseconds.")
    var gigyaLatencyMilliseconds = 150

    @Option(help: "Gigya calls in flight in the self-started server (settings.workers); default: the server's default.")
    var workers: Int?

    @Option(help: "Seconds the insert baseline runs at most.")
    var baselineSeconds: Double = 3

    @Option(help: "Seconds to wait after the load for every accepted event to be stored or failed.")
    var drainTimeout: Double = 120

    @Option(name: .customLong("server-url"), help: "A running server to target instead of starting one.")
    var serverURL: String?

    @Option(name: .customLong("site-api-key"), help: "With --server-url: the Gigya site's API key.")
    var siteAPIKey: String?

    @Option(help: "With --server-url: the site's partner secret (base64), to sign each login result just before posting it.")
    var siteSecret: String?

    @Option(help: "With --server-url and no --database-url: an access key with events:read.")
    var accessKey: String?

    @Option(name: .customLong("emulator-url"), help: "With --server-url: the emulator the server calls (users are created there, and the latency set).")
    var emulatorURL: String?

    @Option(name: .customLong("emulator-token-file"), help: "With --emulator-url: a file holding its control token (zero-config: .session-vault/emulator-control-token).")
    var emulatorTokenFile: String?

    @Option(name: .customLong("database-url"), help: "With --server-url: the server's PostgreSQL, for the baseline and the events' timestamps.")
    var databaseURL: String?

    @Option(help: "The self-started server's log level.")
    var logLevel = "critical"

    @Flag(help: "No progress line.")
    var quiet = false

    func validate() throws {
        if concurrency != nil && rate != nil { throw ValidationError("give --concurrency or --rate, not both") }
        if let concurrency, concurrency <= 0 { throw ValidationError("--concurrency must be positive") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if let requests, requests <= 0 { throw ValidationError("--requests must be positive") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if let workers, workers <= 0 { throw ValidationError("--workers must be positive") }
        guard maxOutstanding > 0, gigyaLatencyMilliseconds >= 0, baselineSeconds > 0, drainTimeout > 0 else {
            throw ValidationError("--max-outstanding, --baseline-seconds and --drain-timeout must be positive, --gigya-latency-ms not negative")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: trace, debug, info, notice, warning, error or critical") }
        if serverURL == nil {
            guard siteAPIKey == nil, siteSecret == nil, accessKey == nil, emulatorURL == nil, databaseURL == nil else {
                throw ValidationError("--site-api-key, --site-secret, --access-key, --emulator-url and --database-url need --server-url")
            }
        } else {
            if workers != nil { throw ValidationError("--workers applies only to the server this command starts") }
            if siteSecret == nil && emulatorURL == nil {
                throw ValidationError("with --server-url, give --site-secret or --emulator-url to sign login results")
            }
            if databaseURL == nil && accessKey == nil {
                throw ValidationError("with --server-url, give --database-url or an --access-key with events:read, to see the events stored")
            }
        }
    }

    func run() async throws {
        let shape: LoadShape = rate.map { .open(rate: $0, maxOutstanding: maxOutstanding) } ?? .closed(concurrency: concurrency ?? 64)
        // With only --duration, enough users are prepared for the rate, or up to 20,000 in a closed loop.
        let total = requests ?? duration.map { seconds in rate.map { Int(($0 * seconds).rounded(.up)) } ?? 20_000 } ?? 2_000
        var options = PipelineBenchmark.Options(requests: total, duration: duration, shape: shape)
        options.gigyaLatencyMilliseconds = gigyaLatencyMilliseconds
        options.workers = workers
        options.baselineSeconds = baselineSeconds
        options.drainTimeout = drainTimeout
        options.serverLogLevel = Logger.Level(rawValue: logLevel) ?? .critical
        options.showProgress = !quiet
        if let serverURL {
            options.target = BenchmarkTarget(
                serverURL: serverURL, siteAPIKey: siteAPIKey, siteSecret: siteSecret, accessKey: accessKey, emulatorURL: emulatorURL,
                emulatorToken: try emulatorTokenFile.map { try StateDirectory.readToken($0) },
                databaseURL: databaseURL
            )
        }
        var logger = Logger(label: "session-vault.bench")
        logger.logLevel = .error
        let target = serverURL ?? "a private stack (PostgreSQL with fsync on, the emulator) under a temporary directory"
        let latency = serverURL == nil || emulatorURL != nil ? "getSessionInfo latency \(gigyaLatencyMilliseconds) ms" : "Gigya latency unknown"
        output("bench pipeline: \(total) callbacks\(duration.map { " or \($0) s" } ?? ""), \(shape.description), \(latency), target: \(target)")
        let report = try await PipelineBenchmark.run(options, logger: logger)
        for line in report.lines { output(line) }
    }
}

/// Writes one line to stdout unbuffered, so the report interleaves correctly with the progress lines on stderr.
func output(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
