public import Foundation
import PostgresNIO

extension PostgresVaultStore {
    /// Columns of `account_links` in the order `decodeLink` reads them.
    static let linkColumns = """
        id, site, uid, site_uid, via, status, attempts, last_error_code, last_error_message, requested_by, created_at, updated_at, linked_at
        """

    static func decodeLink(_ row: PostgresRow) throws -> AccountLink {
        let (id, site, uid, siteUID, via, status, attempts, code, message, requestedBy, createdAt, updatedAt, linkedAt) = try row.decode(
            (UUID, String, String, String, String, String, Int, Int?, String?, String, Date, Date, Date?).self)
        return AccountLink(
            id: id, site: site, uid: uid, siteUID: siteUID, via: LinkMethod(rawValue: via) ?? .notifyRegistration,
            status: LinkStatus(rawValue: status) ?? .failed, attempts: attempts, lastErrorCode: code, lastErrorMessage: message,
            requestedBy: requestedBy, createdAt: createdAt, updatedAt: updatedAt, linkedAt: linkedAt)
    }

    public func requestLink(_ link: NewAccountLink) async throws -> LinkRequestOutcome {
        try await inTransaction { connection in
            // Both ids of the site are locked, so two requests naming either of them are decided one after the other.
            for uid in [link.uid, link.siteUID].sorted() { try await lockUser(site: link.site, uid: uid, on: connection) }
            let existing = try await connection.query(
                """
                SELECT \(unescaped: Self.linkColumns) FROM account_links
                WHERE site = \(link.site) AND (site_uid = \(link.siteUID) OR uid = \(link.uid) OR uid = \(link.siteUID) OR site_uid = \(link.uid))
                ORDER BY created_at
                """, logger: logger)
            for try await row in existing {
                let found = try Self.decodeLink(row)
                if found.uid == link.uid && found.siteUID == link.siteUID && found.via == link.via { return .existing(found) }
                if found.uid == link.uid { return .uidAlreadyLinked(found) }
                return .siteUIDTaken(found)
            }
            let holders = try await connection.query(
                "SELECT 1 FROM provider_sessions WHERE site = \(link.site) AND uid = \(link.siteUID) LIMIT 1", logger: logger)
            for try await _ in holders { return .siteUIDHoldsSessions }
            let rows = try await connection.query(
                """
                INSERT INTO account_links (id, site, uid, site_uid, via, requested_by)
                VALUES (\(UUID()), \(link.site), \(link.uid), \(link.siteUID), \(link.via.rawValue), \(link.requestedBy))
                RETURNING \(unescaped: Self.linkColumns)
                """, logger: logger)
            for try await row in rows {
                let created = try Self.decodeLink(row)
                try await insertAudit(
                    AuditEntry(
                        actorKeyID: link.requestedByKeyID, actorName: link.requestedBy, action: "link.requested", site: link.site, uid: link.uid,
                        detail: "link=\(created.id) siteUID=\(link.siteUID) via=\(link.via.rawValue)"),
                    on: connection)
                return .created(created)
            }
            throw VaultStoreError.invalidArgument("the link was not stored")
        }
    }

    public func link(site: String, siteUID: String) async throws -> AccountLink? {
        let rows = try await client.query(
            "SELECT \(unescaped: Self.linkColumns) FROM account_links WHERE site = \(site) AND site_uid = \(siteUID)", logger: logger)
        for try await row in rows { return try Self.decodeLink(row) }
        return nil
    }

