import Foundation
import GigyaEmulator
import GigyaKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import Testing
import VaultCore
import VaultServer
import VaultStore

@Suite("Login callbacks")
struct LoginCallbackTests {
    @Test("a login result is accepted, fetched from Gigya, sealed and served back equal to the emulator's plaintext")
    func happyPathEndToEnd() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login(provider: "facebook")
            let reader = try await harness.accessKey([.sessionsRead, .eventsRead])
            try await harness.application().test(.router) { client in
                let eventID = try await client.execute(
                    uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody
                ) { response in
                    #expect(response.status == .accepted)
                    let json = try jsonObject(response.body)
                    #expect(json["status"] as? String == "pending")
                    return try #require(json["eventId"] as? String)
                }
                try await harness.drain()
                try await client.execute(uri: "/v1/login-callbacks/\(eventID)", method: .get, headers: [.authorization: "Bearer \(reader)"]) { response in
                    #expect(response.status == .ok)
                    #expect(jsonString(response.body, "status") == "stored")
                }
                let truth = try await harness.emulatorSession(uid: login.uid, provider: "facebook")
                try await client.execute(
                    uri: "/v1/users/\(login.uid)/sessions/facebook", method: .get, headers: [.authorization: "Bearer \(reader)"]
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.cacheControl] == "no-store")
                    let json = try jsonObject(response.body)
                    #expect(json["authToken"] as? String == truth.authToken)
                    #expect(json["tokenSecret"] as? String == truth.tokenSecret)
                    #expect(json["sessionHandle"] as? String == truth.sessionHandle)
                    #expect(!truth.tokenSecret.isEmpty)
                }
            }
            #expect(try await harness.count("provider_sessions") == 1)
            let audit = try await harness.store.recentAudit(limit: 10)
            #expect(audit.contains { $0.action == "session.read" && $0.uid == login.uid && $0.provider == "facebook" })
        }
    }

    @Test("a form-encoded login result is accepted like a JSON one")
    func formEncodedBody() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login(provider: "google")
            var form = URLComponents()
            form.queryItems = [
                .init(name: "UID", value: login.uid), .init(name: "UIDSignature", value: login.uidSignature),
                .init(name: "signatureTimestamp", value: login.signatureTimestamp), .init(name: "loginProvider", value: "google"),
            ]
            // URLComponents leaves '+' and '/' alone in queries; a form body must escape '+' or it reads as a space.
            let body = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            try await harness.application().test(.router) { client in
                try await client.execute(
                    uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .accepted)
                }
            }
            #expect(try await harness.count("login_events") == 1)
        }
    }

    /// One malformed or unverifiable callback and the answer it must get.
    struct Rejection: Sendable, CustomTestStringConvertible {
        let name: String
        let contentType: String
        let mutate: @Sendable (inout [String: String]) -> Void
        let raw: String?
        let status: HTTPResponse.Status
        let code: String

        var testDescription: String { name }

        init(
            _ name: String, contentType: String = "application/json", raw: String? = nil, status: HTTPResponse.Status, code: String,
            mutate: @escaping @Sendable (inout [String: String]) -> Void = { _ in }
        ) {
            self.name = name
            self.contentType = contentType
            self.raw = raw
            self.status = status
            self.code = code
            self.mutate = mutate
        }
    }

    static let rejections: [Rejection] = [
        Rejection("tampered signature", status: .unauthorized, code: "signature_mismatch") { fields in
            let signature = fields["UIDSignature"] ?? ""
            fields["UIDSignature"] = (signature.first == "A" ? "B" : "A") + signature.dropFirst()
        },
        Rejection("signature of another user", status: .unauthorized, code: "signature_mismatch") { $0["UID"] = "someone-else" },
        Rejection("missing UID", status: .badRequest, code: "missing_field") { $0["UID"] = nil },
        Rejection("missing signature", status: .badRequest, code: "missing_field") { $0["UIDSignature"] = nil },
        Rejection("missing provider", status: .badRequest, code: "missing_field") { $0["provider"] = nil },
        Rejection("timestamp not a number", status: .badRequest, code: "malformed_input") { $0["signatureTimestamp"] = "yesterday" },
        Rejection("signature not base64", status: .badRequest, code: "malformed_input") { $0["UIDSignature"] = "not*base64" },
        Rejection("provider with odd characters", status: .badRequest, code: "invalid_field") { $0["provider"] = "face book" },
        Rejection("unknown site", status: .badRequest, code: "unknown_site") { $0["apiKey"] = "3_NOT_CONFIGURED" },
        Rejection("not a JSON object", raw: "[1,2,3]", status: .badRequest, code: "malformed_body"),
        Rejection("broken JSON", raw: "{\"UID\":", status: .badRequest, code: "malformed_body"),
        Rejection("UID of the wrong type", raw: "{\"UID\":[1]}", status: .badRequest, code: "invalid_field"),
        Rejection("form body that is not UTF-8", contentType: "application/x-www-form-urlencoded", raw: "UID=%FF%FE", status: .badRequest, code: "malformed_body"),
        Rejection("plain text body", contentType: "text/plain", raw: "hello", status: .unsupportedMediaType, code: "unsupported_media_type"),
        Rejection("oversized body", raw: "{\"UID\":\"" + String(repeating: "x", count: 20_000) + "\"}", status: .contentTooLarge, code: "payload_too_large"),
    ]

    @Test("a bad callback gets a clear 4xx with a machine-readable code and nothing is stored", arguments: rejections)
    func rejectedCallbacksStoreNothing(_ rejection: Rejection) async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            var fields = ["UID": login.uid, "UIDSignature": login.uidSignature, "signatureTimestamp": login.signatureTimestamp, "provider": "facebook"]
            rejection.mutate(&fields)
            let body = try rejection.raw.map { ByteBuffer(string: $0) } ?? ByteBuffer(bytes: JSONSerialization.data(withJSONObject: fields))
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: rejection.contentType], body: body) { response in
                    #expect(response.status == rejection.status)
                    let error = try #require(try jsonObject(response.body)["error"] as? [String: Any])
                    #expect(error["code"] as? String == rejection.code)
                    // Nothing secret is echoed back.
                    #expect(!String(buffer: response.body).contains(login.uidSignature))
                }
            }
            #expect(try await harness.count("login_events") == 0)
            #expect(try await harness.count("replay_keys") == 0)
        }
    }

    @Test("a login result signed too long ago is refused as out of window, naming the skew")
    func staleTimestamp() async throws {
        try await VaultHarness.with { harness in
            // The emulator signs with its own clock; set it 20 minutes back to get a genuine but stale login result.
            harness.emulatorClock.set(Int64(Date().timeIntervalSince1970) - 1200)
            let login = try await harness.login()
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody) { response in
                    #expect(response.status == .unauthorized)
                    let error = try #require(try jsonObject(response.body)["error"] as? [String: Any])
                    #expect(error["code"] as? String == "timestamp_out_of_window")
                    #expect((error["message"] as? String)?.contains("old") == true)
                }
            }
            #expect(try await harness.count("login_events") == 0)
        }
    }

    @Test("one user logging in with two providers in the same second gets both sessions stored")
    func sameSecondTwoProviders() async throws {
        try await VaultHarness.with { harness in
            let facebook = try await harness.login(uid: "busy-user", provider: "facebook")
            let google = try await harness.login(uid: "busy-user", provider: "google")
            // Gigya signs only timestamp_UID, so the two login results carry the same signature.
            #expect(facebook.uidSignature == google.uidSignature)
            let first = try await harness.vault.intake.accept(facebook)
            let second = try await harness.vault.intake.accept(google)
            #expect(first.eventID != second.eventID && !second.duplicate)
            try await harness.drain()
            #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: "busy-user").map(\.provider).sorted() == ["facebook", "google"])
        }
    }

    @Test("the same login result posted twice gets the same event id and is processed once")
    func duplicatesAreProcessedOnce() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            try await harness.application().test(.router) { client in
                let first = try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody) {
                    #expect($0.status == .accepted)
                    return jsonString($0.body, "eventId")
                }
                let second = try await client.execute(uri: "/v1/login-callbacks", method: .post, headers: [.contentType: "application/json"], body: login.jsonBody) {
                    #expect($0.status == .ok)
                    let json = try jsonObject($0.body)
                    #expect(json["duplicate"] as? Bool == true)
                    return json["eventId"] as? String
                }
                #expect(first != nil && first == second)
            }
            try await harness.drain()
            #expect(try await harness.count("login_events") == 1)
            #expect(try await harness.count("provider_sessions") == 1)
        }
    }

    @Test("a provider is one provider however it is spelled: a re-cased login result is the same event, and paths are lower-cased")
    func providersAreLowerCased() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login(provider: "facebook")
            let first = try await harness.vault.intake.accept(login)
            for spelling in ["Facebook", "FACEBOOK", "faceBook"] {
                var respelled = login
                respelled.provider = spelling
                let again = try await harness.vault.intake.accept(respelled)
                #expect(again.duplicate && again.eventID == first.eventID, "\(spelling) made a new event")
            }
            try await harness.drain()
            #expect(try await harness.count("login_events") == 1)
            #expect(try await harness.store.metadata(site: harness.site.apiKey, uid: login.uid).map(\.provider) == ["facebook"])
            let reader = try await harness.accessKey([.sessionsRead])
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/v1/users/\(login.uid)/sessions/FaceBook", method: .get, headers: [.authorization: "Bearer \(reader)"]) {
                    #expect($0.status == .ok)
                    #expect(jsonString($0.body, "provider") == "facebook")
                }
            }
        }
    }

    @Test("concurrent callbacks are group-committed and every one is acknowledged with its own event")
    func concurrentCallbacksGroupCommit() async throws {
        try await VaultHarness.with { harness in
            var logins: [LoginResult] = []
            for index in 0..<40 { logins.append(try await harness.login(uid: "bulk-user-\(index)")) }
            let receipts = try await withThrowingTaskGroup(of: IntakeReceipt.self) { group in
                for login in logins { group.addTask { try await harness.vault.intake.accept(login) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(receipts.map(\.eventID)).count == 40)
            #expect(receipts.allSatisfy { !$0.duplicate })
            #expect(try await harness.count("login_events") == 40)
            // The batch-size histogram counts transactions and sums callbacks: fewer transactions than callbacks means
            // callbacks shared commits.
            let exposition = harness.vault.registry.emitToString()
            let transactions = try #require(Self.sample("vault_intake_batch_size_count", in: exposition))
            #expect(Self.sample("vault_intake_batch_size_sum", in: exposition) == 40)
            #expect(transactions < 40)
        }
    }

    /// The value of an unlabelled sample in a Prometheus text exposition.
    static func sample(_ name: String, in exposition: String) -> Double? {
        exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }

    @Test("Prefer: wait returns the outcome once the worker has stored the session")
    func preferWaitReturnsOutcome() async throws {
        try await VaultHarness.with { harness in
            let login = try await harness.login()
            let worker = harness.worker()
            let working = Task {
                while !Task.isCancelled {
                    if await worker.runOnce(workerID: "waiting-test") == 0 { try? await Task.sleep(for: .milliseconds(20)) }
                }
            }
            defer { working.cancel() }
            try await harness.application().test(.router) { client in
                try await client.execute(
                    uri: "/v1/login-callbacks", method: .post,
                    headers: [.contentType: "application/json", .prefer: "wait=10"], body: login.jsonBody
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.preferenceApplied] == "wait=10")
                    #expect(jsonString(response.body, "status") == "stored")
                }
            }
        }
    }

    @Test("browsers from a configured origin get CORS headers; other origins do not")
    func corsForConfiguredOrigins() async throws {
        try await VaultHarness.with { harness in
            try await harness.application().test(.router) { client in
                try await client.execute(
                    uri: "/v1/login-callbacks", method: .options,
                    headers: [.origin: "https://app.example", .accessControlRequestMethod: "POST"]
                ) { response in
                    #expect(response.status == .noContent)
                    #expect(response.headers[.accessControlAllowOrigin] == "https://app.example")
                }
                // A refusal is readable by the page too: the same headers on a 400 from the domain.
                try await client.execute(
                    uri: "/v1/login-callbacks", method: .post,
                    headers: [.origin: "https://app.example", .contentType: "application/json"], body: ByteBuffer(string: "{}")
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.headers[.accessControlAllowOrigin] == "https://app.example")
                    #expect(String(buffer: response.body).contains("\"missing_field\""))
                }
                try await client.execute(
                    uri: "/v1/login-callbacks", method: .post,
                    headers: [.origin: "https://evil.example", .contentType: "application/json"], body: ByteBuffer(string: "{}")
                ) { response in
                    #expect(response.headers[.accessControlAllowOrigin] == nil)
                }
            }
        }
    }
}
