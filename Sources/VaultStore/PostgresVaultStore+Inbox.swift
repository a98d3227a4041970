public import Foundation
import PostgresNIO

extension PostgresVaultStore {
    /// Columns of `login_events` in the order `decodeEvent` reads them.
    static let eventColumns = """
        id, site, uid, provider, signature_timestamp, status, attempts, next_attempt_at, last_error_code, last_error_message, \
        created_at, updated_at, completed_at
        """

    /// `eventColumns` qualified with the `e` alias, for `UPDATE … FROM` statements.
    static let qualifiedEventColumns = eventColumns.split(separator: ",")
        .map { "e." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")

    /// Reads a row selected with `eventColumns`.
    static func decodeEvent(_ row: PostgresRow) throws -> LoginEvent {
        let (id, site, uid, provider, timestamp, status, attempts, nextAttemptAt, code, message, createdAt, updatedAt, completedAt) =
            try row.decode((UUID, String, String, String, Int64, String, Int, Date, Int?, String?, Date, Date, Date?).self)
        return LoginEvent(
            id: id, site: site, uid: uid, provider: provider, signatureTimestamp: timestamp, status: LoginEventStatus(rawValue: status) ?? .failed,
            attempts: attempts, nextAttemptAt: nextAttemptAt, lastErrorCode: code, lastErrorMessage: message, createdAt: createdAt,
            updatedAt: updatedAt, completedAt: completedAt)
    }

    public func enqueue(_ events: [NewLoginEvent]) async throws -> [EnqueueOutcome] {
        guard !events.isEmpty else { return [] }
        // The first occurrence of each replay key is written; later ones in the batch resolve to whatever it resolves to.
        var firstIndexByKey: [[UInt8]: Int] = [:]
        var unique: [Int] = []
        for (index, event) in events.enumerated() where firstIndexByKey[event.replayKey] == nil {
            firstIndexByKey[event.replayKey] = index
            unique.append(index)
        }
        // Rows are inserted in key order: two instances writing overlapping batches then lock the same keys in the same
        // order and wait for each other instead of deadlocking.
        unique.sort { events[$0].replayKey.lexicographicallyPrecedes(events[$1].replayKey) }
        let ids = unique.map { _ in UUID() }
        let keys = unique.map { ByteBuffer(bytes: events[$0].replayKey) }
        let sites = unique.map { events[$0].site }
        let uids = unique.map { events[$0].uid }
        let providers = unique.map { events[$0].provider }
        let timestamps = unique.map { events[$0].signatureTimestamp }
        let expiries = unique.map { events[$0].replayExpiresAt }

        let resolved: [[UInt8]: EnqueueOutcome] = try await inTransaction { connection in
            var resolved: [[UInt8]: EnqueueOutcome] = [:]
            // One statement: claim the replay keys that are free and create the events for exactly those keys.
            // The foreign key from replay_keys to login_events is checked at the end of the statement, after both inserts.
            let accepted = try await connection.query(
                """
                WITH input AS (
                    SELECT * FROM UNNEST(\(ids)::uuid[], \(keys)::bytea[], \(expiries)::timestamptz[], \(sites)::text[], \(uids)::text[],
                                         \(providers)::text[], \(timestamps)::int8[])
                        AS t(id, key, expires_at, site, uid, provider, signature_timestamp)
                ), keys AS (
                    INSERT INTO replay_keys (key, event_id, expires_at)
                    SELECT key, id, expires_at FROM input
                    ON CONFLICT (key) DO NOTHING
                    RETURNING key, event_id
                ), events AS (
                    INSERT INTO login_events (id, site, uid, provider, signature_timestamp, status, attempts, next_attempt_at)
                    SELECT input.id, input.site, input.uid, input.provider, input.signature_timestamp, 'pending', 0, now()
                    FROM input JOIN keys ON keys.event_id = input.id
                    RETURNING id
                )
                SELECT keys.key, events.id FROM keys JOIN events ON events.id = keys.event_id
                """, logger: logger)
            for try await (key, id) in accepted.decode((ByteBuffer, UUID).self) {
                resolved[Array(buffer: key)] = .accepted(eventID: id)
            }
            try await spendBudget(events: events, unique: unique, ids: ids, resolved: &resolved, on: connection)
            let taken = keys.filter { resolved[Array(buffer: $0)] == nil }
            guard !taken.isEmpty else { return resolved }
            // A separate statement takes a new snapshot, so it sees keys committed by a concurrent batch we waited on.
            let existing = try await connection.query(
                "SELECT key, event_id FROM replay_keys WHERE key = ANY(\(taken)::bytea[])", logger: logger)
            for try await (key, id) in existing.decode((ByteBuffer, UUID).self) {
                resolved[Array(buffer: key)] = .duplicate(eventID: id)
            }
            // A taken key purged between the two statements leaves its event unresolved. Throwing here, inside the
            // transaction, rolls back the whole batch: no caller is told of an outcome while others' events stay
            // committed without an answer (their retry would then find them as duplicates of themselves).
            guard taken.allSatisfy({ resolved[Array(buffer: $0)] != nil }) else { throw VaultStoreError.replayKeyVanished }
            return resolved
        }
        return try events.enumerated().map { index, event in
            guard let outcome = resolved[event.replayKey] else { throw VaultStoreError.replayKeyVanished }
            guard firstIndexByKey[event.replayKey] != index, let eventID = outcome.eventID else { return outcome }
            return .duplicate(eventID: eventID)
        }
    }

    /// Counts the events just accepted against their login results' budgets and takes back, in this transaction, those
    /// beyond `maxEventsPerLogin` (last in the batch first): a login result makes at most that many events whatever
    /// providers were posted with it, across batches and instances. Budget rows are locked in key order.
    private func spendBudget(
        events: [NewLoginEvent], unique: [Int], ids: [UUID], resolved: inout [[UInt8]: EnqueueOutcome], on connection: PostgresConnection
    ) async throws {
        var acceptedByLogin: [[UInt8]: [(index: Int, id: UUID)]] = [:]
        for (position, index) in unique.enumerated() {
            guard case .accepted = resolved[events[index].replayKey] else { continue }
            acceptedByLogin[events[index].loginKey, default: []].append((index, ids[position]))
        }
        guard !acceptedByLogin.isEmpty else { return }
        let loginKeys = acceptedByLogin.keys.sorted { $0.lexicographicallyPrecedes($1) }
        let spent = loginKeys.map { acceptedByLogin[$0]?.count ?? 0 }
        let expiries = loginKeys.map { key in (acceptedByLogin[key] ?? []).map { events[$0.index].replayExpiresAt }.max() ?? Date() }
        let rows = try await connection.query(
            """
            INSERT INTO login_result_budget (key, events, expires_at)
            SELECT key, events, expires_at
            FROM UNNEST(\(loginKeys.map { ByteBuffer(bytes: $0) })::bytea[], \(spent)::int4[], \(expiries)::timestamptz[])
                AS t(key, events, expires_at)
            ON CONFLICT (key) DO UPDATE
            SET events = login_result_budget.events + EXCLUDED.events,
                expires_at = greatest(login_result_budget.expires_at, EXCLUDED.expires_at)
            RETURNING key, events
            """, logger: logger)
        var refused: [UUID] = []
        var refunds: [(key: ByteBuffer, count: Int)] = []
        for try await (key, total) in rows.decode((ByteBuffer, Int).self) {
            let loginKey = Array(buffer: key)
            guard let accepted = acceptedByLogin[loginKey], let limit = accepted.first.map({ events[$0.index].maxEventsPerLogin }) else { continue }
            let excess = min(total - limit, accepted.count)
            guard excess > 0 else { continue }
            for taken in accepted.sorted(by: { $0.index < $1.index }).suffix(excess) {
                refused.append(taken.id)
                resolved[events[taken.index].replayKey] = .overBudget
            }
            refunds.append((key, excess))
        }
        guard !refused.isEmpty else { return }
        // The replay keys go with their events (ON DELETE CASCADE): a refused login result may be posted again once
        // a provider is freed, and gets the same answer while the budget stays spent.
        try await connection.query("DELETE FROM login_events WHERE id = ANY(\(refused)::uuid[])", logger: logger)
        try await connection.query(
            """
            UPDATE login_result_budget AS b SET events = b.events - r.excess
            FROM UNNEST(\(refunds.map { $0.key })::bytea[], \(refunds.map { $0.count })::int4[]) AS r(key, excess)
            WHERE b.key = r.key
            """, logger: logger)
    }

    public func event(id: UUID) async throws -> LoginEvent? {
        let rows = try await client.query("SELECT \(unescaped: Self.eventColumns) FROM login_events WHERE id = \(id)", logger: logger)
        for try await row in rows { return try Self.decodeEvent(row) }
        return nil
    }

    public func claim(worker: String, limit: Int, lease: Duration) async throws -> [LoginEvent] {
        guard limit > 0 else { return [] }
        // next_attempt_at is the due time of both kinds of claimable rows (a processing row's is its lease end), so the
        // claim walks one ordered partial index: O(log n) however large the backlog (sql/0002).
        let rows = try await client.query(
            """
            WITH due AS (
                SELECT id FROM login_events
                WHERE status IN ('pending', 'processing') AND next_attempt_at <= now()
                ORDER BY next_attempt_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE login_events AS e
            SET status = 'processing', lease_owner = \(worker), lease_expires_at = now() + \(lease.seconds) * interval '1 second',
                next_attempt_at = now() + \(lease.seconds) * interval '1 second', attempts = e.attempts + 1, updated_at = now()
            FROM due WHERE e.id = due.id
            RETURNING \(unescaped: Self.qualifiedEventColumns)
            """, logger: logger)
        var events: [LoginEvent] = []
        for try await row in rows { events.append(try Self.decodeEvent(row)) }
        return events.sorted { $0.createdAt < $1.createdAt }
    }

    public func renewLeases(ids: [UUID], worker: String, lease: Duration) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        let rows = try await client.query(
            """
            UPDATE login_events
            SET lease_expires_at = now() + \(lease.seconds) * interval '1 second',
                next_attempt_at = now() + \(lease.seconds) * interval '1 second', updated_at = now()
            WHERE id = ANY(\(ids)::uuid[]) AND status = 'processing' AND lease_owner = \(worker)
            RETURNING id
            """, logger: logger)
        var held: Set<UUID> = []
        for try await id in rows.decode(UUID.self) { held.insert(id) }
        return held
    }

