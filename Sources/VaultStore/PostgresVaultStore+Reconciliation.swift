public import Foundation
import PostgresNIO

extension PostgresVaultStore: ReconciliationStore {
    static let runColumns = "id, site, mode, purge_orphans, status, started_by, started_at, updated_at, finished_at, checked, total, checkpoint, error"

    static func decodeRun(_ row: PostgresRow) throws -> ReconciliationRun {
        let (id, site, mode, purge, status, startedBy, startedAt, updatedAt, finishedAt, checked, total, checkpoint, error) = try row.decode(
            (UUID, String, String, Bool, String, String, Date, Date, Date?, Int, Int, String?, String?).self)
        return ReconciliationRun(
            id: id, site: site, mode: ReconciliationMode(rawValue: mode) ?? .dryRun, purgeOrphans: purge,
            status: ReconciliationRunStatus(rawValue: status) ?? .failed, startedBy: startedBy, startedAt: startedAt, updatedAt: updatedAt,
            finishedAt: finishedAt, checked: checked, total: total, checkpoint: checkpoint, error: error)
    }

    public func createRun(site: String, mode: ReconciliationMode, purgeOrphans: Bool, startedBy: String, total: Int) async throws -> ReconciliationRun {
        let rows = try await client.query(
            """
            INSERT INTO reconciliation_runs (id, site, mode, purge_orphans, status, started_by, total)
            VALUES (\(UUID()), \(site), \(mode.rawValue), \(purgeOrphans), 'running', \(startedBy), \(total))
            RETURNING \(unescaped: Self.runColumns)
            """, logger: logger)
        for try await row in rows { return try Self.decodeRun(row) }
        throw VaultStoreError.invalidArgument("the run was not stored")
    }

