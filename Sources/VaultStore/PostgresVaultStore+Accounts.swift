public import Foundation
import PostgresNIO

/// Moving a user's data to another UID (a link, a UID change, a merge) and purging a deleted account.
extension PostgresVaultStore {
    public func rekeyUser(site: String, from: String, to: String, audit: AuditEntry) async throws -> RekeyOutcome {
        guard from != to else { throw VaultStoreError.invalidArgument("a user cannot be moved onto its own UID") }
        return try await inTransaction { connection in
            var entry = audit
            let outcome = try await rekey(site: site, from: from, to: to, keepingLink: nil, on: connection)
            entry.detail = [audit.detail, "from=\(from) to=\(to) \(outcome.summary)"].compactMap { $0 }.joined(separator: " ")
            try await insertAudit(entry, on: connection)
            return outcome
        }
    }

    /// Moves everything stored under `from` to `to` on `connection`, inside the caller's transaction: sessions (re-sealed,
    /// since the UID is part of each token's associated data; for a provider both hold, the newer fetch wins), pending
    /// and in-flight login events (back to pending, so a worker fetches under the new UID), and link records. A tombstone
    /// on `from` keeps a fetch started before now from writing there afterwards. `keepingLink` is not touched.
    func rekey(site: String, from: String, to: String, keepingLink: UUID?, on connection: PostgresConnection) async throws -> RekeyOutcome {
        // Both users' locks, in a fixed order, so two moves between the same users cannot deadlock.
        for uid in [from, to].sorted() { try await lockUser(site: site, uid: uid, on: connection) }
        var outcome = RekeyOutcome()
        let rows = try await connection.query(
            """
            SELECT s.provider, s.provider_uid, s.key_id, s.auth_token, s.token_secret, s.session_handle, s.token_expiration,
                   s.session_expiration, s.fetched_at, s.event_id, t.fetched_at
            FROM provider_sessions s
            LEFT JOIN provider_sessions t ON t.site = s.site AND t.uid = \(to) AND t.provider = s.provider
            WHERE s.site = \(site) AND s.uid = \(from)
            """, logger: logger)
        var moved: [(SealedSession, UUID?)] = []
        for try await (provider, providerUID, keyID, authToken, tokenSecret, sessionHandle, tokenExpiration, sessionExpiration, fetchedAt, eventID, targetFetchedAt)
            in rows.decode((String, String?, String, Data?, Data?, Data?, String?, String?, Date, UUID?, Date?).self)
        {
            if let targetFetchedAt, targetFetchedAt > fetchedAt {
                outcome.sessionsSuperseded += 1
                continue
            }
            let stored = SealedSession(
                record: SessionRecordKey(site: site, uid: from, provider: provider), providerUID: providerUID, keyID: keyID,
                authToken: authToken, tokenSecret: tokenSecret, sessionHandle: sessionHandle, tokenExpiration: tokenExpiration,
                sessionExpiration: sessionExpiration, fetchedAt: fetchedAt)
            moved.append((try stored.resealed(as: SessionRecordKey(site: site, uid: to, provider: provider), ring: keyRing), eventID))
        }
        for (session, eventID) in moved {
            try await upsertSealed(session, eventID: eventID, on: connection)
        }
        outcome.sessionsMoved = moved.count
        try await connection.query("DELETE FROM provider_sessions WHERE site = \(site) AND uid = \(from)", logger: logger)
        try await connection.query(
            """
            INSERT INTO session_tombstones (site, uid, provider, deleted_at) VALUES (\(site), \(from), '*', clock_timestamp())
            ON CONFLICT (site, uid, provider) DO UPDATE SET deleted_at = EXCLUDED.deleted_at
            """, logger: logger)
        outcome.eventsMoved = try await count(
            connection,
            """
            WITH moved AS (
                UPDATE login_events
                SET uid = \(to), status = 'pending', lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = now(), updated_at = now()
                WHERE site = \(site) AND uid = \(from) AND status IN ('pending', 'processing')
                RETURNING 1
            )
            SELECT count(*)::int FROM moved
            """)
        let keep = keepingLink ?? UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        let bySiteUID = try await count(
            connection,
            """
            WITH moved AS (
                UPDATE account_links AS l SET site_uid = \(to), updated_at = now()
                WHERE l.site = \(site) AND l.site_uid = \(from) AND l.id <> \(keep) AND l.uid <> \(to)
                  AND NOT EXISTS (SELECT 1 FROM account_links o WHERE o.site = \(site) AND o.site_uid = \(to))
                RETURNING 1
            )
            SELECT count(*)::int FROM moved
            """)
        let byUID = try await count(
            connection,
            """
            WITH moved AS (
                UPDATE account_links AS l SET uid = \(to), updated_at = now()
                WHERE l.site = \(site) AND l.uid = \(from) AND l.id <> \(keep) AND l.site_uid <> \(to)
                  AND NOT EXISTS (SELECT 1 FROM account_links o WHERE o.site = \(site) AND o.uid = \(to))
                RETURNING 1
            )
            SELECT count(*)::int FROM moved
            """)
        outcome.linksMoved = bySiteUID + byUID
        return outcome
    }

    public func purgeUser(site: String, uid: String, audit: AuditEntry) async throws -> PurgeOutcome {
        try await inTransaction { connection in
            try await lockUser(site: site, uid: uid, on: connection)
            var outcome = PurgeOutcome()
            outcome.sessions = try await count(
                connection,
                "WITH gone AS (DELETE FROM provider_sessions WHERE site = \(site) AND uid = \(uid) RETURNING 1) SELECT count(*)::int FROM gone")
            outcome.cancelledEvents = try await count(
                connection,
                """
                WITH cancelled AS (
                    UPDATE login_events
                    SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, completed_at = now(), updated_at = now()
                    WHERE site = \(site) AND uid = \(uid) AND status IN ('pending', 'processing')
                    RETURNING 1
                )
                SELECT count(*)::int FROM cancelled
                """)
            outcome.links = try await count(
                connection,
                """
                WITH gone AS (DELETE FROM account_links WHERE site = \(site) AND (uid = \(uid) OR site_uid = \(uid)) RETURNING 1)
                SELECT count(*)::int FROM gone
                """)
            // Always: a fetch that started before the deletion must never write the account's tokens back.
            try await connection.query(
                """
                INSERT INTO session_tombstones (site, uid, provider, deleted_at) VALUES (\(site), \(uid), '*', clock_timestamp())
                ON CONFLICT (site, uid, provider) DO UPDATE SET deleted_at = EXCLUDED.deleted_at
                """, logger: logger)
            var entry = audit
            entry.detail = [audit.detail, outcome.summary].compactMap { $0 }.joined(separator: " ")
            try await insertAudit(entry, on: connection)
            return outcome
        }
    }

    /// The single integer a `SELECT count(*)::int` statement answers.
    func count(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> Int {
        for try await value in try await connection.query(query, logger: logger).decode(Int.self) { return value }
        return 0
    }
}
