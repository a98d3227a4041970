import Foundation
public import Logging
public import VaultServer

/// What `serve` runs: the production server when anything is configured, else the zero-config development stack
/// (private PostgreSQL, generated data key, emulator) around the very same server.
public enum VaultLauncher {
    public static func run(settings: ServerSettings, logger: Logger) async throws {
        guard settings.isZeroConfig else {
            try await VaultServe.run(settings: settings, logger: logger)
            return
        }
        let stack = try await DevelopmentStack.start(stateDirectory: settings.stateDirectory, logger: logger)
        var settings = settings
        settings.databaseURL = stack.databaseURL
        settings.sites = [stack.siteSettings]
        settings.dataKeys = stack.dataKeys
        settings.migrateOnStart = true
        do {
            try await VaultServe.run(settings: settings, logger: logger) { url, store in
                do {
                    let demoKey = try await stack.provisionDemoKey(store)
                    try stack.writeDemoState(serverURL: url, apiKey: demoKey)
                    FileHandle.standardError.write(Data(stack.banner(serverURL: url).utf8))
                } catch {
                    logger.error("could not write the demo state", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
    }
}