    public func resumableRun(site: String, mode: ReconciliationMode, staleAfter: Duration) async throws -> ReconciliationRun? {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.runColumns) FROM reconciliation_runs
            WHERE site = \(site) AND mode = \(mode.rawValue)
              AND (status = 'interrupted' OR (status = 'running' AND updated_at < now() - \(staleAfter.seconds) * interval '1 second'))
            ORDER BY started_at DESC LIMIT 1
            """, logger: logger)
        for try await row in rows { return try Self.decodeRun(row) }
        return nil
    }

    public func recordItems(runID: UUID, items: [ReconciliationItem], checkpoint: String, checked: Int) async throws {
        try await inTransaction { connection in
            if !items.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO reconciliation_items (run_id, item_key, category, uid, site_uid, gigya_uid, gigya_code, detail, action)
                    SELECT \(runID), key, category, uid, site_uid, gigya_uid, gigya_code, detail, action
                    FROM UNNEST(\(items.map(\.key))::text[], \(items.map(\.category.rawValue))::text[], \(items.map(\.uid))::text[],
                                \(NullableArray(items.map(\.siteUID)))::text[], \(NullableArray(items.map(\.gigyaUID)))::text[],
                                \(NullableArray(items.map { $0.gigyaCode.map(Int32.init) }))::int4[], \(items.map(\.detail))::text[],
                                \(NullableArray(items.map(\.action)))::text[])
                        AS t(key, category, uid, site_uid, gigya_uid, gigya_code, detail, action)
                    ON CONFLICT (run_id, item_key) DO UPDATE
                    SET category = EXCLUDED.category, detail = EXCLUDED.detail, action = EXCLUDED.action, gigya_uid = EXCLUDED.gigya_uid,
                        gigya_code = EXCLUDED.gigya_code, site_uid = EXCLUDED.site_uid
                    """, logger: logger)
            }
            try await connection.query(
                "UPDATE reconciliation_runs SET checkpoint = \(checkpoint), checked = \(checked), updated_at = now() WHERE id = \(runID)",
                logger: logger)
        }
    }

    public func markRun(id: UUID, status: ReconciliationRunStatus, total: Int?, error: String?) async throws {
        try await client.query(
            """
            UPDATE reconciliation_runs
            SET status = \(status.rawValue), total = COALESCE(\(total), total), error = \(error.map(Self.clip)), updated_at = now(),
                finished_at = CASE WHEN \(status.rawValue) = 'running' THEN NULL ELSE now() END
            WHERE id = \(id)
            """, logger: logger)
    }

    public func run(id: UUID) async throws -> ReconciliationRun? {
        let rows = try await client.query("SELECT \(unescaped: Self.runColumns) FROM reconciliation_runs WHERE id = \(id)", logger: logger)
        for try await row in rows { return try await withCounts(try Self.decodeRun(row)) }
        return nil
    }

    public func latestRun(site: String?) async throws -> ReconciliationRun? {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.runColumns) FROM reconciliation_runs WHERE (\(site)::text IS NULL OR site = \(site))
            ORDER BY started_at DESC LIMIT 1
            """, logger: logger)
        for try await row in rows { return try await withCounts(try Self.decodeRun(row)) }
        return nil
    }

    private func withCounts(_ run: ReconciliationRun) async throws -> ReconciliationRun {
        var run = run
        let rows = try await client.query(
            "SELECT category, count(*)::int FROM reconciliation_items WHERE run_id = \(run.id) GROUP BY category", logger: logger)
        for try await (category, count) in rows.decode((String, Int).self) { run.counts[category] = count }
        return run
    }

    public func items(runID: UUID, category: ReconciliationCategory?, limit: Int, after: String?) async throws -> [ReconciliationItem] {
        let rows = try await client.query(
            """
            SELECT item_key, category, uid, site_uid, gigya_uid, gigya_code, detail, action FROM reconciliation_items
            WHERE run_id = \(runID) AND (\(category?.rawValue)::text IS NULL OR category = \(category?.rawValue))
              AND (\(after)::text IS NULL OR item_key > \(after))
            ORDER BY item_key LIMIT \(min(max(limit, 1), 1000))
            """, logger: logger)
        var items: [ReconciliationItem] = []
        for try await (key, category, uid, siteUID, gigyaUID, code, detail, action) in rows.decode(
            (String, String, String, String?, String?, Int?, String, String?).self)
        {
            items.append(
                ReconciliationItem(
                    key: key, category: ReconciliationCategory(rawValue: category) ?? .conflict, uid: uid, siteUID: siteUID, gigyaUID: gigyaUID,
                    gigyaCode: code, detail: detail, action: action))
        }
        return items
    }

    public func linksForReconciliation(site: String, after afterID: UUID?, limit: Int) async throws -> [AccountLink] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.linkColumns) FROM account_links
            WHERE site = \(site) AND (\(afterID)::uuid IS NULL OR id > \(afterID))
            ORDER BY id LIMIT \(limit)
            """, logger: logger)
        var links: [AccountLink] = []
        for try await row in rows { links.append(try Self.decodeLink(row)) }
        return links
    }

    public func usersWithSessions(site: String, after afterUID: String?, limit: Int) async throws -> [StoredUser] {
        let rows = try await client.query(
            """
            WITH users AS (
                SELECT DISTINCT uid FROM provider_sessions WHERE site = \(site) AND (\(afterUID)::text IS NULL OR uid > \(afterUID))
                ORDER BY uid LIMIT \(limit)
            )
            SELECT s.uid, s.provider, COALESCE(s.provider_uid, '') FROM provider_sessions s JOIN users u ON u.uid = s.uid
            WHERE s.site = \(site) ORDER BY s.uid, s.provider
            """, logger: logger)
        return try await Self.storedUsers(from: rows)
    }

    public func storedUsers(site: String, uids: [String]) async throws -> [StoredUser] {
        guard !uids.isEmpty else { return [] }
        let rows = try await client.query(
            """
            SELECT uid, provider, COALESCE(provider_uid, '') FROM provider_sessions
            WHERE site = \(site) AND uid = ANY(\(uids)::text[]) ORDER BY uid, provider
            """, logger: logger)
        return try await Self.storedUsers(from: rows)
    }

    /// Rows of (uid, provider, provider UID) ordered by uid, as one `StoredUser` per uid.
    private static func storedUsers(from rows: PostgresRowSequence) async throws -> [StoredUser] {
        var users: [StoredUser] = []
        for try await (uid, provider, providerUID) in rows.decode((String, String, String).self) {
            if users.last?.uid != uid { users.append(StoredUser(uid: uid, identities: [])) }
            if !providerUID.isEmpty { users[users.count - 1].identities.append((provider, providerUID)) }
        }
        return users
    }

    public func reconciliationTotal(site: String) async throws -> Int {
        let rows = try await client.query(
            """
            SELECT (SELECT count(*) FROM account_links WHERE site = \(site))::int
                 + (SELECT count(DISTINCT uid) FROM provider_sessions WHERE site = \(site))::int
            """, logger: logger)
        for try await total in rows.decode(Int.self) { return total }
        return 0
    }
}
