public import Foundation
import PostgresNIO

/// A session after sealing: what actually reaches the database.
struct SealedSession: Sendable {
    var record: SessionRecordKey
    var providerUID: String?
    var keyID: String
    var authToken: Data?
    var tokenSecret: Data?
    var sessionHandle: Data?
    var tokenExpiration: String?
    var sessionExpiration: String?
    var fetchedAt: Date

    /// The same session stored under `key` (another UID or provider spelling, or the same one): every sealed field opened
    /// under this row's key and context and sealed again under the primary key with `key`'s context, since the row's key
    /// is part of each token's associated data.
    func resealed(as key: SessionRecordKey, ring: DataKeyRing) throws -> SealedSession {
        func reseal(_ sealed: Data?, _ field: SealedField) throws -> Data? {
            guard let sealed else { return nil }
            let plaintext = try ring.open(Array(sealed), keyID: keyID, context: PostgresVaultStore.context(record, field))
            return Data(try ring.seal(plaintext, context: PostgresVaultStore.context(key, field)))
        }
        var moved = self
        moved.record = key
        moved.keyID = ring.primaryID
        moved.authToken = try reseal(authToken, .authToken)
        moved.tokenSecret = try reseal(tokenSecret, .tokenSecret)
        moved.sessionHandle = try reseal(sessionHandle, .sessionHandle)
        return moved
    }
}

/// The primary key of a provider session.
/// One stored provider session's identity: the row's primary key, never a token.
public struct SessionRecordKey: Sendable, Codable, Hashable, CustomStringConvertible {
    public var site: String
    public var uid: String
    public var provider: String

    public init(site: String, uid: String, provider: String) {
        self.site = site
        self.uid = uid
        self.provider = provider
    }

    public var description: String { "\(site)/\(uid)/\(provider)" }
}

/// The sealed columns, named as the associated data names them (changing a name would orphan every stored value).
enum SealedField: String, CaseIterable {
    case authToken = "auth_token"
    case tokenSecret = "token_secret"
    case sessionHandle = "session_handle"
}

extension PostgresVaultStore {
    /// The associated data for one sealed column of one row.
    static func context(_ key: SessionRecordKey, _ field: SealedField) -> SealContext {
        SealContext(site: key.site, uid: key.uid, provider: key.provider, field: field.rawValue)
    }

    /// Seals every token field of `record` under the primary key.
    func seal(_ record: SessionRecord) throws -> SealedSession {
        let key = SessionRecordKey(site: record.site, uid: record.uid, provider: record.provider)
        func sealField(_ value: String?, _ field: SealedField) throws -> Data? {
            try value.map { Data(try keyRing.seal($0, context: Self.context(key, field))) }
        }
        return SealedSession(
            record: key, providerUID: record.providerUID, keyID: keyRing.primaryID,
            authToken: try sealField(record.authToken, .authToken), tokenSecret: try sealField(record.tokenSecret, .tokenSecret),
            sessionHandle: try sealField(record.sessionHandle, .sessionHandle), tokenExpiration: record.tokenExpiration,
            sessionExpiration: record.sessionExpiration, fetchedAt: record.fetchedAt)
    }