    public func finish(_ outcomes: [EventOutcome], worker: String) async throws -> [Bool] {
        guard !outcomes.isEmpty else { return [] }
        // Sealing happens before the transaction: no CPU-bound work while row locks are held.
        let sealed: [SealedSession?] = try outcomes.map { outcome in
            if case .stored(_, let session) = outcome { try seal(session) } else { nil }
        }
        return try await inTransaction { connection in
            // In the order of the users' advisory locks, so two batches never wait on each other's locks.
            var results = [Bool](repeating: false, count: outcomes.count)
            for index in Self.lockOrder(outcomes) {
                results[index] = try await Self.finish(outcomes[index], sealed: sealed[index], worker: worker, on: connection, store: self)
            }
            return results
        }
    }

    /// The indices of `outcomes` with the stored ones first, sorted by the user whose advisory lock they take.
    static func lockOrder(_ outcomes: [EventOutcome]) -> [Int] {
        outcomes.indices.sorted { left, right in
            switch (outcomes[left], outcomes[right]) {
            case (.stored(_, let a), .stored(_, let b)): (a.site, a.uid, left) < (b.site, b.uid, right)
            case (.stored, _): true
            case (_, .stored): false
            default: left < right
            }
        }
    }

    /// Records one outcome on `connection`; false (nothing written) when `worker` no longer holds the event's lease.
    private static func finish(
        _ outcome: EventOutcome, sealed: SealedSession?, worker: String, on connection: PostgresConnection, store: PostgresVaultStore
    ) async throws -> Bool {
        let logger = store.logger
        let marked: [PostgresRow]
        switch outcome {
        case .stored(let id, let session):
            try await store.lockUser(site: session.site, uid: session.uid, on: connection)
            // The event row is locked first; a worker whose lease was taken over finds another owner and writes nothing.
            // An event created before a delete of its user and provider (a tombstone) writes nothing either.
            marked = try await connection.query(
                """
                WITH marked AS (
                    UPDATE login_events AS e
                    SET status = 'stored', lease_owner = NULL, lease_expires_at = NULL, completed_at = now(), updated_at = now(),
                        last_error_code = NULL, last_error_message = NULL
                    WHERE e.id = \(id) AND e.status = 'processing' AND e.lease_owner = \(worker)
                      -- An event moved to another UID while in flight (a link, a rename, a merge) is fetched again there.
                      AND e.uid = \(session.uid)
                      AND NOT EXISTS (
                          SELECT 1 FROM session_tombstones t
                          WHERE t.site = e.site AND t.uid = e.uid AND t.provider IN (e.provider, '*') AND t.deleted_at >= e.created_at
                      )
                    RETURNING e.id
                )
                SELECT id, pg_notify(\(Self.finishedChannel), id::text) FROM marked
                """, logger: logger
            ).collect()
            if !marked.isEmpty, let sealed { try await store.upsertSealed(sealed, eventID: id, on: connection) }
        case .failed(let id, let code, let message):
            marked = try await connection.query(
                """
                WITH marked AS (
                    UPDATE login_events
                    SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, completed_at = now(), updated_at = now(),
                        last_error_code = \(code), last_error_message = \(Self.clip(message))
                    WHERE id = \(id) AND status = 'processing' AND lease_owner = \(worker)
                    RETURNING id
                )
                SELECT id, pg_notify(\(Self.finishedChannel), id::text) FROM marked
                """, logger: logger
            ).collect()
        case .retry(let id, let delay, let code, let message):
            marked = try await connection.query(
                """
                UPDATE login_events
                SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                    next_attempt_at = now() + \(delay.seconds) * interval '1 second',
                    last_error_code = \(code), last_error_message = \(Self.clip(message))
                WHERE id = \(id) AND status = 'processing' AND lease_owner = \(worker)
                RETURNING id
                """, logger: logger
            ).collect()
        }
        return !marked.isEmpty
    }

