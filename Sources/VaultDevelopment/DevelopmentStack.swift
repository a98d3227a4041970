import Foundation
public import GigyaEmulator
import GigyaKit
public import Logging
public import VaultStore
public import VaultServer

/// The zero-config stack `serve` starts when nothing is configured: a private PostgreSQL, a generated data key and the
/// built-in Gigya emulator with a demo site, all under the state directory (`./.session-vault/`).
public struct DevelopmentStack: Sendable {
    /// What `demo login` reads to find the server, the emulator and a demo API key.
    public struct DemoState: Codable, Sendable {
        public var serverURL: String
        public var emulatorURL: String
        public var siteAPIKey: String
        public var apiKey: String
    }

    public let stateDirectory: String
    public let databaseURL: String
    public let dataKeys: String
    public let site: EmulatorSite
    public let emulatorURL: String
    private let postgres: EmbeddedPostgres
    private let emulator: RunningEmulator

    /// Starts (or reuses) everything under `stateDirectory`; files holding secrets are created with mode 0600.
    public static func start(stateDirectory: String, logger: Logger) async throws -> DevelopmentStack {
        let fileManager = FileManager.default
        // 0711: PostgreSQL runs as its own user when we are root and must traverse into its data directory; nobody
        // else may list the directory, and every file holding a secret in it is 0600.
        try fileManager.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        try fileManager.setAttributes([.posixPermissions: 0o711], ofItemAtPath: stateDirectory)

        let postgres = EmbeddedPostgres(dataDirectory: "\(stateDirectory)/postgres", logger: logger)
        let instance = try await postgres.start()

        let keysPath = "\(stateDirectory)/data-keys"
        let dataKeys: String
        if let existing = try? String(contentsOfFile: keysPath, encoding: .utf8), !existing.isEmpty {
            dataKeys = existing.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            let (_, base64) = DataKey.generate(id: "dev-1")
            dataKeys = "dev-1:\(base64)"
            try writePrivate(dataKeys + "\n", to: keysPath)
        }

        let sitePath = "\(stateDirectory)/emulator-site.json"
        let site: EmulatorSite
        if let data = fileManager.contents(atPath: sitePath), let saved = try? JSONDecoder().decode(EmulatorSite.self, from: data) {
            site = saved
        } else {
            site = GigyaEmulator.demoSite()
            try writePrivate(String(decoding: try JSONEncoder().encode(site), as: UTF8.self), to: sitePath)
        }
        let emulator = try await GigyaEmulator.start(configuration: EmulatorConfiguration(sites: [site]), host: "127.0.0.1", port: 0)

        return DevelopmentStack(
            stateDirectory: stateDirectory,
            databaseURL: instance.url(database: "postgres"),
            dataKeys: dataKeys,
            site: site,
            emulatorURL: emulator.baseURL,
            postgres: postgres,
            emulator: emulator
        )
    }

    /// The demo site as server settings, pointed at the emulator.
    public var siteSettings: SiteSettings {
        SiteSettings(apiKey: site.apiKey, secret: site.partnerSecret, apiDomain: "us1.gigya.com", baseURL: emulatorURL)
    }

    /// Returns a working demo API key: the saved one if it still authenticates, else a new one with every scope.
    public func provisionDemoKey(_ keys: any APIKeyRepository) async throws -> String {
        if let saved = Self.loadDemoState(stateDirectory: stateDirectory), try await keys.authenticate(saved.apiKey) != nil {
            return saved.apiKey
        }
        let name = "demo-\(Int(Date().timeIntervalSince1970))"
        return try await keys.createKey(name: name, scopes: APIScope.allCases.map(\.rawValue)).plaintext
    }

    /// Writes `demo.json` (mode 0600) so `demo login` run from the same directory needs no flags.
    public func writeDemoState(serverURL: String, apiKey: String) throws {
        let state = DemoState(serverURL: serverURL, emulatorURL: emulatorURL, siteAPIKey: site.apiKey, apiKey: apiKey)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Self.writePrivate(String(decoding: try encoder.encode(state), as: UTF8.self), to: "\(stateDirectory)/demo.json")
    }

    /// Reads `demo.json` if a zero-config server wrote one.
    public static func loadDemoState(stateDirectory: String) -> DemoState? {
        guard let data = FileManager.default.contents(atPath: "\(stateDirectory)/demo.json") else { return nil }
        return try? JSONDecoder().decode(DemoState.self, from: data)
    }

    /// The banner `serve` prints so nobody mistakes this mode for production.
    public func banner(serverURL: String) -> String {
        """

        ============================================================================
          session-vault: ZERO-CONFIG DEVELOPMENT MODE — NOT FOR PRODUCTION
        ============================================================================
          No DATABASE_URL, Gigya site or DATA_KEYS were configured, so session-vault
          started everything it needs by itself, under \(stateDirectory)/:
            • a private PostgreSQL            \(databaseURL.replacingOccurrences(of: "postgres://", with: ""))
            • a generated data key            \(stateDirectory)/data-keys (mode 0600)
            • the built-in Gigya emulator     \(emulatorURL)  (demo site \(site.apiKey))
            • a demo API key (every scope)    \(stateDirectory)/demo.json (mode 0600)
          session-vault is listening on       \(serverURL)

          Try next, from this directory:
            swift run session-vault demo login
        ============================================================================

        """
    }

    /// Stops the emulator and the private PostgreSQL (its data stays for the next start).
    public func stop() async {
        await emulator.stop()
        try? await postgres.stop()
    }

    private static func writePrivate(_ text: String, to path: String) throws {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path) { try fileManager.removeItem(atPath: path) }
        guard fileManager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
