import Foundation
import PostgresNIO

extension PostgresVaultStore {
    public func record(_ entry: AuditEntry) async throws {
        try await client.withConnection { connection in try await insertAudit(entry, on: connection) }
    }

    /// Appends one entry on `connection`, inside the caller's transaction when there is one.
    func insertAudit(_ entry: AuditEntry, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO audit_log (actor_key_id, actor_name, action, site, uid, provider, detail)
            VALUES (\(entry.actorKeyID), \(entry.actorName), \(entry.action), \(entry.site), \(entry.uid), \(entry.provider), \(entry.detail))
            """, logger: logger)
    }

    public func recentAudit(limit: Int) async throws -> [AuditRecord] {
        let rows = try await client.query(
            """
            SELECT id, at, actor_key_id, actor_name, action, site, uid, provider, detail
            FROM audit_log ORDER BY id DESC LIMIT \(max(0, limit))
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
