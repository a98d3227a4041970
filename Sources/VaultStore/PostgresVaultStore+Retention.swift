public import Foundation
import PostgresNIO

extension PostgresVaultStore: RetentionStore {
    public func purge(_ history: RetainedHistory, before: Date, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let query: PostgresQuery
        switch history {
        case .tombstones:
            // A tombstone stops a fetch that started before it; once no unfinished event of the user is that old, and
            // the retention is far beyond any refresh's duration, nothing it could stop is left.
            query = """
                WITH old AS (
                    SELECT t.site, t.uid, t.provider FROM session_tombstones AS t
                    WHERE t.deleted_at < \(before)
                      AND NOT EXISTS (
                          SELECT 1 FROM login_events AS e
                          WHERE e.site = t.site AND e.uid = t.uid AND e.status IN ('pending', 'processing') AND e.created_at <= t.deleted_at
                      )
                    ORDER BY t.deleted_at LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                ), purged AS (
                    DELETE FROM session_tombstones AS t USING old
                    WHERE t.site = old.site AND t.uid = old.uid AND t.provider = old.provider RETURNING 1
                )
                SELECT count(*)::int FROM purged
                """
        case .auditRows:
            query = """
                WITH old AS (
                    SELECT id FROM audit_log WHERE at < \(before) ORDER BY at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                ), purged AS (
                    DELETE FROM audit_log AS a USING old WHERE a.id = old.id RETURNING 1
                )
                SELECT count(*)::int FROM purged
                """
        case .reconciliationRuns:
            query = """
                WITH old AS (
                    SELECT r.id FROM reconciliation_runs AS r
                    WHERE r.status <> 'running' AND r.updated_at < \(before)
                      AND EXISTS (
                          SELECT 1 FROM reconciliation_runs AS newer
                          WHERE newer.site = r.site AND newer.mode = r.mode AND newer.started_at > r.started_at
                      )
                    ORDER BY r.updated_at LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                ), purged AS (
                    DELETE FROM reconciliation_runs AS r USING old WHERE r.id = old.id RETURNING 1
                )
                SELECT count(*)::int FROM purged
                """
        }
        for try await count in try await client.query(query, logger: logger).decode(Int.self) { return count }
        return 0
    }
}