    /// Inserts or replaces a sealed session on `connection`; an older fetch never overwrites a newer one.
    func upsertSealed(_ sealed: SealedSession, eventID: UUID?, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO provider_sessions (site, uid, provider, provider_uid, key_id, auth_token, token_secret, session_handle,
                                           token_expiration, session_expiration, fetched_at, updated_at, event_id)
            VALUES (\(sealed.record.site), \(sealed.record.uid), \(sealed.record.provider), \(sealed.providerUID), \(sealed.keyID),
                    \(sealed.authToken), \(sealed.tokenSecret), \(sealed.sessionHandle), \(sealed.tokenExpiration),
                    \(sealed.sessionExpiration), \(sealed.fetchedAt), now(), \(eventID))
            ON CONFLICT (site, uid, provider) DO UPDATE
            SET provider_uid = EXCLUDED.provider_uid, key_id = EXCLUDED.key_id, auth_token = EXCLUDED.auth_token,
                token_secret = EXCLUDED.token_secret, session_handle = EXCLUDED.session_handle,
                token_expiration = EXCLUDED.token_expiration, session_expiration = EXCLUDED.session_expiration,
                fetched_at = EXCLUDED.fetched_at, updated_at = now(), event_id = EXCLUDED.event_id
            WHERE provider_sessions.fetched_at <= EXCLUDED.fetched_at
            """, logger: logger)
    }

    /// Serialises writers and deleters of one user's sessions for the rest of the transaction, so a tombstone is either
    /// committed before a write checks for it or written after that write (and then deletes what it wrote).
    func lockUser(site: String, uid: String, on connection: PostgresConnection) async throws {
        // The site's length first, so no (site, uid) pair can spell another's key.
        let key = "\(site.utf8.count):\(site)\(uid)"
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(key), 0))", logger: logger)
    }

    @discardableResult
    public func upsert(_ record: SessionRecord, eventID: UUID?, fetchStartedAt: Date) async throws -> Bool {
        let sealed = try seal(record)
        return try await inTransaction { connection in
            try await lockUser(site: record.site, uid: record.uid, on: connection)
            let tombstones = try await connection.query(
                """
                SELECT 1 FROM session_tombstones
                WHERE site = \(record.site) AND uid = \(record.uid) AND provider IN (\(record.provider), '*') AND deleted_at >= \(fetchStartedAt)
                """, logger: logger
            ).collect()
            guard tombstones.isEmpty else { return false }
            try await upsertSealed(sealed, eventID: eventID, on: connection)
            return true
        }
    }

    public func refreshStart(site: String, uid: String, provider: String) async throws -> Date? {
        // Under the user's lock, so a delete is either wholly before (no row: nil) or wholly after this instant (its
        // tombstone is later, and the refresh's write is refused).
        try await inTransaction { connection in
            try await lockUser(site: site, uid: uid, on: connection)
            let rows = try await connection.query(
                "SELECT clock_timestamp() FROM provider_sessions WHERE site = \(site) AND uid = \(uid) AND provider = \(provider)",
                logger: logger)
            for try await now in rows.decode(Date.self) { return now }
            return nil
        }
    }

    public func metadata(site: String, uid: String) async throws -> [SessionMetadata] {
        let rows = try await client.query(
            """
            SELECT provider, provider_uid, token_expiration, session_expiration, fetched_at, updated_at, key_id
            FROM provider_sessions WHERE site = \(site) AND uid = \(uid) ORDER BY provider
            """, logger: logger)
        var result: [SessionMetadata] = []
        for try await (provider, providerUID, tokenExpiration, sessionExpiration, fetchedAt, updatedAt, keyID) in rows.decode(
            (String, String?, String?, String?, Date, Date, String).self)
        {
            result.append(
                SessionMetadata(
                    provider: provider, providerUID: providerUID, tokenExpiration: tokenExpiration, sessionExpiration: sessionExpiration,
                    fetchedAt: fetchedAt, updatedAt: updatedAt, keyID: keyID))
        }
        return result
    }

    public func session(site: String, uid: String, provider: String) async throws -> SessionRecord? {
        let rows = try await client.query(
            """
            SELECT provider_uid, key_id, auth_token, token_secret, session_handle, token_expiration, session_expiration, fetched_at
            FROM provider_sessions WHERE site = \(site) AND uid = \(uid) AND provider = \(provider)
            """, logger: logger)
        let key = SessionRecordKey(site: site, uid: uid, provider: provider)
        for try await (providerUID, keyID, authToken, tokenSecret, sessionHandle, tokenExpiration, sessionExpiration, fetchedAt) in rows.decode(
            (String?, String, Data?, Data?, Data?, String?, String?, Date).self)
        {
            func open(_ sealed: Data?, _ field: SealedField) throws(SealError) -> String? {
                guard let sealed else { return nil }
                return try keyRing.open(Array(sealed), keyID: keyID, context: Self.context(key, field))
            }
            return SessionRecord(
                site: site, uid: uid, provider: provider, providerUID: providerUID, authToken: try open(authToken, .authToken),
                tokenSecret: try open(tokenSecret, .tokenSecret), sessionHandle: try open(sessionHandle, .sessionHandle),
                tokenExpiration: tokenExpiration, sessionExpiration: sessionExpiration, fetchedAt: fetchedAt)
        }
        return nil
    }

    public func delete(site: String, uid: String, provider: String?, audit entry: AuditEntry) async throws -> DeleteOutcome {
        try await inTransaction { connection in
            try await lockUser(site: site, uid: uid, on: connection)
            var deleted = 0
            let sessions = try await connection.query(
                """
                WITH deleted AS (
                    DELETE FROM provider_sessions
                    WHERE site = \(site) AND uid = \(uid) AND (\(provider)::text IS NULL OR provider = \(provider))
                    RETURNING 1
                )
                SELECT count(*) FROM deleted
                """, logger: logger)
            for try await count in sessions.decode(Int.self) { deleted = count }
            // Unfinished events would fetch and store the session again: pending (new or retrying) and leased ones end here.
            var cancelled = 0
            let events = try await connection.query(
                """
                WITH cancelled AS (
                    UPDATE login_events
                    SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, completed_at = now(), updated_at = now()
                    WHERE site = \(site) AND uid = \(uid) AND (\(provider)::text IS NULL OR provider = \(provider))
                      AND status IN ('pending', 'processing')
                    RETURNING 1
                )
                SELECT count(*) FROM cancelled
                """, logger: logger)
            for try await count in events.decode(Int.self) { cancelled = count }
            if deleted + cancelled > 0 {
                // A worker or refresh that fetched before now must not write after: it checks this under the same lock.
                try await connection.query(
                    """
                    INSERT INTO session_tombstones (site, uid, provider, deleted_at)
                    VALUES (\(site), \(uid), \(provider ?? "*"), clock_timestamp())
                    ON CONFLICT (site, uid, provider) DO UPDATE SET deleted_at = EXCLUDED.deleted_at
                    """, logger: logger)
            }
            var entry = entry
            entry.detail = "deleted=\(deleted) cancelled=\(cancelled)"
            try await insertAudit(entry, on: connection)
            return DeleteOutcome(deleted: deleted, cancelledEvents: cancelled)
        }
    }
}
