import ArgumentParser
import Foundation
import GigyaEmulator
import Logging

/// `session-vault emulator`: a local Gigya for trying an integration without a live site.
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "Run a local Gigya (REST methods, Web-SDK login, webhooks, faults) until SIGINT/SIGTERM."
    )

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The port to listen on (0 lets the OS choose).")
    var port: Int = 4010

    @Option(name: .customLong("site"), help: "A site as API_KEY:PARTNER_SECRET[:DATA_CENTER] (repeatable).")
    var sites: [String] = []

    @Option(help: "A JSON file holding [{\"apiKey\", \"partnerSecret\", \"dataCenter\"?, \"userKeys\"?}].")
    var sitesFile: String?

    @Option(help: "Where account notifications (accountLoggedIn, accountUidChanged, accountMerged, accountDeleted) are POSTed.")
    var webhookURL: String?

    @Option(help: "A JSON file keeping the accounts across restarts (created when missing, rewritten atomically, mode 0600).")
    var accountsFile: String?

    @Option(help: "A file holding a token: the /_emulator control routes then want Authorization: Bearer <token>.")
    var controlTokenFile: String?

    @Option(help: "The allowed |now - timestamp| of signed requests, in seconds.")
    var windowSeconds: Int64 = 120

    @Flag(help: "Trust X-Forwarded-Proto: https (only behind a TLS-terminating proxy you control).")
    var trustForwardedProto = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard (0...65535).contains(port) else {
            throw ValidationError("--port must be 0...65535")
        }
        guard windowSeconds > 0 else {
            throw ValidationError("--window-seconds must be positive")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        var sites: [EmulatorSite] = []
        do {
            sites = try self.sites.map { try GigyaEmulator.parseSite($0) }
            if let sitesFile {
                sites += try GigyaEmulator.loadSites(fromJSONFile: sitesFile)
            }
        } catch {
            throw ValidationError("\(error)")
        }
        if sites.isEmpty {
            let demo = GigyaEmulator.demoSite()
            sites = [demo]
            // A generated demo site has no value outside this process, so its secret is printed for the user to copy.
            let lines = [
                "No --site given; generated a demo site:",
                "  apiKey:        \(demo.apiKey)",
                "  partnerSecret: \(demo.partnerSecret)",
                "  dataCenter:    \(demo.dataCenter)",
            ]
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let logger = Logger(label: "gigya-emulator") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let configuration = EmulatorConfiguration(
            sites: sites,
            webhookURL: webhookURL,
            requestWindowSeconds: windowSeconds,
            trustForwardedProto: trustForwardedProto,
            accountsFile: accountsFile,
            controlToken: try controlTokenFile.map { path in
                let token = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                guard !token.isEmpty else { throw ValidationError("--control-token-file: \(path) cannot be read or is empty") }
                return token
            },
            logger: logger
        )
        let printableHost = host.contains(":") ? "[\(host)]" : host
        try await GigyaEmulator.runUntilSignalled(configuration: configuration, host: host, port: port) { bound in
            // Written unbuffered so a script waiting for this line sees it at once.
            FileHandle.standardOutput.write(Data("Gigya emulator listening on http://\(printableHost):\(bound)\n".utf8))
        }
    }
}
