import Foundation
import PostgresNIO

/// Provider names in one spelling (lower case, as intake and the routes now write them) for rows stored before.
extension PostgresVaultStore {
    /// Moves every session stored under a provider name that is not lower case to the lower-case name, re-sealed (the
    /// name is part of each token's associated data, so SQL alone cannot rename it). Where the user also has the
    /// lower-case spelling, the more recent fetch is kept. A row that does not open is left as it is and reported.
    /// Cheap when there is nothing to do: the partial index `provider_sessions_unnormalized_idx` holds only such rows.
    public func normalizeProviderNames(batchSize: Int = 500) async throws -> (moved: Int, unopenable: [SessionRecordKey]) {
        var moved = 0
        var unopenable: [SessionRecordKey] = []
        var after = SessionRecordKey(site: "", uid: "", provider: "")
        while true {
            let (read, last, failed, count) = try await inTransaction { connection in
                let rows = try await connection.query(
                    """
                    SELECT site, uid, provider, provider_uid, key_id, auth_token, token_secret, session_handle, token_expiration,
                           session_expiration, fetched_at, event_id
                    FROM provider_sessions
                    WHERE provider <> lower(provider) AND (site, uid, provider) > (\(after.site), \(after.uid), \(after.provider))
                    ORDER BY site, uid, provider LIMIT \(batchSize)
                    """, logger: logger)
                var stored: [(SealedSession, UUID?)] = []
                for try await (site, uid, provider, providerUID, keyID, authToken, tokenSecret, sessionHandle, tokenExpiration, sessionExpiration, fetchedAt, eventID)
                    in rows.decode((String, String, String, String?, String, Data?, Data?, Data?, String?, String?, Date, UUID?).self)
                {
                    stored.append((SealedSession(
                        record: SessionRecordKey(site: site, uid: uid, provider: provider), providerUID: providerUID, keyID: keyID,
                        authToken: authToken, tokenSecret: tokenSecret, sessionHandle: sessionHandle, tokenExpiration: tokenExpiration,
                        sessionExpiration: sessionExpiration, fetchedAt: fetchedAt), eventID))
                }
                var failed: [SessionRecordKey] = []
                var count = 0
                for (session, eventID) in stored {
                    let old = session.record
                    let new = SessionRecordKey(site: old.site, uid: old.uid, provider: old.provider.lowercased())
                    guard let resealed = try? session.resealed(as: new, ring: keyRing) else {
                        failed.append(old)
                        continue
                    }
                    try await lockUser(site: old.site, uid: old.uid, on: connection)
                    try await connection.query(
                        "DELETE FROM provider_sessions WHERE site = \(old.site) AND uid = \(old.uid) AND provider = \(old.provider)", logger: logger)
                    try await upsertSealed(resealed, eventID: eventID, on: connection)
                    count += 1
                }
                return (stored.count, stored.last?.0.record, failed, count)
            }
            moved += count
            unopenable += failed
            guard read == batchSize, let last else { break }
            after = last
        }
        if moved > 0 { logger.notice("moved sessions to lower-case provider names", metadata: ["rows": "\(moved)"]) }
        for key in unopenable {
            logger.error("a session under a provider name not in lower case does not open; left as it is", metadata: ["row": "\(key)"])
        }
        return (moved, unopenable)
    }
}
