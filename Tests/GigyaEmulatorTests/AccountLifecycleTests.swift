import Foundation
import GigyaEmulator
import GigyaKit
import NIOHTTP1
import Testing

/// Renames, merges, deletions and bulk creation (docs/gigya-protocol.md §11), with their history and webhook events.
@Suite struct AccountLifecycleTests {
    /// Every event the delivery log holds, in order.
    private func loggedEvents(_ emulator: RunningEmulator) async throws -> [EmulatorWebhookEvent] {
        try await emulator.control.webhookDeliveries().flatMap(\.events)
    }

    @Test func setUIDRenamesOntoAFreeIDAndMergesOntoAnotherAccountsUID() async throws {
        try await withEmulator { emulator in
            let survivor = try await emulator.control.login(provider: "facebook")
            let other = try await emulator.control.login(provider: "google")
            _ = try await emulator.control.login(EmulatorLoginRequest(uid: other.UID, provider: "facebook"))
            let survivorFacebook = try await emulator.control.user(uid: survivor.UID).sessions["facebook"]
            let otherGoogle = try await emulator.control.user(uid: other.UID).sessions["google"]

            let renamed = try await signedCall(emulator, "socialize.setUID", ["UID": survivor.UID, "siteUID": "site-1"])
            #expect(renamed.errorCode == 0, "\(renamed.json)")
            let merged = try await signedCall(emulator, "socialize.setUID", ["UID": other.UID, "siteUID": "site-1"])
            #expect(merged.errorCode == 0, "\(merged.json)")

            let state = try await emulator.control.user(uid: "site-1")
            #expect(state.gigyaUID == survivor.UID)
            #expect(state.UID == "site-1")
            #expect(state.isLive)
            #expect(Set(state.sessions.keys) == ["facebook", "google"])
            // A provider both held keeps the survivor's session.
            #expect(state.sessions["facebook"] == survivorFacebook)
            #expect(state.sessions["google"] == otherGoogle)
            #expect(state.mergedFrom == [other.UID])
            #expect(state.history.map(\.type) == [.created, .renamed, .mergedFrom])
            #expect(state.history[1].from == survivor.UID && state.history[1].to == "site-1")
            #expect(state.history[2].from == other.UID && state.history[2].to == "site-1" && state.history[2].at == 1_700_000_000)

            let gone = try await emulator.control.user(uid: other.UID)
            #expect(gone.mergedInto == "site-1")
            #expect(!gone.isLive && !gone.deleted)
            #expect(gone.history.map(\.type) == [.created, .merged])
            #expect(try await signedCall(emulator, "socialize.getUserInfo", ["UID": other.UID]).errorCode == 403_005)
            #expect(try await signedCall(emulator, "socialize.getUserInfo", ["UID": survivor.UID]).errorCode == 403_005)
            // The users route still finds the survivor by the Gigya UID it no longer answers to.
            #expect(try await emulator.control.user(uid: survivor.UID).UID == "site-1")
            let account = try await signedCall(emulator, "accounts.getAccountInfo", ["UID": "site-1", "include": "identities-active"])
            #expect((account.json["identities"] as? [[String: Any]])?.compactMap { $0["provider"] as? String }.sorted() == ["facebook", "google"])

            #expect(try await eventually { try await loggedEvents(emulator).contains { $0.type == "accountMerged" } })
            let events = try await loggedEvents(emulator).filter { $0.type != "accountLoggedIn" }
            #expect(events.map(\.type) == ["accountUidChanged", "accountMerged"])
            #expect(events.map(\.uid) == [survivor.UID, other.UID])
            #expect(events.map(\.newUid) == ["site-1", "site-1"])
        }
    }

    @Test(arguments: [("é-site", "ASCII"), (String(repeating: "x", count: 253), "252"), ("", "siteUID")])
    func setUIDKeepsItsChecks(siteUID: String, detail: String) async throws {
        try await withEmulator { emulator in
            let user = try await emulator.control.login(provider: "google")
            let answer = try await signedCall(emulator, "socialize.setUID", ["UID": user.UID, "siteUID": siteUID])
            #expect(answer.errorCode == (siteUID.isEmpty ? 400_002 : 400_006), "\(answer.json)")
            #expect((answer.json["errorDetails"] as? String)?.contains(detail) == true, "\(answer.json)")
            let same = try await signedCall(emulator, "socialize.setUID", ["UID": user.UID, "siteUID": user.UID])
            #expect(same.errorCode == 400_006)
            #expect(try await emulator.control.user(uid: user.UID).history.map(\.type) == [.created])
        }
    }

    @Test func notifyRegistrationMergesIntoAGigyaUIDAndMarksTheSurvivorRegistered() async throws {
        try await withEmulator { emulator in
            let linked = try await emulator.control.login(provider: "google")
            #expect(try await signedCall(emulator, "socialize.setUID", ["UID": linked.UID, "siteUID": "site-linked"]).errorCode == 0)
            let newcomer = try await emulator.control.login(provider: "apple")
            // The survivor's Gigya UID names it even though it answers to its site UID.
            let answer = try await signedCall(emulator, "socialize.notifyRegistration", ["UID": newcomer.UID, "siteUID": linked.UID])
            #expect(answer.errorCode == 0, "\(answer.json)")
            let survivor = try await emulator.control.user(uid: "site-linked")
            #expect(survivor.isRegistered)
            #expect(Set(survivor.sessions.keys) == ["google", "apple"])
            #expect(try await emulator.control.user(uid: newcomer.UID).mergedInto == "site-linked")
            // A login naming the merged account lands on the survivor, where its identities went.
            let again = try await emulator.control.login(EmulatorLoginRequest(uid: newcomer.UID, provider: "apple"))
            #expect(again.UID == "site-linked")
            #expect(!again.isNewUser)
        }
    }

