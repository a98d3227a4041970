import Foundation
import GigyaEmulator
import LocalPostgres
public import Logging
import Hummingbird
import VaultCore
public import VaultServer

/// Zero-config mode: what `serve` and the operator commands do when nothing production-like is configured.
public enum ZeroConfig {
    /// Runs the production application when anything is configured; else the development stack around the very same
    /// application, said loudly.
    public static func serve(settings: ServerSettings, logger: Logger) async throws {
        guard settings.isZeroConfig else {
            try settings.checkProductionComplete()
            try await buildApplication(settings, logger: logger).runUntilSignalled()
            return
        }
        let stack = try await DevelopmentStack.start(stateDirectory: settings.stateDirectory, logger: logger)
        do {
            let app = try buildApplication(stack.serverSettings(settings), logger: logger) { url, vault in
                do {
                    stack.deliverWebhooks(to: url)
                    let demoKey = try await stack.provisionDemoKey(vault.store)
                    try stack.writeDemoState(serverURL: url, accessKey: demoKey)
                    FileHandle.standardError.write(Data(stack.banner(serverURL: url).utf8))
                } catch {
                    logger.error("could not write the demo state", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            try await app.runUntilSignalled()
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
    }

    /// The settings an operator command (`migrate`, `keys`, `data-keys`) works with, and a description of its database:
    /// the configured database, or the zero-config one under the state directory when none is configured.
    /// A zero-config database started here keeps running: a `serve` may be using it, and the next `serve` stops it.
    public static func operatorSettings(_ settings: ServerSettings, logger: Logger) async throws -> (ServerSettings, database: String) {
        guard settings.databaseURL == nil else { return (settings, "DATABASE_URL") }
        let state = StateDirectory(settings.stateDirectory)
        guard state.hasDatabase else {
            throw SettingsError.invalid(
                key: "database.url",
                reason: "DATABASE_URL is not set and there is no zero-config database under \(state.path)/ (run `session-vault serve` once)"
            )
        }
        var settings = settings
        settings.databaseURL = try await EmbeddedPostgres(dataDirectory: state.postgresData, logger: logger, password: state.savedPostgresPassword())
            .start().url(database: "postgres")
        if settings.dataKeys == nil { settings.dataKeys = state.savedDataKeys() }
        // The demo site, at the emulator the running `serve` started: what `admin reconcile` asks.
        if settings.sites.isEmpty, let demo = state.loadDemoState(), let data = FileManager.default.contents(atPath: state.emulatorSite),
            let site = try? JSONDecoder().decode(EmulatorSite.self, from: data)
        {
            settings.sites = [
                SiteSettings(apiKey: site.apiKey, secret: site.partnerSecret, apiDomain: "us1.gigya.com", baseURL: demo.emulatorURL, loginVerification: .both)
            ]
        }
        return (settings, "the zero-config database under \(state.postgresData)")
    }
}