    public func links(site: String, uid: String) async throws -> [AccountLink] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.linkColumns) FROM account_links WHERE site = \(site) AND (uid = \(uid) OR site_uid = \(uid))
            ORDER BY created_at
            """, logger: logger)
        var links: [AccountLink] = []
        for try await row in rows { links.append(try Self.decodeLink(row)) }
        return links
    }

    public func links(sites: [String]?, statuses: [LinkStatus]?, limit: Int, after cursor: LinkCursor?) async throws -> LinkPage {
        let limit = min(max(limit, 1), 1000)
        let afterMicros = cursor?.createdAtMicros
        let afterID = cursor?.id
        // Keyset paging over (created_at in microseconds, id), newest first: stable while links are added.
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.linkColumns) FROM account_links
            WHERE (\(statuses?.map(\.rawValue))::text[] IS NULL OR status = ANY(\(statuses?.map(\.rawValue))::text[]))
              AND (\(sites)::text[] IS NULL OR site = ANY(\(sites)::text[]))
              AND (\(afterMicros)::int8 IS NULL OR ((EXTRACT(EPOCH FROM created_at) * 1000000)::int8, id) < (\(afterMicros), \(afterID)))
            ORDER BY created_at DESC, id DESC
            LIMIT \(limit + 1)
            """, logger: logger)
        var links: [AccountLink] = []
        for try await row in rows { links.append(try Self.decodeLink(row)) }
        guard links.count > limit else { return LinkPage(links: links, nextCursor: nil) }
        links.removeLast()
        return LinkPage(links: links, nextCursor: LinkCursor(after: links[limit - 1]).description)
    }

    public func forgetLink(site: String, siteUID: String, audit: AuditEntry) async throws -> AccountLink? {
        try await inTransaction { connection in
            let rows = try await connection.query(
                "DELETE FROM account_links WHERE site = \(site) AND site_uid = \(siteUID) RETURNING \(unescaped: Self.linkColumns)", logger: logger)
            for try await row in rows {
                let link = try Self.decodeLink(row)
                var entry = audit
                entry.uid = link.uid
                entry.detail = "link=\(link.id) siteUID=\(link.siteUID) status=\(link.status.rawValue)"
                try await insertAudit(entry, on: connection)
                return link
            }
            return nil
        }
    }

    public func claimLink(id: UUID, worker: String, lease: Duration) async throws -> AccountLink? {
        let rows = try await client.query(
            """
            UPDATE account_links
            SET status = 'processing', lease_owner = \(worker), lease_expires_at = now() + \(lease.seconds) * interval '1 second',
                next_attempt_at = now() + \(lease.seconds) * interval '1 second', attempts = attempts + 1, updated_at = now()
            WHERE id = \(id) AND (status = 'pending' OR (status = 'processing' AND lease_expires_at <= now())) AND next_attempt_at <= now()
            RETURNING \(unescaped: Self.linkColumns)
            """, logger: logger)
        for try await row in rows { return try Self.decodeLink(row) }
        return nil
    }

    public func claimLinks(worker: String, limit: Int, lease: Duration) async throws -> [AccountLink] {
        guard limit > 0 else { return [] }
        let rows = try await client.query(
            """
            WITH due AS (
                SELECT id FROM account_links
                WHERE status IN ('pending', 'processing') AND next_attempt_at <= now()
                ORDER BY next_attempt_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE account_links AS l
            SET status = 'processing', lease_owner = \(worker), lease_expires_at = now() + \(lease.seconds) * interval '1 second',
                next_attempt_at = now() + \(lease.seconds) * interval '1 second', attempts = l.attempts + 1, updated_at = now()
            FROM due WHERE l.id = due.id
            RETURNING \(unescaped: Self.linkColumns.split(separator: ",").map { "l." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
            """, logger: logger)
        var links: [AccountLink] = []
        for try await row in rows { links.append(try Self.decodeLink(row)) }
        return links.sorted { $0.createdAt < $1.createdAt }
    }

    public func renewLinkLeases(ids: [UUID], worker: String, lease: Duration) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        let rows = try await client.query(
            """
            UPDATE account_links
            SET lease_expires_at = now() + \(lease.seconds) * interval '1 second',
                next_attempt_at = now() + \(lease.seconds) * interval '1 second', updated_at = now()
            WHERE id = ANY(\(ids)::uuid[]) AND status = 'processing' AND lease_owner = \(worker)
            RETURNING id
            """, logger: logger)
        var held: Set<UUID> = []
        for try await id in rows.decode(UUID.self) { held.insert(id) }
        return held
    }

    public func finishLink(_ outcome: LinkOutcome, worker: String) async throws -> (recorded: Bool, rekey: RekeyOutcome?) {
        try await inTransaction { connection in
            switch outcome {
            case .linked(let id):
                let rows = try await connection.query(
                    """
                    UPDATE account_links
                    SET status = 'linked', lease_owner = NULL, lease_expires_at = NULL, linked_at = now(), updated_at = now(),
                        last_error_code = NULL, last_error_message = NULL
                    WHERE id = \(id) AND status = 'processing' AND lease_owner = \(worker)
                    RETURNING \(unescaped: Self.linkColumns)
                    """, logger: logger)
                var linked: AccountLink?
                for try await row in rows { linked = try Self.decodeLink(row) }
                guard let linked else { return (false, nil) }
                // From now on Gigya answers with the site UID: everything stored under the Gigya UID moves there, now.
                let moved = try await rekey(site: linked.site, from: linked.uid, to: linked.siteUID, keepingLink: linked.id, on: connection)
                try await insertAudit(
                    AuditEntry(
                        actorKeyID: nil, actorName: "link-worker", action: "link.linked", site: linked.site, uid: linked.siteUID,
                        detail: "link=\(linked.id) from=\(linked.uid) via=\(linked.via.rawValue) \(moved.summary)"),
                    on: connection)
                return (true, moved)
            case .failed(let id, let code, let message):
                let rows = try await connection.query(
                    """
                    UPDATE account_links
                    SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                        last_error_code = \(code), last_error_message = \(Self.clip(message))
                    WHERE id = \(id) AND status = 'processing' AND lease_owner = \(worker)
                    RETURNING site, uid, site_uid
                    """, logger: logger)
                for try await (site, uid, siteUID) in rows.decode((String, String, String).self) {
                    try await insertAudit(
                        AuditEntry(
                            actorKeyID: nil, actorName: "link-worker", action: "link.failed", site: site, uid: uid,
                            detail: "link=\(id) siteUID=\(siteUID) code=\(code.map(String.init) ?? "-")"),
                        on: connection)
                    return (true, nil)
                }
                return (false, nil)
            case .retry(let id, let delay, let code, let message):
                let rows = try await connection.query(
                    """
                    UPDATE account_links
                    SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                        next_attempt_at = now() + \(delay.seconds) * interval '1 second',
                        last_error_code = \(code), last_error_message = \(Self.clip(message))
                    WHERE id = \(id) AND status = 'processing' AND lease_owner = \(worker)
                    RETURNING id
                    """, logger: logger
                ).collect()
                return (!rows.isEmpty, nil)
            }
        }
    }

    public func retryLink(id: UUID, expecting status: LinkStatus, audit: AuditEntry) async throws -> Bool {
        try await inTransaction { connection in
            let rows = try await connection.query(
                """
                UPDATE account_links SET status = 'pending', attempts = 0, next_attempt_at = now(), updated_at = now()
                WHERE id = \(id) AND status = \(status.rawValue) AND status IN ('failed', 'pending', 'linked')
                RETURNING id
                """, logger: logger
            ).collect()
            guard !rows.isEmpty else { return false }
            var entry = audit
            entry.detail = [audit.detail, "link=\(id)"].compactMap { $0 }.joined(separator: " ")
            try await insertAudit(entry, on: connection)
            return true
        }
    }

    public func linkCounts() async throws -> [LinkStatus: Int] {
        let rows = try await client.query("SELECT status, count(*)::int FROM account_links GROUP BY status", logger: logger)
        var counts: [LinkStatus: Int] = [:]
        for try await (status, count) in rows.decode((String, Int).self) {
            if let status = LinkStatus(rawValue: status) { counts[status] = count }
        }
        return counts
    }
}
