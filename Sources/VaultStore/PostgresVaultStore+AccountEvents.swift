public import Foundation
import GigyaKit
import PostgresNIO

extension PostgresVaultStore {
    /// Columns of `account_events` in the order `decodeAccountEvent` reads them.
    static let accountEventColumns = """
        seq, site, event_id, type, uid, new_uid, event_timestamp, status, attempts, outcome, received_at, processed_at
        """

    static func decodeAccountEvent(_ row: PostgresRow) throws -> AccountEvent {
        let (seq, site, eventID, type, uid, newUID, timestamp, status, attempts, outcome, receivedAt, processedAt) = try row.decode(
            (Int64, String, String, String, String, String?, Int64, String, Int, String?, Date, Date?).self)
        return AccountEvent(
            seq: seq, site: site, eventID: eventID, type: AccountEventType(rawValue: type), uid: uid, newUID: newUID, timestamp: timestamp,
            status: AccountEventStatus(rawValue: status) ?? .failed, attempts: attempts, outcome: outcome, receivedAt: receivedAt,
            processedAt: processedAt)
    }

    public func storeAccountEvents(_ events: [NewAccountEvent], notification: NotificationStamp) async throws -> AccountEventStoreResult {
        // One statement, one transaction: the nonce and the whole notification are stored or none of it. Arrival order is
        // kept in `seq`. `DO UPDATE` (not `DO NOTHING`) so that a concurrent first use of the nonce is waited for and its
        // body digest read: the events go in only when the nonce is new or came with this very body.
        let digest = ByteBuffer(bytes: notification.bodyDigest)
        let rows = try await client.query(
            """
            WITH nonce AS (
                INSERT INTO webhook_nonces AS w (site, nonce, body_digest, expires_at)
                VALUES (\(notification.site), \(notification.nonce), \(digest), \(notification.expiresAt))
                ON CONFLICT (site, nonce) DO UPDATE SET expires_at = greatest(w.expires_at, EXCLUDED.expires_at)
                RETURNING w.body_digest = \(digest) AS same_body
            ), input AS (
                SELECT * FROM UNNEST(\(events.map(\.site))::text[], \(events.map(\.eventID))::text[], \(events.map(\.type.rawValue))::text[],
                                     \(events.map(\.uid))::text[], \(NullableArray(events.map(\.newUID)))::text[], \(events.map(\.timestamp))::int8[])
                    WITH ORDINALITY AS t(site, event_id, type, uid, new_uid, event_timestamp, position)
            ), inserted AS (
                INSERT INTO account_events (site, event_id, type, uid, new_uid, event_timestamp)
                SELECT site, event_id, type, uid, new_uid, event_timestamp FROM input
                WHERE (SELECT same_body FROM nonce)
                ORDER BY position
                ON CONFLICT (site, event_id) DO NOTHING
                RETURNING 1
            )
            SELECT (SELECT same_body FROM nonce), (SELECT count(*)::int FROM inserted)
            """, logger: logger)
        for try await (sameBody, inserted) in rows.decode((Bool, Int).self) {
            guard sameBody else { return .nonceReused }
            return .stored(AccountEventReceipt(received: events.count, new: inserted, duplicates: events.count - inserted))
        }
        throw VaultStoreError.invalidArgument("the notification insert returned no row")
    }

    public func claimAccountEvents(worker: String, limit: Int, lease: Duration) async throws -> [AccountEvent] {
        guard limit > 0 else { return [] }
        // Gigya orders events per UID (docs/gigya-protocol.md §7): an event waits while an earlier one about the same UIDs
        // (either side of a rename or merge) is unfinished, whoever holds it.
        let rows = try await client.query(
            """
            WITH due AS (
                SELECT e.seq FROM account_events e
                WHERE e.status IN ('pending', 'processing') AND e.next_attempt_at <= now()
                  AND NOT EXISTS (
                      SELECT 1 FROM account_events p
                      WHERE p.site = e.site AND p.status IN ('pending', 'processing') AND p.seq < e.seq
                        AND (p.uid IN (e.uid, e.new_uid) OR p.new_uid IN (e.uid, e.new_uid))
                  )
                ORDER BY e.next_attempt_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE account_events AS a
            SET status = 'processing', lease_owner = \(worker), lease_expires_at = now() + \(lease.seconds) * interval '1 second',
                next_attempt_at = now() + \(lease.seconds) * interval '1 second', attempts = a.attempts + 1
            FROM due WHERE a.seq = due.seq
            RETURNING \(unescaped: Self.accountEventColumns.split(separator: ",").map { "a." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
            """, logger: logger)
        var events: [AccountEvent] = []
        for try await row in rows { events.append(try Self.decodeAccountEvent(row)) }
        return events.sorted { $0.seq < $1.seq }
    }

