import Foundation
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing
import VaultCore
import VaultServer
import VaultStore
import VaultTesting

/// One hostile request of `Fixtures/hostile-requests.json`; `{{NAME}}` placeholders are filled in per run.
private struct HostileRequest: Decodable {
    let method: String
    let path: String
    let headers: [String: String]
    let body: String?
    let bodyBase64: String?
    let note: String
}

/// Every table's row count and a digest of its rows, to prove that a run of refused requests changed nothing.
struct DatabaseSnapshot: Equatable, CustomStringConvertible {
    var tables: [String: String]

    /// Reads every table of the public schema; `audit_log` is compared up to `auditUpTo` (reads that found nothing are
    /// audited by design, so it may only grow).
    static func take(_ client: PostgresClient, auditUpTo: Int64) async throws -> DatabaseSnapshot {
        var names: [String] = []
        for try await name in try await client.query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        ).decode(String.self) {
            names.append(name)
        }
        var tables: [String: String] = [:]
        for name in names {
            let filter = name == "audit_log" ? " WHERE id <= \(auditUpTo)" : ""
            // Table names come from the catalogue, not from input.
            let query = PostgresQuery(unsafeSQL: "SELECT count(*)::int8, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \"\(name)\" t\(filter)")
            for try await (count, digest) in try await client.query(query).decode((Int64, String).self) {
                tables[name] = "\(count) \(digest)"
            }
        }
        return DatabaseSnapshot(tables: tables)
    }

    static func maxAuditID(_ client: PostgresClient) async throws -> Int64 {
        for try await id in try await client.query("SELECT coalesce(max(id), 0)::int8 FROM audit_log").decode(Int64.self) { return id }
        return 0
    }

    var description: String { tables.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n") }
}

@Suite("Hostile input (issue 9)")
struct HostileCorpusTests {
    /// A world with one stored session and the keys the corpus names, and the placeholder values for it.
    private func prepare(_ harness: VaultHarness) async throws -> [String: String] {
        let stored = try await harness.login()
        let receipt = try await harness.vault.intake.accept(stored)
        try await harness.drain()
        // A second, fresh login result that is never accepted: its signature is valid, so mutations of it test the checks.
        let fresh = try await harness.login(uid: stored.uid)
        let admin = try await harness.accessKey([.admin])
        let metadata = try await harness.accessKey([.sessionsMetadata])
        let foreign = try await harness.accessKey([.admin], sites: .only(["3_OTHER"]))
        // Each key is used once now, so `last_used_at` is not touched again during the run.
        for key in [admin, metadata, foreign] { _ = try await harness.store.authenticate(key) }
        let timestamp = Int64(fresh.signatureTimestamp) ?? 0
        return [
            "UID": fresh.uid, "SIG": fresh.uidSignature, "TS": fresh.signatureTimestamp, "SITE": harness.site.apiKey,
            "TS_OLD": String(timestamp - 3600), "TS_FUTURE": String(timestamp + 3600), "KEY": admin, "METADATA_KEY": metadata,
            "FOREIGN_KEY": foreign, "EVENT": receipt.eventID.uuidString.lowercased(), "UNKNOWN_EVENT": UUID().uuidString.lowercased(),
        ]
    }

    private static func fill(_ text: String, _ values: [String: String]) -> String {
        values.reduce(text) { $0.replacingOccurrences(of: "{{\($1.key)}}", with: $1.value) }
    }

