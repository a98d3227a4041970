import ArgumentParser
import AsyncHTTPClient
import GigyaEmulator
import VaultDevelopment
import VaultServer
import VaultStore

extension DemoCommand {
    /// Seeds the zero-config demo site with users in every reconciliation category, for `admin reconcile` and the admin page.
    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seed the demo site with users in every reconciliation category (for admin reconcile and /admin)."
        )

        @OptionGroup var options: ServerOptions

        @Option(help: "Users per category.")
        var count = 2

        func run() async throws {
            let state = StateDirectory(options.stateDirectory ?? ".session-vault")
            guard let demo = state.loadDemoState() else {
                print("no \(state.path)/demo.json: start `swift run session-vault serve` (zero-config) from this directory first")
                throw ExitCode(1)
            }
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            let emulator = demo.emulatorControl(httpClient: client, timeout: .seconds(10))
            let outcome: Result<ReconciliationPopulation.Seeded, any Error>
            var target: String?
            do {
                // The deletions and renames must not reach the server, or it would follow them instead of drifting.
                target = try await emulator.webhookTarget().url
                _ = try await emulator.setWebhookTarget(nil)
                outcome = .success(
                    try await options.withVault(label: "session-vault.demo") { vault, _ in
                        try await ReconciliationPopulation.seed(
                            vault: vault, site: demo.siteAPIKey, emulator: emulator, perCategory: count, tag: String(Int.random(in: 1000...9999)))
                    })
            } catch {
                outcome = .failure(error)
            }
            if let target { _ = try? await emulator.setWebhookTarget(target) }
            try await client.shutdown()
            switch outcome {
            case .success(let seeded):
                for category in ReconciliationCategory.allCases {
                    print("\(category.rawValue): \(seeded.expected[category]?.joined(separator: ", ") ?? "-")")
                }
                print("a running server sends pending links within a second, and fails the conflicting ones: they show as ok and conflict")
                print("now: swift run session-vault admin reconcile   (or open \(demo.serverURL)/admin)")
            case .failure(let error):
                print("seeding failed: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
