import Foundation
public import GigyaEmulator
import GigyaKit
import LocalPostgres
public import Logging
public import VaultStore
import VaultCore
public import VaultServer

/// The zero-config stack `serve` starts when nothing is configured: a private PostgreSQL, a generated data key and the
/// built-in Gigya emulator with a demo site, all under the state directory.
public struct DevelopmentStack: Sendable {
    public let state: StateDirectory
    public let databaseURL: String
    public let dataKeys: String
    public let site: EmulatorSite
    public let emulatorURL: String
    /// The emulator's control token (also in `state.emulatorControlToken`, mode 0600).
    public var emulatorToken: String? { emulator.controlToken }
    private let postgres: EmbeddedPostgres
    private let emulator: RunningEmulator

    /// Starts (or reuses) everything under `stateDirectory`; files holding secrets are created with mode 0600.
    public static func start(stateDirectory: String, logger: Logger) async throws -> DevelopmentStack {
        let state = StateDirectory(stateDirectory)
        try state.create()
        // A data directory made by an older version trusts local connections; it keeps working, the password unused.
        let postgres = EmbeddedPostgres(dataDirectory: state.postgresData, logger: logger, password: try state.postgresPasswordCreatingIfNeeded())
        let instance = try await postgres.start()

        let dataKeys: String
        if let saved = state.savedDataKeys() {
            dataKeys = saved
        } else {
            let (_, base64) = DataKey.generate(id: "dev-1")
            dataKeys = "dev-1:\(base64)"
            try state.writePrivate(dataKeys + "\n", to: state.dataKeys)
        }

        let site: EmulatorSite
        if let data = FileManager.default.contents(atPath: state.emulatorSite), let saved = try? JSONDecoder().decode(EmulatorSite.self, from: data) {
            site = saved
        } else {
            site = GigyaEmulator.demoSite()
            try state.writePrivate(String(decoding: try JSONEncoder().encode(site), as: UTF8.self), to: state.emulatorSite)
        }
        // Its control routes mint tokens and forge account events: only who can read the 0600 token file may call them.
        let controlToken = try state.newEmulatorControlToken()
        let emulator = try await GigyaEmulator.start(
            configuration: EmulatorConfiguration(sites: [site], accountsFile: state.emulatorAccounts, controlToken: controlToken, logger: logger),
            host: "127.0.0.1", port: 0
        )

        return DevelopmentStack(
            state: state,
            databaseURL: instance.url(database: "postgres"),
            dataKeys: dataKeys,
            site: site,
            emulatorURL: emulator.baseURL,
            postgres: postgres,
            emulator: emulator
        )
    }

    /// The settings of the server this stack stands behind: its database, data key and demo site, migrating on start.
    public func serverSettings(_ settings: ServerSettings) -> ServerSettings {
        var settings = settings
        settings.databaseURL = databaseURL
        // The demo site takes both kinds of login result, so `demo login` and `demo login --id-token` both work.
        settings.sites = [
            SiteSettings(apiKey: site.apiKey, secret: site.partnerSecret, apiDomain: "us1.gigya.com", baseURL: emulatorURL, loginVerification: .both)
        ]
        settings.dataKeys = dataKeys
        settings.migrateOnStart = true
        return settings
    }

    /// Returns a working demo access key: the saved one if it still authenticates, else a new one with every scope.
    public func provisionDemoKey(_ keys: any AccessKeyRepository) async throws -> String {
        if let saved = state.loadDemoState(), try await keys.authenticate(saved.accessKey) != nil {
            return saved.accessKey
        }
        let name = "demo-\(Int(Date().timeIntervalSince1970))"
        return try await keys.createKey(name: name, scopes: AccessScope.allCases.map(\.rawValue), sites: .all).plaintext
    }

    /// Writes `demo.json` so `demo login` run from the same directory needs no flags.
    public func writeDemoState(serverURL: String, accessKey: String) throws {
        try state.writeDemoState(
            DemoState(serverURL: serverURL, emulatorURL: emulatorURL, siteAPIKey: site.apiKey, accessKey: accessKey, emulatorToken: emulator.controlToken))
    }

    /// `host:port/database` of the private PostgreSQL, without credentials.
    var databaseAddress: String {
        databaseURL.split(separator: "@", maxSplits: 1).last.map(String.init) ?? databaseURL
    }

    /// The banner `serve` prints so nobody mistakes this mode for production.
    public func banner(serverURL: String) -> String {
        """

        ============================================================================
          session-vault: ZERO-CONFIG DEVELOPMENT MODE — NOT FOR PRODUCTION
        ============================================================================
          No DATABASE_URL, Gigya site or DATA_KEYS were configured, so session-vault
          started everything it needs by itself, under \(state.path)/:
            • a private PostgreSQL            \(databaseAddress) (password in \(state.postgresPassword))
            • a generated data key            \(state.dataKeys) (mode 0600)
            • the built-in Gigya emulator     \(emulatorURL)  (demo site \(site.apiKey))
              its control routes' token       \(state.emulatorControlToken) (mode 0600)
            • a demo access key (every scope) \(state.demoState) (mode 0600)
            • its accounts, kept across restarts \(state.emulatorAccounts)
            • Gigya's account webhooks go to    \(serverURL)/v1/webhooks/gigya
          session-vault is listening on       \(serverURL)

          Try next, from this directory:
            swift run session-vault demo login
            open \(serverURL)/admin   (sign in with the demo access key)
        ============================================================================

        """
    }

    /// Points the emulator's account notifications at the server, as a site's webhook at Gigya would be configured.
    public func deliverWebhooks(to serverURL: String) {
        emulator.setWebhookURL("\(serverURL)/v1/webhooks/gigya")
    }

    /// Stops the emulator and the private PostgreSQL (its data stays for the next start).
    public func stop() async {
        await emulator.stop()
        try? await postgres.stop()
    }
}
