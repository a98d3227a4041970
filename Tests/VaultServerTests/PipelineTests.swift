import Foundation
import GigyaClient
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

@Suite("Pipeline: concurrency, leases, bounds")
struct PipelineTests {
    @Test("the claim walks one due-time index on a backlog of 100,000 events: no sort, no scan of the table")
    func claimUsesTheDueIndex() async throws {
        try await withTestDatabase { database in
            let client = database.client
            let logger = Logger(label: "plan-test")
            try await client.query(
                """
                INSERT INTO login_events (id, site, uid, provider, signature_timestamp, status, attempts, next_attempt_at)
                SELECT gen_random_uuid(), 's', 'u' || n, 'facebook', 1700000000, 'pending', 0, now() - (n || ' seconds')::interval
                FROM generate_series(1, 100000) AS n
                """, logger: logger)
            try await client.query(
                """
                INSERT INTO login_events (id, site, uid, provider, signature_timestamp, status, attempts, next_attempt_at, completed_at)
                SELECT gen_random_uuid(), 's', 'd' || n, 'facebook', 1700000000, 'stored', 1, now(), now()
                FROM generate_series(1, 100000) AS n
                """, logger: logger)
            try await client.query("ANALYZE login_events", logger: logger)
            var plan: [String] = []
            let rows = try await client.query(
                """
                EXPLAIN SELECT id FROM login_events
                WHERE status IN ('pending', 'processing') AND next_attempt_at <= now()
                ORDER BY next_attempt_at LIMIT 32 FOR UPDATE SKIP LOCKED
                """, logger: logger)
            for try await line in rows.decode(String.self) { plan.append(line) }
            let text = plan.joined(separator: "\n")
            #expect(text.contains("login_events_claim_idx"), "\(text)")
            #expect(!text.contains("Sort"), "\(text)")
            #expect(!text.contains("Seq Scan"), "\(text)")
        }
    }