    public func renewAccountEventLeases(seqs: [Int64], worker: String, lease: Duration) async throws -> Set<Int64> {
        guard !seqs.isEmpty else { return [] }
        let rows = try await client.query(
            """
            UPDATE account_events
            SET lease_expires_at = now() + \(lease.seconds) * interval '1 second',
                next_attempt_at = now() + \(lease.seconds) * interval '1 second'
            WHERE seq = ANY(\(seqs)::int8[]) AND status = 'processing' AND lease_owner = \(worker)
            RETURNING seq
            """, logger: logger)
        var held: Set<Int64> = []
        for try await seq in rows.decode(Int64.self) { held.insert(seq) }
        return held
    }

    public func finishAccountEvent(_ outcome: AccountEventOutcome, worker: String) async throws -> Bool {
        let query: PostgresQuery
        switch outcome {
        case .processed(let seq, let text), .ignored(let seq, let text), .failed(let seq, let text):
            let status: AccountEventStatus =
                switch outcome {
                case .processed: .processed
                case .ignored: .ignored
                default: .failed
                }
            query = """
                UPDATE account_events
                SET status = \(status.rawValue), lease_owner = NULL, lease_expires_at = NULL, processed_at = now(), outcome = \(Self.clip(text))
                WHERE seq = \(seq) AND status = 'processing' AND lease_owner = \(worker)
                RETURNING seq
                """
        case .retry(let seq, let delay, let text):
            query = """
                UPDATE account_events
                SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, outcome = \(Self.clip(text)),
                    next_attempt_at = now() + \(delay.seconds) * interval '1 second'
                WHERE seq = \(seq) AND status = 'processing' AND lease_owner = \(worker)
                RETURNING seq
                """
        }
        return try await !client.query(query, logger: logger).collect().isEmpty
    }

    public func accountEvents(site: String?, uid: String?, limit: Int) async throws -> [AccountEvent] {
        let rows = try await client.query(
            """
            SELECT \(unescaped: Self.accountEventColumns) FROM account_events
            WHERE (\(site)::text IS NULL OR site = \(site)) AND (\(uid)::text IS NULL OR uid = \(uid) OR new_uid = \(uid))
            ORDER BY seq DESC LIMIT \(min(max(limit, 1), 1000))
            """, logger: logger)
        var events: [AccountEvent] = []
        for try await row in rows { events.append(try Self.decodeAccountEvent(row)) }
        return events
    }

    public func accountEventCounts() async throws -> [AccountEventStatus: Int] {
        let rows = try await client.query("SELECT status, count(*)::int FROM account_events GROUP BY status", logger: logger)
        var counts: [AccountEventStatus: Int] = [:]
        for try await (status, count) in rows.decode((String, Int).self) {
            if let status = AccountEventStatus(rawValue: status) { counts[status] = count }
        }
        return counts
    }

    public func purgeFinishedAccountEvents(before: Date, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let rows = try await client.query(
            """
            WITH old AS (
                SELECT seq FROM account_events
                WHERE status IN ('processed', 'ignored', 'failed') AND processed_at < \(before)
                ORDER BY processed_at LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), purged AS (
                DELETE FROM account_events AS a USING old WHERE a.seq = old.seq RETURNING 1
            ), expired_nonces AS (
                DELETE FROM webhook_nonces WHERE (site, nonce) IN (
                    SELECT site, nonce FROM webhook_nonces WHERE expires_at < now() ORDER BY expires_at LIMIT \(limit))
            )
            SELECT count(*)::int FROM purged
            """, logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }
}