    public func complete(id: UUID, worker: String, session: SessionRecord) async throws -> Bool {
        try await finish([.stored(id: id, session: session)], worker: worker)[0]
    }

    public func fail(id: UUID, worker: String, code: Int?, message: String) async throws -> Bool {
        try await finish([.failed(id: id, code: code, message: message)], worker: worker)[0]
    }

    public func retryLater(id: UUID, worker: String, delay: Duration, code: Int?, message: String) async throws -> Bool {
        try await finish([.retry(id: id, delay: delay, code: code, message: message)], worker: worker)[0]
    }

    public func stats() async throws -> InboxStats {
        // Each count walks a partial index: the backlog (claim index) and the failed events kept for the retention
        // period; the stored history is never scanned.
        let rows = try await client.query(
            """
            SELECT (SELECT count(*) FROM login_events WHERE status = 'pending'),
                   (SELECT count(*) FROM login_events WHERE status = 'processing'),
                   (SELECT count(*) FROM login_events WHERE status = 'failed'),
                   (SELECT EXTRACT(EPOCH FROM now() - min(created_at))::float8 FROM login_events WHERE status = 'pending')
            """, logger: logger)
        for try await (pending, processing, failed, age) in rows.decode((Int, Int, Int, Double?).self) {
            return InboxStats(pending: pending, processing: processing, failed: failed, oldestPendingAge: age.map { max(0, $0) })
        }
        return InboxStats(pending: 0, processing: 0, failed: 0, oldestPendingAge: nil)
    }

