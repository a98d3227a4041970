import ArgumentParser
import AsyncHTTPClient
import VaultDevelopment

/// `session-vault demo`: plays the parts of a web app and a backend against a zero-config server.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Try session-vault end to end against the zero-config server.",
        subcommands: [Login.self, Seed.self]
    )

    /// Logs a demo user in at the emulator, posts the login result, and checks the stored tokens.
    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log a demo user in, post the result, wait until stored, and compare the tokens read back."
        )

        @Option(help: "The social provider to log in with.")
        var provider = "facebook"

        @Flag(help: "Post the login as a Gigya id_token (include: 'id_token') instead of UIDSignature and signatureTimestamp.")
        var idToken = false

        @Option(help: "Where `serve` wrote demo.json.")
        var stateDirectory = ".session-vault"

        func run() async throws {
            guard let state = StateDirectory(stateDirectory).loadDemoState() else {
                print("no \(stateDirectory)/demo.json: start `swift run session-vault serve` (zero-config) from this directory first")
                throw ExitCode(1)
            }
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            let outcome: Result<DemoLogin.Report, any Error>
            do {
                outcome = .success(try await DemoLogin.run(state: state, provider: provider, idToken: idToken, httpClient: client))
            } catch {
                outcome = .failure(error)
            }
            try await client.shutdown()
            let report: DemoLogin.Report
            switch outcome {
            case .success(let value): report = value
            case .failure(let error):
                print("demo login failed: \(error)")
                throw ExitCode(1)
            }
            print("1. logged in at the emulator as \(report.uid) with \(report.provider)")
            print("2. posted the login result\(idToken ? " as an id_token" : ""): event \(report.eventID) is \(report.status)")
            print("3. read the tokens back through GET /v1/users/\(report.uid)/sessions/\(report.provider)")
            if report.tokensMatch {
                print("4. authToken, tokenSecret and sessionHandle match the emulator's plaintext: OK")
            } else {
                print("4. MISMATCH in \(report.mismatchedFields.joined(separator: ", "))")
                throw ExitCode(1)
            }
        }
    }
}
