import Crypto
import Foundation
import Logging
import PostgresNIO
import VaultStore
import VaultTesting

/// Shared fixtures for the store suites.
enum Fixtures {
    static let logger = Logger(label: "test.store")
    static let ring = try! DataKeyRing.parse("k1:\(Data(repeating: 0x41, count: 32).base64EncodedString())")

    /// A store over the test database with `ring` (default: one key, `k1`).
    static func store(_ db: TestDatabase, ring: DataKeyRing = Fixtures.ring) -> PostgresVaultStore {
        PostgresVaultStore(client: db.client, keyRing: ring, logger: logger)
    }

    /// A login event whose replay key is derived from `seed`, so equal seeds are replays.
    static func event(_ seed: String, uid: String = "uid-1", provider: String = "facebook", expiresIn: TimeInterval = 300) -> NewLoginEvent {
        NewLoginEvent(
            site: "3_site", uid: uid, provider: provider, signatureTimestamp: 1_700_000_000, replayKey: Array(SHA256.hash(data: Data(seed.utf8))),
            replayExpiresAt: Date().addingTimeInterval(expiresIn), loginKey: Array(SHA256.hash(data: Data("login-\(seed)".utf8))),
            maxEventsPerLogin: 4)
    }

    /// The audit entry the store's delete tests record.
    static let audit = AuditEntry(actorKeyID: nil, actorName: "test", action: "session.delete", site: "3_site")

    /// A plaintext session with recognisable token values.
    static func session(uid: String = "uid-1", provider: String = "facebook", token: String = "PLAINTEXT-AUTH-TOKEN-123", fetchedAt: Date = Date())
        -> SessionRecord
    {
        SessionRecord(
            site: "3_site", uid: uid, provider: provider, providerUID: "fb-42", authToken: token, tokenSecret: "PLAINTEXT-SECRET-456",
            sessionHandle: "PLAINTEXT-HANDLE-789", tokenExpiration: "2030-01-01T00:00:00.000Z", sessionExpiration: nil, fetchedAt: fetchedAt)
    }

    /// Every byte of every sealed column, concatenated per row, for "no plaintext at rest" checks.
    static func rawSealedColumns(_ client: PostgresClient) async throws -> [[UInt8]] {
        let rows = try await client.query(
            """
            SELECT coalesce(auth_token, ''::bytea) || coalesce(token_secret, ''::bytea) || coalesce(session_handle, ''::bytea)
            FROM provider_sessions
            """)
        var result: [[UInt8]] = []
        for try await bytes in rows.decode(Data.self) { result.append(Array(bytes)) }
        return result
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs anywhere in these bytes.
    func containsBytes(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
