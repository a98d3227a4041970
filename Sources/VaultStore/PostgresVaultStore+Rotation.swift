import Foundation
import PostgresNIO

extension PostgresVaultStore {
    public func rotateDataKeys(batchSize: Int) async throws -> RotationReport {
        try await rotateDataKeys(batchSize: batchSize, maxBatches: nil)
    }

    /// Re-seals rows not under the primary key, `batchSize` rows per transaction, stopping after `maxBatches` (nil: until done).
    /// Rows locked by another rotation are skipped (SKIP LOCKED), so two rotations share the work; re-running continues.
    /// A row that does not open under its key is left as it is and reported; the batches walk the table in key order, so
    /// it is passed over once, not re-read forever, and never stops the rest from being re-sealed.
    public func rotateDataKeys(batchSize: Int, maxBatches: Int?) async throws -> RotationReport {
        guard batchSize > 0 else { throw VaultStoreError.invalidArgument("batchSize must be positive") }
        let primary = keyRing.primaryID
        var total = 0
        var batches = 0
        var after = SessionRecordKey(site: "", uid: "", provider: "")
        var unopenable: [SessionRecordKey] = []
        while maxBatches.map({ batches < $0 }) ?? true {
            let (read, resealedCount, failed, last) = try await inTransaction { connection in
                let rows = try await connection.query(
                    """
                    SELECT site, uid, provider, key_id, auth_token, token_secret, session_handle
                    FROM provider_sessions WHERE key_id <> \(primary) AND key_id = ANY(\(keyRing.ids)::text[])
                      AND (site, uid, provider) > (\(after.site), \(after.uid), \(after.provider))
                    ORDER BY site, uid, provider
                    LIMIT \(batchSize)
                    FOR UPDATE SKIP LOCKED
                    """, logger: logger)
                var read = 0
                var last = after
                var resealed: [(SessionRecordKey, [SealedField: Data])] = []
                var failed: [SessionRecordKey] = []
                for try await (site, uid, provider, keyID, authToken, tokenSecret, sessionHandle) in rows.decode(
                    (String, String, String, String, Data?, Data?, Data?).self)
                {
                    let key = SessionRecordKey(site: site, uid: uid, provider: provider)
                    read += 1
                    last = key
                    do {
                        var fields: [SealedField: Data] = [:]
                        for (field, sealed) in [(SealedField.authToken, authToken), (.tokenSecret, tokenSecret), (.sessionHandle, sessionHandle)] {
                            guard let sealed else { continue }
                            let context = Self.context(key, field)
                            let plain = try keyRing.open(Array(sealed), keyID: keyID, context: context)
                            fields[field] = Data(try keyRing.seal(plain, context: context))
                        }
                        resealed.append((key, fields))
                    } catch {
                        failed.append(key)
                    }
                }
                for (key, fields) in resealed {
                    try await connection.query(
                        """
                        UPDATE provider_sessions
                        SET key_id = \(primary), auth_token = \(fields[.authToken]), token_secret = \(fields[.tokenSecret]),
                            session_handle = \(fields[.sessionHandle]), updated_at = now()
                        WHERE site = \(key.site) AND uid = \(key.uid) AND provider = \(key.provider)
                        """, logger: logger)
                }
                return (read, resealed.count, failed, last)
            }
            if read == 0 { break }
            after = last
            total += resealedCount
            batches += 1
            for key in failed {
                unopenable.append(key)
                logger.error("a stored session does not open under its data key; left as it is", metadata: ["row": "\(key)"])
            }
            if resealedCount > 0 {
                logger.info("re-sealed a batch under the primary data key", metadata: ["rows": "\(resealedCount)", "keyID": "\(primary)"])
            }
        }
        return RotationReport(rowsReencrypted: total, rowsPerKey: try await rowsPerKey(), unopenable: unopenable)
    }

    public func rowsPerKey() async throws -> [String: Int] {
        let rows = try await client.query("SELECT key_id, count(*) FROM provider_sessions GROUP BY key_id", logger: logger)
        var counts: [String: Int] = [:]
        for try await (keyID, count) in rows.decode((String, Int).self) { counts[keyID] = count }
        return counts
    }

    public func unknownKeyIDs() async throws -> [String] {
        let rows = try await client.query(
            "SELECT DISTINCT key_id FROM provider_sessions WHERE NOT (key_id = ANY(\(keyRing.ids)::text[])) ORDER BY key_id", logger: logger)
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }
}
