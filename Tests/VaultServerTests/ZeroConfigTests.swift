import AsyncHTTPClient
import Foundation
import GigyaEmulator
import Logging
import NIOHTTP1
import PostgresNIO
import Testing
import VaultDevelopment
import VaultServer

@Suite("Zero-config serve")
struct ZeroConfigTests {
    @Test("serve with no configuration starts PostgreSQL, the emulator and the server; demo login then round-trips tokens")
    func zeroConfigServeAndDemoLogin() async throws {
        let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sv-zero-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        var settings = ServerSettings()
        settings.port = 0
        settings.workers = 2
        settings.stateDirectory = stateDirectory
        #expect(settings.isZeroConfig)
        var logger = Logger(label: "zero-config-test")
        logger.logLevel = .warning

        let server = Task { try await ZeroConfig.serve(settings: settings, logger: logger) }
        defer { server.cancel() }

        // serve writes demo.json once it listens; allow for initdb on a slow machine.
        var state: DemoState?
        let deadline = ContinuousClock.now.advanced(by: .seconds(90))
        while state == nil, ContinuousClock.now < deadline {
            state = StateDirectory(stateDirectory).loadDemoState()
            if state == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        let demo = try #require(state, "serve did not write demo.json")

        let directory = StateDirectory(stateDirectory)
        for secret in [directory.dataKeys, directory.postgresPassword, directory.demoState, directory.emulatorSite, directory.emulatorControlToken] {
            let attributes = try FileManager.default.attributesOfItem(atPath: secret)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(secret)")
        }
        // The private PostgreSQL takes password connections only: another local user cannot use it.
        // postmaster.pid's fourth line is the port.
        let pid = try String(contentsOfFile: directory.postgresData + "/postmaster.pid", encoding: .utf8).split(separator: "\n")
        let port = try #require(pid.count > 3 ? Int(pid[3]) : nil)
        var stranger = Logger(label: "stranger")
        stranger.logLevel = .critical
        await #expect(throws: (any Error).self) {
            let configuration = PostgresConnection.Configuration(
                host: "127.0.0.1", port: port, username: "postgres", password: nil, database: "postgres", tls: .disable)
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: stranger)
            try await connection.close()
        }

        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        // The emulator's control routes (which mint tokens and forge account events) want the token from the 0600 file;
        // demo.json does not carry it.
        let token = try #require(demo.emulatorToken)
        #expect(!(try String(contentsOfFile: directory.demoState, encoding: .utf8)).contains(token))
        for presented in [nil, "Bearer wrong", "Bearer " + token.dropLast() + (token.hasSuffix("0") ? "1" : "0"), token] as [String?] {
            var request = HTTPClientRequest(url: demo.emulatorURL + "/_emulator/health")
            if let presented { request.headers.add(name: "Authorization", value: presented) }
            let response = try await client.execute(request, timeout: .seconds(30))
            #expect(response.status == .unauthorized, "\(presented ?? "none")")
        }
        await #expect(throws: (any Error).self) { try await EmulatorControlClient(baseURL: demo.emulatorURL, httpClient: client).health() }
        #expect(try await demo.emulatorControl(httpClient: client).health().sites == [demo.siteAPIKey])
        let outcome = await Result { try await DemoLogin.run(state: demo, provider: "google", httpClient: client) }
        // `demo login --id-token`: the zero-config demo site accepts both kinds of login result.
        let idTokenOutcome = await Result { try await DemoLogin.run(state: demo, provider: "facebook", idToken: true, httpClient: client) }
        try await client.shutdown()
        let report = try outcome.get()
        #expect(report.status == "stored")
        #expect(report.tokensMatch, "mismatched: \(report.mismatchedFields)")
        let idTokenReport = try idTokenOutcome.get()
        #expect(idTokenReport.status == "stored")
        #expect(idTokenReport.tokensMatch, "mismatched: \(idTokenReport.mismatchedFields)")

        server.cancel()
        _ = await server.result
    }
}

extension Result where Failure == any Error {
    /// `Result(catching:)` for async work.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
