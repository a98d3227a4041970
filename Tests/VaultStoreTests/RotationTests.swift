import Foundation
import PostgresNIO
import Testing
import VaultStore
import VaultTesting

/// Data-key rotation: old rows stay readable, rotation re-seals them under the primary key, resumably.
@Suite struct RotationTests {
    static let oldKey = Data(repeating: 0x0A, count: 32).base64EncodedString()
    static let newKey = Data(repeating: 0x0B, count: 32).base64EncodedString()

    @Test func rowsUnderTheOldKeyAreReadableThenResealedUnderTheNewOne() async throws {
        try await withTestDatabase { db in
            let oldRing = try DataKeyRing.parse("old:\(Self.oldKey)")
            let rotatedRing = try DataKeyRing.parse("new:\(Self.newKey),old:\(Self.oldKey)")
            for uid in ["a", "b", "c"] {
                try await Fixtures.store(db, ring: oldRing).upsert(Fixtures.session(uid: uid, token: "tok-\(uid)"), eventID: nil, fetchStartedAt: Date())
            }
            let store = Fixtures.store(db, ring: rotatedRing)
            try await store.upsert(Fixtures.session(uid: "d", token: "tok-d"), eventID: nil, fetchStartedAt: Date())
            #expect(try await store.rowsPerKey() == ["old": 3, "new": 1])
            #expect(try await store.session(site: "3_site", uid: "a", provider: "facebook")?.authToken == "tok-a")
            let rawBefore = try await Fixtures.rawSealedColumns(db.client)

            let partial = try await store.rotateDataKeys(batchSize: 2, maxBatches: 1)
            #expect(partial == RotationReport(rowsReencrypted: 2, rowsPerKey: ["old": 1, "new": 3]))
            let rest = try await store.rotateDataKeys(batchSize: 2)
            #expect(rest == RotationReport(rowsReencrypted: 1, rowsPerKey: ["new": 4]))
            #expect(try await store.rotateDataKeys(batchSize: 2).rowsReencrypted == 0)

            for uid in ["a", "b", "c", "d"] {
                let session = try #require(try await store.session(site: "3_site", uid: uid, provider: "facebook"))
                #expect(session.authToken == "tok-\(uid)")
                #expect(session.tokenSecret == "PLAINTEXT-SECRET-456")
            }
            #expect(Set(try await Fixtures.rawSealedColumns(db.client)).intersection(rawBefore).count == 1)
            // Once rotated, the old key can leave the ring.
            let newOnly = Fixtures.store(db, ring: try DataKeyRing.parse("new:\(Self.newKey)"))
            #expect(try await newOnly.unknownKeyIDs().isEmpty)
            #expect(try await newOnly.session(site: "3_site", uid: "a", provider: "facebook")?.authToken == "tok-a")
        }
    }

    @Test func keyIDsMissingFromTheRingAreNamed() async throws {
        try await withTestDatabase { db in
            try await Fixtures.store(db, ring: try DataKeyRing.parse("gone:\(Self.oldKey)")).upsert(Fixtures.session(), eventID: nil, fetchStartedAt: Date())
            try await Fixtures.store(db, ring: try DataKeyRing.parse("lost:\(Self.oldKey)")).upsert(Fixtures.session(uid: "x"), eventID: nil, fetchStartedAt: Date())
            let store = Fixtures.store(db, ring: try DataKeyRing.parse("new:\(Self.newKey)"))
            #expect(try await store.unknownKeyIDs() == ["gone", "lost"])
            await #expect(throws: SealError.unknownKeyID("gone")) { try await store.session(site: "3_site", uid: "uid-1", provider: "facebook") }
            // Rotation re-seals what the ring can open and leaves these rows, reported under their ids.
            #expect(try await store.rotateDataKeys(batchSize: 10) == RotationReport(rowsReencrypted: 0, rowsPerKey: ["gone": 1, "lost": 1]))
        }
    }

    @Test("a row that does not open under its key is reported and skipped; rotation re-seals the rest and does not loop on it")
    func unopenableRowsAreSkippedAndReported() async throws {
        try await withTestDatabase { db in
            let oldRing = try DataKeyRing.parse("old:\(Self.oldKey)")
            for uid in ["a", "b", "c"] {
                try await Fixtures.store(db, ring: oldRing).upsert(Fixtures.session(uid: uid, token: "tok-\(uid)"), eventID: nil, fetchStartedAt: Date())
            }
            // "a" sorts first: a rotation that stopped on it, or re-read it every batch, would never reach the others.
            try await db.client.query(
                "UPDATE provider_sessions SET auth_token = set_byte(auth_token, 20, get_byte(auth_token, 20) # 1) WHERE uid = 'a'", logger: Fixtures.logger)
            let store = Fixtures.store(db, ring: try DataKeyRing.parse("new:\(Self.newKey),old:\(Self.oldKey)"))
            let damaged = SessionRecordKey(site: "3_site", uid: "a", provider: "facebook")
            let report = try await store.rotateDataKeys(batchSize: 1)
            #expect(report == RotationReport(rowsReencrypted: 2, rowsPerKey: ["old": 1, "new": 2], unopenable: [damaged]))
            #expect(try await store.session(site: "3_site", uid: "c", provider: "facebook")?.authToken == "tok-c")
            // Re-running reports it again and changes nothing.
            #expect(try await store.rotateDataKeys(batchSize: 1) == RotationReport(rowsReencrypted: 0, rowsPerKey: ["old": 1, "new": 2], unopenable: [damaged]))
        }
    }
}