    @Test("one instance keeps many Gigya calls in flight at once, never more than its concurrency")
    func manyCallsInFlight() async throws {
        try await VaultHarness.with { harness in
            let probe = ConcurrencyProbe(wrapping: try #require(harness.vault.sites.site(apiKey: harness.site.apiKey)).gigya)
            let site = try #require(harness.vault.sites.site(apiKey: harness.site.apiKey))
            let worker = SessionWorker(
                inbox: harness.store, sites: SiteDirectory([GigyaSite(apiKey: site.apiKey, verifier: site.verifier, gigya: probe)]),
                settings: WorkerSettings(concurrency: 8, lease: .seconds(30), idlePoll: .milliseconds(20), claimBatch: 4),
                metrics: .discarding, logger: harness.logger
            )
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 300))
            for _ in 0..<24 { _ = try await harness.vault.intake.accept(try await harness.login()) }
            try await runUntilDrained(worker, harness: harness)
            #expect(try await harness.count("provider_sessions") == 24)
            #expect(probe.calls == 24)
            #expect(probe.maxInFlight > 1)
            #expect(probe.maxInFlight <= 8)
        }
    }

    @Test("a call slower than the lease keeps its event: the lease is renewed and no other worker takes it")
    func leasesAreRenewedWhileACallRuns() async throws {
        // The Gigya timeout is longer than the slow call, so the one call really outlives the 3 s lease.
        try await VaultHarness.with(configure: { $0.gigyaTimeout = .seconds(10) }) { harness in
            let site = try #require(harness.vault.sites.site(apiKey: harness.site.apiKey))
            let probe = ConcurrencyProbe(wrapping: site.gigya)
            let worker = SessionWorker(
                inbox: harness.store, sites: SiteDirectory([GigyaSite(apiKey: site.apiKey, verifier: site.verifier, gigya: probe)]),
                settings: WorkerSettings(concurrency: 2, lease: .seconds(3), idlePoll: .milliseconds(20)),
                metrics: .discarding, logger: harness.logger
            )
            try await harness.injectFault(EmulatorFault(method: "socialize.getSessionInfo", latencyMs: 5_000, count: 1))
            let receipt = try await harness.vault.intake.accept(try await harness.login())
            let group = ServiceGroup(configuration: .init(services: [worker], gracefulShutdownSignals: [], logger: harness.logger))
            let running = Task { try await group.run() }
            // Once the worker holds the event, a rival instance keeps trying to claim it over the slow call's 5 s: the
            // renewed lease never lets it.
            let holding = ContinuousClock.now.advanced(by: .seconds(10))
            while try await harness.store.event(id: receipt.eventID)?.status != .processing, ContinuousClock.now < holding {
                try await Task.sleep(for: .milliseconds(20))
            }
            var rivalClaims = 0
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while try await harness.store.event(id: receipt.eventID)?.status != .stored, ContinuousClock.now < deadline {
                rivalClaims += try await harness.store.claim(worker: "rival", limit: 10, lease: .seconds(30)).count
                try await Task.sleep(for: .milliseconds(250))
            }
            await group.triggerGracefulShutdown()
            try await running.value
            let event = try #require(try await harness.store.event(id: receipt.eventID))
            #expect(event.status == .stored)
            #expect(event.attempts == 1)
            #expect(rivalClaims == 0)
            #expect(probe.calls == 1)
        }
    }

    @Test("every failure counts towards the attempt limit: an event whose attempts died with their worker is failed")
    func crashedAttemptsCount() async throws {
        try await VaultHarness.with { harness in
            let receipt = try await harness.vault.intake.accept(try await harness.login())
            // Ten workers claim it and die (a store failure or a crash leaves the lease to run out).
            for attempt in 1...10 {
                try await waitUntil("attempt \(attempt) to claim it once the last lease ran out") {
                    try await harness.store.claim(worker: "doomed-\(attempt)", limit: 1, lease: .milliseconds(50)).count == 1
                }
            }
            try await harness.drain()
            let event = try #require(try await harness.store.event(id: receipt.eventID))
            #expect(event.status == .failed)
            #expect(event.lastErrorMessage?.contains("gave up after 10 attempts") == true)
            #expect(try await harness.count("provider_sessions") == 0)
        }
    }

    @Test("a database that stops answering gets 503 store_outcome_unknown with Retry-After, readiness false, and the retry is a duplicate")
    func stuckWriteIsAnsweredTruthfully() async throws {
        try await VaultHarness.with(configure: { $0.intake.writeDeadline = .seconds(1) }) { harness in
            let login = try await harness.login()
            let held = AsyncStream<Void>.makeStream()
            let locked = AsyncStream<Void>.makeStream()
            // Another session locks the replay keys: intake's transaction waits on the lock, as on a wedged connection.
            let locker = Task {
                try await harness.database.client.withTransaction(logger: harness.logger) { connection in
                    try await connection.query("LOCK TABLE replay_keys IN ACCESS EXCLUSIVE MODE", logger: harness.logger)
                    locked.continuation.yield()
                    for await _ in held.stream { break }
                }
            }
            for await _ in locked.stream { break }
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody) {
                    #expect($0.status == .serviceUnavailable)
                    #expect(errorCode($0.body) == "store_outcome_unknown")
                    #expect($0.headers[.retryAfter] != nil)
                }
                // Past twice the deadline, the stuck transaction makes the instance unready.
                try await waitUntil("readiness to report the stuck write") {
                    try await client.execute(uri: "/health/ready", method: .get) { response in
                        response.status == .serviceUnavailable && String(buffer: response.body).contains("intake stuck")
                    }
                }
                held.continuation.yield()
                try await locker.value
                // Whatever became of the abandoned write, posting again is safe: one event, never two. A client honours
                // Retry-After while the database catches up.
                var answer: (HTTPResponse.Status, String?) = (.serviceUnavailable, nil)
                for _ in 0..<20 where answer.0 == .serviceUnavailable {
                    answer = try await client.execute(
                        uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody
                    ) { ($0.status, errorCode($0.body)) }
                    if answer.0 == .serviceUnavailable { try await Task.sleep(for: .seconds(1)) }
                }
                #expect(answer.0 == .ok || answer.0 == .accepted, "\(answer)")
                try await client.execute(uri: "/health/ready", method: .get) { #expect($0.status == .ok) }
            }
            #expect(try await harness.count("login_events") == 1)
        }
    }

    @Test("a read API call that the database does not answer is a 503 within its deadline, never a hang")
    func readsHaveADeadline() async throws {
        try await VaultHarness.with(configure: { $0.databaseCallDeadline = .seconds(1) }) { harness in
            let reader = try await harness.accessKey([.sessionsMetadata])
            let held = AsyncStream<Void>.makeStream()
            let locked = AsyncStream<Void>.makeStream()
            let locker = Task {
                try await harness.database.client.withTransaction(logger: harness.logger) { connection in
                    try await connection.query("LOCK TABLE provider_sessions IN ACCESS EXCLUSIVE MODE", logger: harness.logger)
                    locked.continuation.yield()
                    for await _ in held.stream { break }
                }
            }
            for await _ in locked.stream { break }
            try await harness.application().test(.router) { client in
                let answer = try await withDeadline(.seconds(20)) {
                    try await client.execute(uri: "/v1/users/someone/sessions", method: .get, headers: [.authorization: "Bearer \(reader)"]) {
                        ($0.status, errorCode($0.body))
                    }
                }
                #expect(answer.0 == .serviceUnavailable)
                #expect(answer.1 == "store_unavailable")
            }
            held.continuation.yield()
            try await locker.value
        }
    }

    @Test("a full intake queue refuses at once with 503 intake_overloaded and Retry-After, storing nothing for those")
    func fullQueueIsRefused() async throws {
        let release = AsyncStream<Void>.makeStream()
        let written = Mutex(0)
        let committer = GroupCommitter<Int, Int>(maxBatch: 1, maxQueued: 2, deadline: .seconds(30)) { items in
            for await _ in release.stream { break }
            written.withLock { $0 += items.count }
            return items
        }
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for item in 0..<10 {
                group.addTask {
                    do {
                        _ = try await committer.submit(item)
                        return true
                    } catch {
                        return false
                    }
                }
            }
            // Let every submission reach the committer, then let the writes go.
            try? await Task.sleep(for: .milliseconds(300))
            for _ in 0..<10 { release.continuation.yield() }
            var results: [Bool] = []
            for await result in group { results.append(result) }
            return results
        }
        let accepted = outcomes.filter { $0 }.count
        #expect(accepted <= 3)
        #expect(accepted >= 1)
        #expect(written.withLock { $0 } == accepted)

        try await VaultHarness.with(configure: { $0.intake.maxQueued = 1 }) { harness in
            let logins = try await (0..<12).asyncMap { _ in try await harness.login() }
            let statuses = try await harness.application().test(.router) { client in
                try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, String?).self) { group in
                    for login in logins {
                        group.addTask {
                            try await client.execute(
                                uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody
                            ) { ($0.status, errorCode($0.body), $0.headers[.retryAfter]) }
                        }
                    }
                    var statuses: [(HTTPResponse.Status, String?, String?)] = []
                    for try await status in group { statuses.append(status) }
                    return statuses
                }
            }
            let refused = statuses.filter { $0.0 == .serviceUnavailable }
            #expect(refused.allSatisfy { $0.1 == "intake_overloaded" && $0.2 == "1" })
            #expect(statuses.allSatisfy { $0.0 == .accepted || $0.0 == .serviceUnavailable })
            #expect(try await harness.count("login_events") == statuses.count - refused.count)
        }
    }

    @Test("Prefer: wait is not applied when the most waiters already wait")
    func waitersAreCapped() async throws {
        try await VaultHarness.with(configure: { $0.intake.maxWaiters = 0 }) { harness in
            let login = try await harness.login()
            try await harness.application().test(.router) { client in
                try await client.execute(
                    uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json", .prefer: "wait=5"], body: login.jsonBody
                ) { response in
                    #expect(response.status == .accepted)
                    #expect(response.headers[.preferenceApplied] == nil)
                }
            }
        }
    }

    @Test("finished events are deleted after the retention period; sessions stay")
    func retention() async throws {
        try await VaultHarness.with { harness in
            _ = try await harness.vault.intake.accept(try await harness.login())
            try await harness.drain()
            let janitor = InboxJanitor(inbox: harness.store, retention: .seconds(7 * 86_400), batchSize: 1, logger: harness.logger)
            #expect(await janitor.purgeOnce().finishedEvents == 0)
            #expect(await janitor.purgeOnce(now: Date().addingTimeInterval(8 * 86_400)).finishedEvents == 1)
            #expect(try await harness.count("login_events") == 0)
            #expect(try await harness.count("provider_sessions") == 1)
        }
    }

    /// Runs `worker` as a service until the inbox has nothing pending or processing.
    private func runUntilDrained(_ worker: SessionWorker, harness: VaultHarness) async throws {
        let group = ServiceGroup(configuration: .init(services: [worker], gracefulShutdownSignals: [], logger: harness.logger))
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            let stats = try await harness.store.stats()
            if stats.pending == 0 && stats.processing == 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

/// A pass-through session source that counts calls and the most in flight at once; the calls still go to the emulator.
final class ConcurrencyProbe: GigyaSessionSource {
    private let wrapped: any GigyaSessionSource
    private let state = Mutex((calls: 0, inFlight: 0, maxInFlight: 0))

    init(wrapping wrapped: any GigyaSessionSource) {
        self.wrapped = wrapped
    }

    var calls: Int { state.withLock { $0.calls } }
    var maxInFlight: Int { state.withLock { $0.maxInFlight } }

    func getSessionInfo(uid: String, provider: String) async throws(GigyaCallError) -> ProviderSession {
        state.withLock { state in
            state.calls += 1
            state.inFlight += 1
            state.maxInFlight = max(state.maxInFlight, state.inFlight)
        }
        defer { state.withLock { $0.inFlight -= 1 } }
        return try await wrapped.getSessionInfo(uid: uid, provider: provider)
    }
}

extension Sequence where Element: Sendable {
    /// `map` with an async transform, one element at a time.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

extension PipelineTests {
    @Test("a write that outlives its deadline counts as in flight until the statement timeout would have ended it, then no longer")
    func lostWritesAreForgotten() async throws {
        // The write ignores cancellation and returns after a second, as a call on a connection that died under it would
        // not return at all.
        let committer = GroupCommitter<Int, Int>(maxBatch: 1, maxQueued: 4, deadline: .milliseconds(50)) { _ in
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + 1) { continuation.resume() }
            }
            return [0]
        }
        await #expect(throws: GroupCommitError.self) { _ = try await committer.submit(1) }
        #expect(await committer.writeInFlightFor != nil)
        #expect(await committer.writeInFlightFor(ignoringOlderThan: .seconds(60)) != nil)
        try await waitUntil("the write to be older than 20 ms") { await committer.writeInFlightFor(ignoringOlderThan: .milliseconds(20)) == nil }
        try await waitUntil("the lost write to return") { await committer.writeInFlightFor == nil }
    }
}
