import Crypto
import Foundation
import PostgresNIO
import Testing
import GigyaKit
import VaultStore
import VaultTesting

/// Sessions, API keys and the audit log against real PostgreSQL.
@Suite struct SessionRepositoryTests {
    @Test func metadataListsProvidersWithoutTokensAndSessionOpensThem() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            try await store.upsert(Fixtures.session(provider: "google"), eventID: nil, fetchStartedAt: Date())
            try await store.upsert(Fixtures.session(provider: "facebook"), eventID: nil, fetchStartedAt: Date())
            try await store.upsert(Fixtures.session(uid: "someone-else"), eventID: nil, fetchStartedAt: Date())
            let metadata = try await store.metadata(site: "3_site", uid: "uid-1")
            #expect(metadata.map(\.provider) == ["facebook", "google"])
            #expect(metadata.allSatisfy { $0.keyID == "k1" && $0.providerUID == "fb-42" && $0.tokenExpiration == "2030-01-01T00:00:00.000Z" })
            let session = try #require(try await store.session(site: "3_site", uid: "uid-1", provider: "google"))
            #expect(session.authToken == "PLAINTEXT-AUTH-TOKEN-123")
            #expect(session.providerUID == "fb-42")
            #expect(session.sessionExpiration == nil)
            #expect(try await store.session(site: "3_site", uid: "uid-1", provider: "twitter") == nil)
            #expect(try await store.session(site: "other-site", uid: "uid-1", provider: "google") == nil)
        }
    }

    @Test func upsertReplacesWithANewerFetchButNeverWithAnOlderOne() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let now = Date()
            try await store.upsert(Fixtures.session(token: "first", fetchedAt: now), eventID: nil, fetchStartedAt: Date())
            try await store.upsert(Fixtures.session(token: "second", fetchedAt: now.addingTimeInterval(1)), eventID: nil, fetchStartedAt: Date())
            try await store.upsert(Fixtures.session(token: "stale", fetchedAt: now.addingTimeInterval(-60)), eventID: nil, fetchStartedAt: Date())
            #expect(try await store.session(site: "3_site", uid: "uid-1", provider: "facebook")?.authToken == "second")
        }
    }

    @Test func nilTokensStayNull() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            try await store.upsert(SessionRecord(site: "3_site", uid: "u", provider: "p", authToken: "t"), eventID: nil, fetchStartedAt: Date())
            let read = try #require(try await store.session(site: "3_site", uid: "u", provider: "p"))
            #expect(read.authToken == "t")
            #expect(read.tokenSecret == nil)
            #expect(read.sessionHandle == nil)
        }
    }

    @Test("optional columns of batch inserts are NULL when nil and kept when empty, with no stand-in value")
    func batchInsertsKeepNil() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let events = [
                NewAccountEvent(site: "3_site", eventID: "e1", type: "accountDeleted", uid: "u1", newUID: nil, timestamp: 1),
                NewAccountEvent(site: "3_site", eventID: "e2", type: "accountMerged", uid: "u2", newUID: "u3", timestamp: 2),
                NewAccountEvent(site: "3_site", eventID: "e3", type: "accountCustom", uid: "u4", newUID: "", timestamp: 3),
            ]
            _ = try await store.storeAccountEvents(
                events, notification: NotificationStamp(site: "3_site", nonce: "n", bodyDigest: Array(repeating: 1, count: 32), expiresAt: Date().addingTimeInterval(60)))
            let rows = try await db.client.query("SELECT event_id, new_uid, type FROM account_events ORDER BY event_id")
            var found: [String: (String?, String)] = [:]
            for try await (id, newUID, type) in rows.decode((String, String?, String).self) { found[id] = (newUID, type) }
            #expect(found["e1"]?.0 == nil && found["e1"]?.1 == "accountDeleted")
            #expect(found["e2"]?.0 == "u3")
            #expect(found["e3"]?.0 == "" && found["e3"]?.1 == "accountCustom")
        }
    }

    @Test func aCiphertextCopiedToAnotherRowDoesNotOpen() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            try await store.upsert(Fixtures.session(uid: "victim", token: "victim-token"), eventID: nil, fetchStartedAt: Date())
            try await store.upsert(Fixtures.session(uid: "attacker", token: "attacker-token"), eventID: nil, fetchStartedAt: Date())
            try await db.client.query(
                """
                UPDATE provider_sessions SET auth_token = (SELECT auth_token FROM provider_sessions WHERE uid = 'victim')
                WHERE uid = 'attacker'
                """)
            await #expect(throws: SealError.authenticationFailed) {
                try await store.session(site: "3_site", uid: "attacker", provider: "facebook")
            }
        }
    }

    @Test func deleteRemovesOneProviderOrAllOfAUser() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            for provider in ["facebook", "google", "twitter"] { try await store.upsert(Fixtures.session(provider: provider), eventID: nil, fetchStartedAt: Date()) }
            try await store.upsert(Fixtures.session(uid: "keep"), eventID: nil, fetchStartedAt: Date())
            #expect(try await store.delete(site: "3_site", uid: "uid-1", provider: "google", audit: Fixtures.audit).deleted == 1)
            #expect(try await store.delete(site: "3_site", uid: "uid-1", provider: "google", audit: Fixtures.audit).deleted == 0)
            #expect(try await store.delete(site: "3_site", uid: "uid-1", provider: nil, audit: Fixtures.audit).deleted == 2)
            #expect(try await store.metadata(site: "3_site", uid: "uid-1").isEmpty)
            #expect(try await store.metadata(site: "3_site", uid: "keep").count == 1)
        }
    }

    @Test func reachabilityIsReported() async throws {
        try await withTestDatabase { db in
            // isReachable gives a query two seconds; a loaded machine may need a second try for the first connection.
            var reachable = false
            for _ in 0..<5 where !reachable { reachable = await Fixtures.store(db).isReachable() }
            #expect(reachable)
        }
    }
}