    @Test func renameAndMergeRoutesChangeStateAndNotifyUnlessToldNotTo() async throws {
        try await withEmulator { emulator in
            try await emulator.control.createUsers(["r-1", "r-2", "r-3"].map { EmulatorNewUser(uid: $0, provider: "google") })
            let quiet = try await emulator.control.renameUser(uid: "r-1", to: "renamed-1", notify: false)
            #expect(quiet.UID == "renamed-1")
            let merge = try await emulator.control.mergeUser(uid: "r-2", into: "renamed-1", notify: false)
            #expect(merge.merged.mergedInto == "renamed-1")
            #expect(merge.survivor.mergedFrom == ["r-2"])
            try await emulator.control.renameUser(uid: "r-3", to: "renamed-3")
            let marker = try await emulator.control.emitEvent(uid: "renamed-3", type: "accountLoggedIn")
            #expect(try await eventually { try await loggedEvents(emulator).contains { $0.id == marker.id } })
            let events = try await loggedEvents(emulator)
            #expect(events.map(\.type) == ["accountUidChanged", "accountLoggedIn"])
            #expect(events.first?.uid == "r-3" && events.first?.newUid == "renamed-3")
            #expect(events.last?.uid == "renamed-3")

            /// The HTTP status a refused control call answered with.
            func refusal(_ call: () async throws -> Void) async -> Int? {
                do {
                    try await call()
                    return nil
                } catch {
                    guard case .refused(_, let status, _, _)? = error as? EmulatorControlError else { return nil }
                    return status
                }
            }
            #expect(await refusal { _ = try await emulator.control.renameUser(uid: "renamed-3", to: "renamed-1") } == 409)
            #expect(await refusal { _ = try await emulator.control.mergeUser(uid: "renamed-3", into: "nobody") } == 404)
            #expect(await refusal { _ = try await emulator.control.renameUser(uid: "r-2", to: "elsewhere") } == 409)
            #expect(await refusal { _ = try await emulator.control.emitEvent(uid: "renamed-3", type: "accountMerged") } == 400)
            // Back to its Gigya UID: Gigya has lost the site UID.
            let restored = try await emulator.control.renameUser(uid: "renamed-3", to: "r-3", notify: false)
            #expect(restored.UID == "r-3" && restored.siteUID == nil)

            let deleted = try await emulator.control.deleteUser(uid: "r-3")
            #expect(deleted.history.map(\.type) == [.created, .renamed, .renamed, .deleted])
            #expect(deleted.history.last?.from == "r-3")
            // Found by a UID it held before, deleted or not.
            #expect(try await emulator.control.user(uid: "r-3").deleted)
            #expect(await refusal { _ = try await emulator.control.emitEvent(uid: "r-3", type: "accountLoggedIn") } == 409)
            #expect(try await eventually { try await loggedEvents(emulator).last?.type == "accountDeleted" })
        }
    }

    @Test func bulkCreationMakesTenThousandAccountsInOneCall() async throws {
        try await withEmulator { emulator in
            let users = (0..<10_000).map { index in
                index % 10 == 0
                    ? EmulatorNewUser(uid: "bulk-\(index)", provider: "google", providers: ["facebook"], siteUID: "site-bulk-\(index)", email: "u\(index)@example.com")
                    : EmulatorNewUser(uid: "bulk-\(index)", provider: "google")
            }
            let clock = ContinuousClock()
            let started = clock.now
            let created = try await emulator.control.createUsers(users)
            // Generous for a debug build on a shared machine; quadratic work would take minutes.
            #expect(clock.now - started < .seconds(30))
            #expect(created.count == 10_000)
            #expect(created[10].UID == "site-bulk-10")
            #expect(Set(created[10].sessions.keys) == ["google", "facebook"])
            #expect(created[10].loginProvider == "google")
            #expect(created[11].history.map(\.type) == [.created])

            let session = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": "site-bulk-10", "provider": "facebook"])
            #expect(session.errorCode == 0, "\(session.json)")
            #expect(session.json["providerUID"] as? String == created[10].sessions["facebook"]?.providerUID)
            #expect(try await signedCall(emulator, "socialize.getUserInfo", ["UID": "bulk-10"]).errorCode == 403_005)
            #expect(try await emulator.control.webhookDeliveries().isEmpty)

            // All or none: one taken UID refuses the whole call.
            await #expect(throws: EmulatorControlError.self) {
                try await emulator.control.createUsers([EmulatorNewUser(uid: "fresh"), EmulatorNewUser(uid: "bulk-1")])
            }
            await #expect(throws: EmulatorControlError.self) {
                try await emulator.control.user(uid: "fresh")
            }
            let siteAccount = try #require(try await emulator.control.createUsers([EmulatorNewUser(uid: "no-provider")]).first)
            #expect(siteAccount.loginProvider == "site")
            #expect(siteAccount.sessions.isEmpty)
        }
    }
}
