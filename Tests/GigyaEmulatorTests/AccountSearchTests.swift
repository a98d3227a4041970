import Foundation
import GigyaEmulator
import GigyaKit
import NIOHTTP1
import Testing

/// accounts.search (docs/gigya-protocol.md §13): the supported queries, cursors, limits and refusals.
@Suite struct AccountSearchTests {
    /// A signed accounts.search call.
    private func search(_ emulator: RunningEmulator, _ params: [String: String], at timestamp: Int64 = 1_700_000_000) async throws -> HTTPAnswer {
        try await signedCall(emulator, "accounts.search", params, timestamp: timestamp)
    }

    /// The `UID`s of an answer's results, in order.
    private func uids(_ answer: HTTPAnswer) -> [String] {
        (answer.json["results"] as? [[String: Any]] ?? []).compactMap { $0["UID"] as? String }
    }

    @Test func aCursorPagesThroughEveryLiveAccountOnce() async throws {
        try await withEmulator { emulator in
            let created = try await emulator.control.createUsers((0..<2_500).map { EmulatorNewUser(uid: String(format: "s-%05d", $0), provider: "google") })
            try await emulator.control.deleteUser(uid: "s-00000")
            try await emulator.control.mergeUser(uid: "s-00001", into: "s-00002")

            var page = try await search(emulator, ["query": "SELECT UID FROM accounts LIMIT 1000", "openCursor": "true"])
            var seen: [String] = []
            var sizes: [Int] = []
            while true {
                #expect(page.errorCode == 0, "\(page.json)")
                #expect(page.json["totalCount"] as? Int == 2_498)
                sizes.append(try #require(page.json["objectsCount"] as? Int))
                seen += uids(page)
                guard let cursor = page.json["nextCursorId"] as? String else {
                    break
                }
                try #require(sizes.count < 5)
                page = try await search(emulator, ["cursorId": cursor])
            }
            #expect(sizes == [1000, 1000, 498])
            #expect(seen.count == 2_498)
            #expect(Set(seen) == Set(created.map(\.UID)).subtracting(["s-00000", "s-00001"]))
            // Accounts made in one second are ordered by Gigya UID: the order is stable.
            #expect(seen == seen.sorted())

            let unpaged = try await search(emulator, ["query": "select UID from accounts"])
            #expect(unpaged.json["objectsCount"] as? Int == 300)
            #expect(unpaged.json["totalCount"] as? Int == 2_498)
            #expect(unpaged.json["nextCursorId"] == nil)
            #expect(uids(unpaged) == Array(seen.prefix(300)))
        }
    }

    @Test func aCursorUnusedForFiveMinutesExpiresAndAFinishedOneIsGone() async throws {
        let clock = ManualWallClock(1_700_000_000)
        try await withEmulator(clock: clock) { emulator in
            try await emulator.control.createUsers((0..<4).map { EmulatorNewUser(uid: "e-\($0)", provider: "google") })
            let first = try await search(emulator, ["query": "SELECT UID FROM accounts LIMIT 1", "openCursor": "true"])
            let cursor = try #require(first.json["nextCursorId"] as? String)
            clock.advance(by: 300)
            let second = try await search(emulator, ["cursorId": cursor], at: clock.now())
            #expect(uids(second) == ["e-1"], "\(second.json)")
            let next = try #require(second.json["nextCursorId"] as? String)
            clock.advance(by: 301)
            let expired = try await search(emulator, ["cursorId": next], at: clock.now())
            #expect(expired.errorCode == 400_006)
            #expect((expired.json["errorDetails"] as? String)?.contains("expired") == true, "\(expired.json)")
            let reused = try await search(emulator, ["cursorId": cursor], at: clock.now())
            #expect(reused.errorCode == 400_006)
        }
    }

    @Test(arguments: [
        "SELECT UID FROM accounts LIMIT 1001",
        "SELECT count(*) FROM accounts",
        "SELECT UID FROM emails",
        "SELECT UID FROM accounts ORDER BY created",
        "SELECT UID FROM accounts WHERE profile.email = 'x'",
        "SELECT UID FROM accounts WHERE UID = \"unterminated",
        "SELECT UID FROM accounts START 5",
        "SELECT password FROM accounts",
    ])
    func unsupportedQueriesAndLargeCursorPagesAreRefused(query: String) async throws {
        try await withEmulator { emulator in
            let answer = try await search(emulator, ["query": query, "openCursor": "true"])
            #expect(answer.errorCode == 400_006, "\(answer.json)")
            let details = answer.json["errorDetails"] as? String ?? ""
            #expect(details.contains("supports") || details.contains("LIMIT"), "\(details)")
        }
    }

    @Test func searchNeedsAQueryOrACursorButNotBoth() async throws {
        try await withEmulator { emulator in
            #expect(try await search(emulator, [:]).errorCode == 400_002)
            #expect(try await search(emulator, ["cursorId": "nope"]).errorCode == 400_006)
            #expect(try await search(emulator, ["cursorId": "nope", "query": "SELECT UID FROM accounts"]).errorCode == 400_006)
            #expect(try await search(emulator, ["query": "SELECT UID FROM accounts LIMIT 1000", "openCursor": "true"]).errorCode == 0)
            let unsigned = try await send(.POST, emulator.baseURL + "/accounts.search", body: "apiKey=3_TESTAPIKEY&query=SELECT%20UID%20FROM%20accounts")
            #expect(unsigned.errorCode == 400_002)
        }
    }

    @Test func identityConditionsHoldForOneAndTheSameIdentity() async throws {
        try await withEmulator { emulator in
            let created = try await emulator.control.createUsers([
                EmulatorNewUser(uid: "i-a", provider: "google", providers: ["facebook"]),
                EmulatorNewUser(uid: "i-b", provider: "google"),
                EmulatorNewUser(uid: "i-c", provider: "facebook", email: "c@example.com"),
            ])
            let aGoogle = try #require(created[0].sessions["google"]?.providerUID)
            let both = try await search(emulator, [
                "query": "SELECT UID, identities.provider, identities.providerUID FROM accounts WHERE identities.provider = \"google\" AND identities.providerUID = \"\(aGoogle)\"",
            ])
            #expect(uids(both) == ["i-a"], "\(both.json)")
            let result = try #require((both.json["results"] as? [[String: Any]])?.first)
            #expect(result["isSiteUID"] as? Bool == false)
            let identities = try #require(result["identities"] as? [[String: String]])
            #expect(identities.contains(["provider": "google", "providerUID": aGoogle]))
            #expect(identities.count == 2)

            let crossed = try await search(emulator, [
                "query": "SELECT UID FROM accounts WHERE identities.provider = 'facebook' AND identities.providerUID = '\(aGoogle)'",
            ])
            #expect(crossed.json["totalCount"] as? Int == 0)
            let google = try await search(emulator, ["query": "select UID from accounts where identities.provider = 'google'"])
            #expect(uids(google) == ["i-a", "i-b"])
            let listed = try await search(emulator, ["query": "SELECT UID FROM accounts WHERE UID IN ('i-a', \"i-c\", 'nobody')"])
            #expect(uids(listed) == ["i-a", "i-c"])

            try await emulator.control.renameUser(uid: "i-b", to: "site-b")
            let renamed = try await search(emulator, ["query": "SELECT UID FROM accounts WHERE UID = 'site-b'"])
            #expect(uids(renamed) == ["site-b"])
            #expect((renamed.json["results"] as? [[String: Any]])?.first?["isSiteUID"] as? Bool == true)

            let everything = try await search(emulator, ["query": "SELECT * FROM accounts WHERE UID = 'i-c'"])
            let account = try #require((everything.json["results"] as? [[String: Any]])?.first)
            #expect(Set(account.keys).isSuperset(of: [
                "UID", "isSiteUID", "identities", "isRegistered", "created", "createdTimestamp", "lastLogin", "lastLoginTimestamp", "profile", "data",
            ]))
            #expect((account["profile"] as? [String: Any])?["email"] as? String == "c@example.com")
            #expect(account["createdTimestamp"] as? Int == 1_700_000_000_000)
        }
    }
}