/// API keys: issued once, stored as a hash, revocable.
@Suite struct AccessKeyRepositoryTests {
    @Test func aCreatedKeyAuthenticatesUntilRevoked() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let (record, plaintext) = try await store.createKey(name: "backend", scopes: ["sessions:read", "sessions:metadata"], sites: .all)
            #expect(plaintext.hasPrefix("svk_\(record.prefix)_"))
            #expect(plaintext.count > 40)
            #expect(record.scopes == ["sessions:read", "sessions:metadata"])
            let authenticated = try #require(try await store.authenticate(plaintext))
            #expect(authenticated.id == record.id)
            #expect(authenticated.lastUsedAt != nil)
            #expect(try await store.authenticate(plaintext + "x") == nil)
            #expect(try await store.authenticate("svk_nope") == nil)
            #expect(try await store.authenticate("") == nil)
            #expect(try await store.revokeKey(nameOrID: "backend"))
            #expect(try await store.revokeKey(nameOrID: "backend") == false)
            #expect(try await store.authenticate(plaintext) == nil)
            let listed = try await store.listKeys()
            #expect(listed.count == 1)
            #expect(listed.first?.revokedAt != nil)
        }
    }

    @Test func onlyTheHashOfTheKeyIsStored() async throws {
        try await withTestDatabase { db in
            let (_, plaintext) = try await Fixtures.store(db).createKey(name: "k", scopes: [], sites: .all)
            let rows = try await db.client.query("SELECT key_hash, prefix, name FROM api_keys")
            for try await (hash, prefix, name) in rows.decode((Data, String, String).self) {
                #expect(Array(hash) == Array(SHA256.hash(data: Data(plaintext.utf8))))
                #expect(!plaintext.hasSuffix(prefix))
                #expect(name == "k")
            }
            let dump = try await db.client.query("SELECT row_to_json(api_keys)::text FROM api_keys")
            for try await json in dump.decode(String.self) {
                #expect(!json.contains(String(plaintext.split(separator: "_", maxSplits: 2).last ?? "")))
            }
        }
    }

    @Test func revokingByIDAndDuplicateNames() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let (first, _) = try await store.createKey(name: "a", scopes: ["admin"], sites: .all)
            await #expect(throws: AccessKeyError.duplicateName("a")) { try await store.createKey(name: "a", scopes: [], sites: .all) }
            await #expect(throws: AccessKeyError.invalidName("")) { try await store.createKey(name: "", scopes: [], sites: .all) }
            let (second, _) = try await store.createKey(name: "b", scopes: [], sites: .all)
            #expect(try await store.listKeys().map(\.name) == ["a", "b"])
            #expect(try await store.revokeKey(nameOrID: first.id.uuidString))
            #expect(try await store.revokeKey(nameOrID: "nobody") == false)
            let listed = try await store.listKeys()
            #expect(listed.first { $0.id == first.id }?.revokedAt != nil)
            #expect(listed.first { $0.id == second.id }?.revokedAt == nil)
        }
    }

    @Test func lastUsedIsWrittenAtMostOnceAMinute() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let (_, plaintext) = try await store.createKey(name: "k", scopes: [], sites: .all)
            let first = try #require(try await store.authenticate(plaintext)?.lastUsedAt)
            let second = try #require(try await store.authenticate(plaintext)?.lastUsedAt)
            #expect(first == second)
            try await db.client.query("UPDATE api_keys SET last_used_at = now() - interval '2 minutes'")
            let third = try #require(try await store.authenticate(plaintext)?.lastUsedAt)
            #expect(third > first.addingTimeInterval(-1))
            #expect(third > Date().addingTimeInterval(-30))
        }
    }
}

/// The audit log: appended, read newest first.
@Suite struct AuditLogTests {
    @Test func entriesAreRecordedAndListedNewestFirst() async throws {
        try await withTestDatabase { db in
            let store = Fixtures.store(db)
            let actor = UUID()
            try await store.record(
                AuditEntry(actorKeyID: actor, actorName: "backend", action: "session.read", site: "3_site", uid: "u", provider: "facebook"))
            try await store.record(
                AuditEntry(actorKeyID: nil, actorName: "cli", action: "session.delete", site: "3_site", uid: "u", detail: "all providers"))
            let entries = try await store.recentAudit(limit: 10)
            #expect(entries.map(\.action) == ["session.delete", "session.read"])
            #expect(entries[1].actorKeyID == actor)
            #expect(entries[1].provider == "facebook")
            #expect(entries[0].actorKeyID == nil)
            #expect(entries[0].detail == "all providers")
            #expect(try await store.recentAudit(limit: 1).count == 1)
        }
    }
}