    /// Sends one request with a deadline; returns its status and `error.code`, or records a hang.
    private static func send(
        _ client: some TestClientProtocol, method: HTTPRequest.Method, path: String, headers: HTTPFields, body: ByteBuffer?
    ) async throws -> (status: HTTPResponse.Status, code: String?)? {
        try await withThrowingTaskGroup(of: (status: HTTPResponse.Status, code: String?)?.self) { group in
            group.addTask {
                try await client.execute(uri: path, method: method, headers: headers, body: body) { ($0.status, errorCode($0.body)) }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test("every request of the hostile corpus gets a 4xx with an error code, and the database is unchanged")
    func corpusIsRefusedAndChangesNothing() async throws {
        let url = try #require(Bundle.module.url(forResource: "hostile-requests", withExtension: "json", subdirectory: "Fixtures"))
        let corpus = try JSONDecoder().decode([HostileRequest].self, from: Data(contentsOf: url))
        #expect(corpus.count >= 200)
        try await VaultHarness.with { harness in
            let values = try await prepare(harness)
            let client = harness.database.client
            let auditBefore = try await DatabaseSnapshot.maxAuditID(client)
            let before = try await DatabaseSnapshot.take(client, auditUpTo: auditBefore)
            try await harness.application().test(.router) { router in
                for request in corpus {
                    var headers = HTTPFields()
                    for (name, value) in request.headers {
                        guard let field = HTTPField.Name(name) else { continue }
                        headers.append(HTTPField(name: field, value: Self.fill(value, values)))
                    }
                    let body: ByteBuffer? =
                        if let base64 = request.bodyBase64 { Data(base64Encoded: base64).map { ByteBuffer(bytes: $0) } }
                        else { request.body.map { ByteBuffer(string: Self.fill($0, values)) } }
                    let path = Self.fill(request.path, values)
                    let answer = try await Self.send(router, method: HTTPRequest.Method(request.method) ?? .get, path: path, headers: headers, body: body)
                    guard let answer else {
                        Issue.record("no answer within 10 s: \(request.method) \(request.path) (\(request.note))")
                        continue
                    }
                    #expect((400..<500).contains(answer.status.code), "\(request.method) \(request.path) (\(request.note)): \(answer.status.code)")
                    #expect(answer.code?.isEmpty == false, "\(request.method) \(request.path) (\(request.note)): no error code")
                }
            }
            let after = try await DatabaseSnapshot.take(client, auditUpTo: auditBefore)
            #expect(before == after)
            #expect(try await harness.count("login_events") == 1)
        }
    }

    @Test("a few hundred seeded random mutations of a valid callback are all refused with a 4xx and change nothing")
    func mutatedCallbacksAreRefused() async throws {
        try await VaultHarness.with { harness in
            let values = try await prepare(harness)
            let client = harness.database.client
            let auditBefore = try await DatabaseSnapshot.maxAuditID(client)
            let before = try await DatabaseSnapshot.take(client, auditUpTo: auditBefore)
            var random = SplitMix64(seed: 0x5EED_0009)
            let valid: [String: String] = [
                "UID": values["UID"]!, "UIDSignature": values["SIG"]!, "signatureTimestamp": values["TS"]!, "provider": "facebook",
                "apiKey": values["SITE"]!,
            ]
            // Made before the requests, so the seeded sequence does not depend on how the requests interleave.
            let mutations = (0..<300).map { _ in Self.mutate(valid, using: &random) }
            try await harness.application().test(.router) { router in
                for (round, (body, contentType, what)) in mutations.enumerated() {
                    let answer = try await Self.send(
                        router, method: .post, path: "/v1/login-callbacks", headers: [.contentType: contentType], body: ByteBuffer(bytes: body))
                    guard let answer else {
                        Issue.record("mutation \(round) (\(what)) got no answer within 10 s")
                        continue
                    }
                    #expect((400..<500).contains(answer.status.code), "mutation \(round) (\(what)): \(answer.status.code)")
                    #expect(answer.code?.isEmpty == false, "mutation \(round) (\(what)): no error code")
                }
            }
            #expect(try await DatabaseSnapshot.take(client, auditUpTo: auditBefore) == before)
        }
    }

    /// One mutation that is sure to break the callback: a signed field changed, a field dropped or mistyped, the body
    /// cut, or the wrong media type. The provider is never changed to another valid one (it is not signed).
    private static func mutate(_ valid: [String: String], using random: inout SplitMix64) -> (body: [UInt8], contentType: String, what: String) {
        var fields: [String: Any] = valid
        let json = { (object: [String: Any]) in Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()) }
        switch random.next() % 10 {
        case 0:
            let signature = Array(valid["UIDSignature"]!)
            let position = Int(random.next() % UInt64(max(1, signature.count - 4)))
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/").filter { $0 != signature[position] }
            var changed = signature
            changed[position] = alphabet[Int(random.next() % UInt64(alphabet.count))]
            fields["UIDSignature"] = String(changed)
            return (json(fields), "application/json", "signature character \(position)")
        case 1:
            let delta = Int64(random.next() % 1_000_000) + 1
            fields["signatureTimestamp"] = String((Int64(valid["signatureTimestamp"]!) ?? 0) + (random.next() % 2 == 0 ? delta : -delta))
            return (json(fields), "application/json", "timestamp moved")
        case 2:
            fields["UID"] = valid["UID"]! + String(UnicodeScalar(UInt8(0x61 + random.next() % 26)))
            return (json(fields), "application/json", "UID changed")
        case 3:
            let name = ["UID", "UIDSignature", "signatureTimestamp", "provider"][Int(random.next() % 4)]
            fields[name] = nil
            return (json(fields), "application/json", "\(name) dropped")
        case 4:
            let name = ["UID", "UIDSignature", "signatureTimestamp", "provider", "apiKey"][Int(random.next() % 5)]
            let replacements: [Any] = [[1, 2], ["a": "b"], true, 1.5, [String]()]
            fields[name] = replacements[Int(random.next() % UInt64(replacements.count))]
            return (json(fields), "application/json", "\(name) mistyped")
        case 5:
            let whole = json(fields)
            let cut = Int(random.next() % UInt64(whole.count - 1))
            return (Array(whole.prefix(cut)), "application/json", "cut at \(cut)")
        case 6:
            let bad = ["fb;x", "face book", "", "p\u{0}", String(repeating: "p", count: 65), "myspace", "saml-"][Int(random.next() % 7)]
            fields["provider"] = bad
            return (json(fields), "application/json", "provider \(bad.debugDescription)")
        case 7:
            let type = ["text/plain", "application/xml", "multipart/form-data", "application/octet-stream"][Int(random.next() % 4)]
            return (json(fields), type, "content type \(type)")
        case 8:
            fields["apiKey"] = "3_" + String(random.next() % 1_000_000)
            return (json(fields), "application/json", "unknown site")
        default:
            var uid = Array(valid["UID"]!.unicodeScalars)
            uid.insert(UnicodeScalar(UInt8(random.next() % 0x20)), at: Int(random.next() % UInt64(uid.count)))
            fields["UID"] = String(String.UnicodeScalarView(uid))
            return (json(fields), "application/json", "control character in UID")
        }
    }
}

/// A small seeded generator, so a failing mutation run can be replayed exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
