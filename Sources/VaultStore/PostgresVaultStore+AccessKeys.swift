import Crypto
import Foundation
import PostgresNIO

extension PostgresVaultStore {
    /// Columns of `api_keys` in the order `decodeKey` reads them (never the hash).
    static let keyColumns = "id, name, prefix, scopes, all_sites, sites, created_at, revoked_at, last_used_at"

    /// Reads a row selected with `keyColumns`.
    static func decodeKey(_ row: PostgresRow) throws -> AccessKeyRecord {
        let (id, name, prefix, scopes, allSites, sites, createdAt, revokedAt, lastUsedAt) = try row.decode(
            (UUID, String, String, [String], Bool, [String], Date, Date?, Date?).self)
        return AccessKeyRecord(
            id: id, name: name, prefix: prefix, scopes: scopes, sites: allSites ? .all : .only(sites), createdAt: createdAt, revokedAt: revokedAt,
            lastUsedAt: lastUsedAt)
    }

    /// Site API keys are printed in listings and parsed from comma-separated flags, so they stay simple.
    static func isValidSite(_ site: String) -> Bool {
        !site.isEmpty && site.utf8.count <= 128 && site.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && $0 != "," }
    }

    /// SHA-256 of the full presented key: the only thing stored, and the lookup key.
    static func keyHash(_ key: String) -> Data {
        Data(SHA256.hash(data: Data(key.utf8)))
    }

    /// `count` random bytes from the system CSPRNG.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Base64url without padding.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public func createKey(name: String, scopes: [String], sites: AccessKeySites) async throws -> (record: AccessKeyRecord, plaintext: String) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 100, trimmed == name else { throw AccessKeyError.invalidName(name) }
        let allSites: Bool
        let siteList: [String]
        switch sites {
        case .all:
            (allSites, siteList) = (true, [])
        case .only(let listed):
            guard !listed.isEmpty, listed.allSatisfy(Self.isValidSite) else { throw AccessKeyError.invalidSites }
            (allSites, siteList) = (false, listed)
        }
        // The prefix is public (shown in listings and logs) so a key can be recognised without revealing it.
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let prefix = String(Self.randomBytes(8).map { alphabet[Int($0) % alphabet.count] })
        let plaintext = "svk_\(prefix)_\(Self.base64URL(Self.randomBytes(32)))"
        let id = UUID()
        do {
            let rows = try await client.query(
                """
                INSERT INTO api_keys (id, name, prefix, key_hash, scopes, all_sites, sites)
                VALUES (\(id), \(name), \(prefix), \(Self.keyHash(plaintext)), \(scopes)::text[], \(allSites), \(siteList)::text[])
                RETURNING \(unescaped: Self.keyColumns)
                """, logger: logger)
            for try await row in rows { return (try Self.decodeKey(row), plaintext) }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw AccessKeyError.duplicateName(name)
        }
        throw VaultStoreError.invalidArgument("INSERT INTO api_keys returned no row")
    }

    public func authenticate(_ presented: String) async throws -> AccessKeyRecord? {
        // Keys we issue are about 60 characters; anything else is not ours and costs no query.
        guard presented.hasPrefix("svk_"), presented.utf8.count <= 128 else { return nil }
        // Lookup by hash: comparing the presented key itself never happens, so there is no timing signal about it.
        let rows = try await client.query(
            """
            WITH k AS (
                SELECT \(unescaped: Self.keyColumns) FROM api_keys WHERE key_hash = \(Self.keyHash(presented)) AND revoked_at IS NULL
            ), touched AS (
                UPDATE api_keys SET last_used_at = now()
                WHERE id IN (SELECT id FROM k) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
                RETURNING id, last_used_at
            )
            SELECT k.id, k.name, k.prefix, k.scopes, k.all_sites, k.sites, k.created_at, k.revoked_at,
                   COALESCE(touched.last_used_at, k.last_used_at)
            FROM k LEFT JOIN touched ON touched.id = k.id
            """, logger: logger)
        for try await row in rows { return try Self.decodeKey(row) }
        return nil
    }

    public func listKeys() async throws -> [AccessKeyRecord] {
        let rows = try await client.query("SELECT \(unescaped: Self.keyColumns) FROM api_keys ORDER BY created_at, name", logger: logger)
        var keys: [AccessKeyRecord] = []
        for try await row in rows { keys.append(try Self.decodeKey(row)) }
        return keys
    }

    public func revokeKey(nameOrID: String) async throws -> Bool {
        let id = UUID(uuidString: nameOrID)
        let rows = try await client.query(
            """
            UPDATE api_keys SET revoked_at = now()
            WHERE revoked_at IS NULL AND (name = \(nameOrID) OR id = \(id))
            RETURNING id
            """, logger: logger)
        return try await !rows.collect().isEmpty
    }
}
