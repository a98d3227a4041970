import Foundation
import GigyaEmulator
import GigyaKit
import ServiceLifecycle
import Testing
import VaultCore
import VaultServer
import PostgresNIO
import VaultStore
import VaultTesting

@Suite("Session worker")
struct SessionWorkerTests {
    /// Faults the emulator injects on getSessionInfo that must be retried until the session is stored.
    static let transientFaults: [EmulatorFault] = [
        EmulatorFault(method: "socialize.getSessionInfo", httpStatus: 503, count: 4),
        EmulatorFault(method: "socialize.getSessionInfo", errorCode: 500001, count: 4),
        EmulatorFault(method: "socialize.getSessionInfo", errorCode: 403048, count: 4),
        EmulatorFault(method: "socialize.getSessionInfo", dropConnection: true, count: 4),
        EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 15_000, count: 4),
    ]

    @Test("transient Gigya failures are retried until the session is stored", arguments: 0..<transientFaults.count)
    func transientFaultsAreRetried(_ index: Int) async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            try await harness.injectFault(Self.transientFaults[index])
            let receipt = try await harness.vault.intake.accept(login)
            try await harness.drain(timeout: .seconds(120))
            let event = try #require(try await harness.store.event(id: receipt.eventID))
            #expect(event.status == .stored)
            let stored = try #require(try await harness.store.session(site: harness.site.apiKey, uid: login.uid, provider: "facebook"))
            let truth = try await harness.emulatorSession(uid: login.uid, provider: "facebook")
            #expect(stored.tokenSecret == truth.tokenSecret)
        }
    }

    @Test("a permanent Gigya error marks the event failed with Gigya's code and message")
    func permanentErrorIsRecorded() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", errorCode: 403007, count: 1))
            let receipt = try await harness.vault.intake.accept(login)
            try await harness.drain()
            let event = try #require(try await harness.store.event(id: receipt.eventID))
            #expect(event.status == .failed)
            #expect(event.lastErrorCode == 403007)
            #expect(event.lastErrorMessage?.contains("403007") == true)
            #expect(try await harness.count("provider_sessions") == 0)
        }
    }

    @Test("a provider the user has no session with fails the event with Gigya's no-session code")
    func missingProviderSessionFails() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login(provider: "facebook")
            var other = login
            other.provider = "linkedin"
            // A fresh login result for the same user, claiming a provider it never logged in with.
            let receipt = try await harness.vault.intake.accept(other)
            try await harness.drain()
            let event = try #require(try await harness.store.event(id: receipt.eventID))
            #expect(event.status == .failed)
            #expect(event.lastErrorCode == 403012)
        }
    }

    @Test("a worker that dies mid-job loses its lease and another worker completes the event")
    func crashedWorkerIsTakenOver() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            let receipt = try await harness.vault.intake.accept(login)
            // The "crashed" worker claims with a short lease and never finishes. The lease is long enough that the eager
            // claim below comes before it ends even on a loaded machine.
            let claimed = try await harness.store.claim(worker: "doomed-worker", limit: 1, lease: .seconds(4))
            #expect(claimed.map(\.id) == [receipt.eventID])
            #expect(try await harness.store.claim(worker: "eager-worker", limit: 1, lease: .seconds(30)).isEmpty)
            // Its lease runs out (the clock is moved, not waited for): the event is due again.
            try await harness.database.client.query(
                "UPDATE login_events SET lease_expires_at = now(), next_attempt_at = now() WHERE id = \(receipt.eventID)")
            try await harness.drain()
            let event = try #require(try await harness.store.event(id: receipt.eventID))
            #expect(event.status == .stored)
            #expect(event.attempts == 2)
            // The dead worker waking up cannot overwrite the outcome.
            let late = SessionRecord(
                site: harness.site.apiKey, uid: login.uid, provider: "facebook", providerUID: nil, authToken: "stale",
                tokenSecret: "stale", sessionHandle: nil, tokenExpiration: nil, sessionExpiration: nil, fetchedAt: Date()
            )
            #expect(try await harness.store.complete(id: receipt.eventID, worker: "doomed-worker", session: late) == false)
            let stored = try #require(try await harness.store.session(site: harness.site.apiKey, uid: login.uid, provider: "facebook"))
            #expect(stored.authToken != "stale")
        }
    }

    @Test("graceful shutdown lets the worker finish the event it is processing")
    func gracefulShutdownFinishesInFlightWork() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 700, count: 1))
            let receipt = try await harness.vault.intake.accept(login)
            let group = ServiceGroup(configuration: .init(services: [harness.worker()], gracefulShutdownSignals: [], logger: harness.logger))
            let running = Task { try await group.run() }
            // Wait until the worker holds the event, then ask it to stop while Gigya is still answering.
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while try await harness.store.event(id: receipt.eventID)?.status != .processing, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            await group.triggerGracefulShutdown()
            try await running.value
            let event = try #require(try await harness.store.event(id: receipt.eventID))
            #expect(event.status == .stored)
        }
    }

    @Test("no plaintext token appears anywhere in a pg_dump of the database")
    func pgDumpHoldsNoPlaintext() async throws {
        try await VaultHarness.with { harness in
            var secrets: [String] = []
            for provider in ["facebook", "google"] {
                let login = try await harness.login(uid: "dump-user", provider: provider)
                _ = try await harness.vault.intake.accept(login)
                try await harness.drain()
                let truth = try await harness.emulatorSession(uid: login.uid, provider: provider)
                secrets += [truth.authToken, truth.tokenSecret, truth.sessionHandle].compactMap { $0 }
            }
            #expect(try await harness.count("provider_sessions") == 2)
            #expect(secrets.count == 6)
            let dump = try runPgDump(url: harness.database.url)
            #expect(dump.contains("provider_sessions"))
            for secret in secrets {
                #expect(!dump.contains(secret), "a plaintext token is in the dump")
            }
        }
    }

    /// Runs `pg_dump` (found like the test server's binaries) and returns the SQL text.
    private func runPgDump(url: String) throws -> String {
        let candidates = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted().reversed()
            .map { "/usr/lib/postgresql/\($0)/bin/pg_dump" } ?? []
        let executable = try #require((candidates + ["/usr/bin/pg_dump"]).first { FileManager.default.isExecutableFile(atPath: $0) })
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--dbname=\(url)", "--no-owner"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }
}
