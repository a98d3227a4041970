public import Foundation
import PostgresNIO

extension PostgresVaultStore: AdminStore {
    public func createAdminSession(tokenHash: [UInt8], csrfToken: String, keyID: UUID, keyName: String, expiresAt: Date) async throws {
        try await client.query(
            """
            INSERT INTO admin_sessions (token_hash, csrf_token, key_id, key_name, expires_at)
            VALUES (\(ByteBuffer(bytes: tokenHash)), \(csrfToken), \(keyID), \(keyName), \(expiresAt))
            """, logger: logger)
        try await client.query("DELETE FROM admin_sessions WHERE expires_at < now()", logger: logger)
    }

    public func adminSession(tokenHash: [UInt8]) async throws -> AdminSessionRecord? {
        let rows = try await client.query(
            """
            SELECT s.csrf_token, s.key_id, s.key_name, s.expires_at FROM admin_sessions s JOIN api_keys k ON k.id = s.key_id
            WHERE s.token_hash = \(ByteBuffer(bytes: tokenHash)) AND s.expires_at > now() AND k.revoked_at IS NULL AND 'admin' = ANY(k.scopes)
            """, logger: logger)
        for try await (csrf, keyID, keyName, expiresAt) in rows.decode((String, UUID, String, Date).self) {
            return AdminSessionRecord(csrfToken: csrf, keyID: keyID, keyName: keyName, expiresAt: expiresAt)
        }
        return nil
    }

    public func deleteAdminSession(tokenHash: [UInt8]) async throws {
        try await client.query("DELETE FROM admin_sessions WHERE token_hash = \(ByteBuffer(bytes: tokenHash))", logger: logger)
    }

    public func failedEventCounts() async throws -> [(code: Int?, count: Int)] {
        let rows = try await client.query(
            "SELECT last_error_code, count(*)::int FROM login_events WHERE status = 'failed' GROUP BY last_error_code ORDER BY 2 DESC",
            logger: logger)
        var counts: [(code: Int?, count: Int)] = []
        for try await (code, count) in rows.decode((Int?, Int).self) { counts.append((code, count)) }
        return counts
    }

    public func tokensByExpiry() async throws -> [TokenExpiryCount] {
        let rows = try await client.query(
            """
            SELECT provider, bucket, count(*)::int FROM (
                SELECT provider,
                       CASE WHEN token_expiration !~ '^[0-9]{1,12}$' OR token_expiration = '0' THEN 'unknown'
                            WHEN to_timestamp(token_expiration::bigint) < now() THEN 'expired'
                            WHEN to_timestamp(token_expiration::bigint) < now() + interval '1 day' THEN 'within_1_day'
                            WHEN to_timestamp(token_expiration::bigint) < now() + interval '7 days' THEN 'within_7_days'
                            ELSE 'later' END AS bucket
                FROM provider_sessions
            ) t GROUP BY provider, bucket ORDER BY provider, bucket
            """, logger: logger)
        var counts: [TokenExpiryCount] = []
        for try await (provider, bucket, count) in rows.decode((String, String, Int).self) {
            counts.append(TokenExpiryCount(bucket: bucket, provider: provider, count: count))
        }
        return counts
    }

    public func failedEvents(limit: Int, before: Date?) async throws -> [LoginEvent] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.eventColumns) FROM login_events
            WHERE status = 'failed' AND (\(before)::timestamptz IS NULL OR updated_at < \(before))
            ORDER BY updated_at DESC LIMIT \(min(max(limit, 1), 500))
            """, logger: logger)
        var events: [LoginEvent] = []
        for try await row in rows { events.append(try Self.decodeEvent(row)) }
        return events
    }

    public func requeueEvent(id: UUID, audit: AuditEntry) async throws -> Bool {
        try await inTransaction { connection in
            let rows = try await connection.query(
                """
                UPDATE login_events SET status = 'pending', attempts = 0, next_attempt_at = now(), completed_at = NULL, updated_at = now()
                WHERE id = \(id) AND status = 'failed'
                RETURNING site, uid, provider
                """, logger: logger)
            for try await (site, uid, provider) in rows.decode((String, String, String).self) {
                var entry = audit
                entry.site = site
                entry.uid = uid
                entry.provider = provider
                entry.detail = "event=\(id)"
                try await insertAudit(entry, on: connection)
                return true
            }
            return false
        }
    }

    public func recentEvents(site: String, uid: String, limit: Int) async throws -> [LoginEvent] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.eventColumns) FROM login_events WHERE site = \(site) AND uid = \(uid)
            ORDER BY created_at DESC LIMIT \(min(max(limit, 1), 500))
            """, logger: logger)
        var events: [LoginEvent] = []
        for try await row in rows { events.append(try Self.decodeEvent(row)) }
        return events
    }

    public func audit(_ filter: AuditFilter, limit: Int) async throws -> [AuditRecord] {
        let rows = try await client.query(
            """
            SELECT id, at, actor_key_id, actor_name, action, site, uid, provider, detail FROM audit_log
            WHERE (\(filter.action)::text IS NULL OR action = \(filter.action))
              AND (\(filter.site)::text IS NULL OR site = \(filter.site))
              AND (\(filter.uid)::text IS NULL OR uid = \(filter.uid))
              AND (\(filter.actor)::text IS NULL OR actor_name = \(filter.actor))
              AND (\(filter.beforeID)::int8 IS NULL OR id < \(filter.beforeID))
            ORDER BY id DESC LIMIT \(min(max(limit, 1), 500))
            """, logger: logger)
        var records: [AuditRecord] = []
        for try await (id, at, actorKeyID, actorName, action, site, uid, provider, detail) in rows.decode(
            (Int64, Date, UUID?, String, String, String, String?, String?, String?).self)
        {
            records.append(
                AuditRecord(
                    id: id, at: at, actorKeyID: actorKeyID, actorName: actorName, action: action, site: site, uid: uid, provider: provider,
                    detail: detail))
        }
        return records
    }
}
