import Foundation
import PostgresNIO
import Testing
import VaultStore
import VaultTesting

/// The login-event inbox and work queue against real PostgreSQL.
@Suite struct InboxTests {
    @Test func aBatchIsAcceptedInOrderWithDuplicatesInsideAndAcrossBatches() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let first = try await store.enqueue([Fixtures.event("a"), Fixtures.event("b"), Fixtures.event("a")])
            guard case .accepted(let a) = first[0], case .accepted(let b) = first[1] else {
                Issue.record("expected two accepted events, got \(first)")
                return
            }
            #expect(a != b)
            #expect(first[2] == .duplicate(eventID: a))
            let second = try await store.enqueue([Fixtures.event("c"), Fixtures.event("b")])
            #expect(second[1] == .duplicate(eventID: b))
            guard case .accepted = second[0] else {
                Issue.record("expected c accepted")
                return
            }
            #expect(try await store.stats().pending == 3)
            let event = try #require(try await store.event(id: a))
            #expect(event.status == .pending)
            #expect(event.attempts == 0)
            #expect(event.site == "3_site")
            #expect(try await store.event(id: UUID()) == nil)
            #expect(try await store.enqueue([]).isEmpty)
        }
    }

    @Test func concurrentBatchesWithTheSameKeyAgreeOnOneEvent() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let outcomes = try await withThrowingTaskGroup(of: [EnqueueOutcome].self) { group in
                for _ in 0..<8 { group.addTask { try await store.enqueue([Fixtures.event("same")]) } }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(Set(outcomes.map(\.eventID)).count == 1)
            #expect(outcomes.filter { if case .accepted = $0 { true } else { false } }.count == 1)
            #expect(try await store.stats().pending == 1)
        }
    }

    @Test func twoConcurrentClaimersNeverGetTheSameRow() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            _ = try await store.enqueue((0..<40).map { Fixtures.event("e\($0)", uid: "u\($0)") })
            let claims = try await withThrowingTaskGroup(of: [UUID].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [UUID] = []
                        while true {
                            let batch = try await store.claim(worker: "w\(worker)", limit: 3, lease: .seconds(60))
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let all = claims.flatMap { $0 }
            #expect(all.count == 40)
            #expect(Set(all).count == 40)
            let stats = try await store.stats()
            #expect(stats.processing == 40)
            #expect(stats.pending == 0)
        }
    }

    @Test func claimingLeasesTheRowAndCountsTheAttempt() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let id = try #require(try await store.enqueue([Fixtures.event("x")]).first?.eventID)
            let claimed = try await store.claim(worker: "w1", limit: 10, lease: .seconds(60))
            #expect(claimed.map(\.id) == [id])
            #expect(claimed.first?.status == .processing)
            #expect(claimed.first?.attempts == 1)
            #expect(try await store.claim(worker: "w2", limit: 10, lease: .seconds(60)).isEmpty)
        }
    }

    @Test func anExpiredLeaseIsTakenOverAndTheOldWorkerCannotComplete() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let id = try #require(try await store.enqueue([Fixtures.event("x")]).first?.eventID)
            #expect(try await store.claim(worker: "crashed", limit: 1, lease: .milliseconds(200)).count == 1)
            var takenOver: [LoginEvent] = []
            try await waitUntil("the lease to run out") {
                takenOver = try await store.claim(worker: "rescuer", limit: 1, lease: .seconds(60))
                return !takenOver.isEmpty
            }
            #expect(takenOver.map(\.id) == [id])
            #expect(takenOver.first?.attempts == 2)
            #expect(try await store.complete(id: id, worker: "crashed", session: Fixtures.session()) == false)
            #expect(try await store.session(site: "3_site", uid: "uid-1", provider: "facebook") == nil)
            #expect(try await store.fail(id: id, worker: "crashed", code: 1, message: "late") == false)
            #expect(try await store.complete(id: id, worker: "rescuer", session: Fixtures.session()))
            #expect(try await store.event(id: id)?.status == .stored)
            #expect(try await store.complete(id: id, worker: "rescuer", session: Fixtures.session()) == false)
        }
    }

    @Test func completeStoresTheSessionSealedAndMarksTheEventStored() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let id = try #require(try await store.enqueue([Fixtures.event("x")]).first?.eventID)
            _ = try await store.claim(worker: "w", limit: 1, lease: .seconds(60))
            let session = Fixtures.session()
            #expect(try await store.complete(id: id, worker: "w", session: session))
            let event = try #require(try await store.event(id: id))
            #expect(event.status == .stored)
            #expect(event.completedAt != nil)
            let read = try #require(try await store.session(site: "3_site", uid: "uid-1", provider: "facebook"))
            #expect(read.authToken == session.authToken)
            #expect(read.tokenSecret == session.tokenSecret)
            #expect(read.sessionHandle == session.sessionHandle)
            let raw = try await Fixtures.rawSealedColumns(db.client)
            #expect(raw.count == 1)
            for plaintext in ["PLAINTEXT-AUTH-TOKEN-123", "PLAINTEXT-SECRET-456", "PLAINTEXT-HANDLE-789", "PLAINTEXT"] {
                #expect(!(raw.first ?? []).containsBytes(Array(plaintext.utf8)), "\(plaintext) found at rest")
            }
            let eventIDs = try await db.client.query("SELECT event_id, key_id FROM provider_sessions")
            for try await (eventID, keyID) in eventIDs.decode((UUID?, String).self) {
                #expect(eventID == id)
                #expect(keyID == "k1")
            }
        }
    }

    @Test func failAndRetryLaterRecordTheErrorAndOnlyForTheLeaseHolder() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let outcomes = try await store.enqueue([Fixtures.event("a"), Fixtures.event("b")])
            let (a, b) = (try #require(outcomes[0].eventID), try #require(outcomes[1].eventID))
            _ = try await store.claim(worker: "w", limit: 2, lease: .seconds(60))
            #expect(try await store.retryLater(id: a, worker: "other", delay: .seconds(0), code: 500001, message: "x") == false)
            #expect(try await store.retryLater(id: a, worker: "w", delay: .seconds(3600), code: 500001, message: "General Server Error"))
            #expect(try await store.fail(id: b, worker: "w", code: 403048, message: "Provider session expired"))
            let retried = try #require(try await store.event(id: a))
            #expect(retried.status == .pending)
            #expect(retried.lastErrorCode == 500001)
            #expect(retried.lastErrorMessage == "General Server Error")
            #expect(retried.nextAttemptAt > Date().addingTimeInterval(3000))
            let failed = try #require(try await store.event(id: b))
            #expect(failed.status == .failed)
            #expect(failed.lastErrorCode == 403048)
            #expect(failed.completedAt != nil)
            // Not due yet: the retried row is not claimable before its delay.
            #expect(try await store.claim(worker: "w", limit: 10, lease: .seconds(60)).isEmpty)
            let stats = try await store.stats()
            #expect(stats.pending == 1)
            #expect(stats.failed == 1)
            #expect(stats.processing == 0)
            #expect((stats.oldestPendingAge ?? -1) >= 0)
        }
    }

    @Test func aRetryWithNoDelayIsClaimableAgain() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let id = try #require(try await store.enqueue([Fixtures.event("a")]).first?.eventID)
            _ = try await store.claim(worker: "w", limit: 1, lease: .seconds(60))
            #expect(try await store.retryLater(id: id, worker: "w", delay: .zero, code: nil, message: "timeout"))
            let again = try await store.claim(worker: "w", limit: 1, lease: .seconds(60))
            #expect(again.first?.attempts == 2)
            #expect(again.first?.lastErrorCode == nil)
            #expect(again.first?.lastErrorMessage == "timeout")
        }
    }

    @Test func statsOfAnEmptyInboxAreZero() async throws {
        try await withTestDatabase { db in
            let stats = try await Fixtures.store(db).stats()
            #expect(stats == InboxStats(pending: 0, processing: 0, failed: 0, oldestPendingAge: nil))
        }
    }

    @Test func expiredReplayKeysArePurgedAndTheLoginCanThenBeAcceptedAgain() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let old = try await store.enqueue([Fixtures.event("old", expiresIn: -10), Fixtures.event("fresh")])
            #expect(try await store.purgeExpiredReplayKeys(before: Date()) == 1)
            #expect(try await store.purgeExpiredReplayKeys(before: Date()) == 0)
            let again = try await store.enqueue([Fixtures.event("old"), Fixtures.event("fresh")])
            guard case .accepted(let newID) = again[0] else {
                Issue.record("expected the purged key to be accepted again")
                return
            }
            #expect(newID != old[0].eventID)
            #expect(again[1] == .duplicate(eventID: try #require(old[1].eventID)))
        }
    }
}