    /// The PostgreSQL channel on which every stored or failed event's id is announced when its transaction commits.
    static let finishedChannel = "vault_event_finished"

    public func listenForFinishedEvents(_ onEvent: @escaping @Sendable (UUID) -> Void) async throws {
        try await client.withConnection { connection in
            for try await notification in try await connection.listen(Self.finishedChannel) {
                if let id = UUID(uuidString: notification.payload) { onEvent(id) }
            }
        }
    }

    public func purgeFinishedEvents(before: Date, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let rows = try await client.query(
            """
            WITH old AS (
                SELECT id FROM login_events
                WHERE status IN ('stored', 'failed', 'cancelled') AND completed_at < \(before)
                ORDER BY completed_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            ), purged AS (
                DELETE FROM login_events AS e USING old WHERE e.id = old.id RETURNING 1
            )
            SELECT count(*) FROM purged
            """, logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    public func purgeExpiredReplayKeys(before: Date) async throws -> Int {
        let rows = try await client.query(
            "WITH purged AS (DELETE FROM replay_keys WHERE expires_at < \(before) RETURNING 1) SELECT count(*) FROM purged", logger: logger)
        var purged = 0
        for try await count in rows.decode(Int.self) { purged = count }
        try await client.query("DELETE FROM login_result_budget WHERE expires_at < \(before)", logger: logger)
        return purged
    }

    /// Error messages come from Gigya and transports; bounded so a hostile upstream cannot bloat rows.
    static func clip(_ message: String) -> String {
        message.count <= 1000 ? message : String(message.prefix(1000))
    }
}
