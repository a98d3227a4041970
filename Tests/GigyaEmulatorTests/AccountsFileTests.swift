import Foundation
import GigyaEmulator
import GigyaKit
import Logging
import NIOHTTP1
import Testing

/// The accounts file: accounts, sessions, site UIDs and history survive a restart; a file that cannot be used stops the start.
@Suite struct AccountsFileTests {
    /// A fresh empty directory under the system's temporary directory.
    private func temporaryDirectory() async throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("emulator-accounts-\(UUID().uuidString)").path
        let made = await offThePool { (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)) != nil }
        try #require(made)
        return path
    }

    /// Removes a temporary directory.
    private func remove(_ path: String) async {
        await offThePool { _ = try? FileManager.default.removeItem(atPath: path) }
    }

    /// Starts an emulator on `accountsFile` and returns why it refused, or nil if it started.
    private func startFailure(accountsFile: String) async -> EmulatorAccountsFileError? {
        do {
            let emulator = try await GigyaEmulator.start(
                configuration: EmulatorConfiguration(sites: [testSite], accountsFile: accountsFile, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
            )
            await emulator.stop()
            return nil
        } catch {
            return error as? EmulatorAccountsFileError
        }
    }

    @Test func accountsSessionsAndSiteUIDsSurviveARestart() async throws {
        let directory = try await temporaryDirectory()
        let path = directory + "/accounts.json"
        let before = try await withEmulator(accountsFile: path) { emulator in
            let login = try await emulator.control.login(EmulatorLoginRequest(provider: "facebook", email: "keep@example.com"))
            #expect(try await signedCall(emulator, "socialize.setUID", ["UID": login.UID, "siteUID": "site-keep"]).errorCode == 0)
            #expect(try await signedCall(emulator, "accounts.setAccountInfo", ["UID": "site-keep", "data": #"{"plan": "gold"}"#]).errorCode == 0)
            try await emulator.control.createUsers([EmulatorNewUser(uid: "merged-away", provider: "google")])
            try await emulator.control.mergeUser(uid: "merged-away", into: "site-keep", notify: false)
            // Written while running too, not only on shutdown.
            #expect(try await eventually {
                await offThePool { (try? String(contentsOfFile: path, encoding: .utf8))?.contains("merged-away") == true }
            })
            return try await emulator.control.user(uid: "site-keep")
        }
        let mode = await offThePool { (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int }
        #expect(mode == 0o600)
        let leftovers = await offThePool { (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] }
        #expect(leftovers == ["accounts.json"])

        try await withEmulator(accountsFile: path) { emulator in
            let after = try await emulator.control.user(uid: "site-keep")
            #expect(after == before)
            #expect(after.history.map(\.type) == [.created, .renamed, .mergedFrom])
            let session = try await signedCall(emulator, "socialize.getSessionInfo", ["UID": "site-keep", "provider": "facebook"])
            #expect(session.errorCode == 0, "\(session.json)")
            #expect(session.json["authToken"] as? String == before.sessions["facebook"]?.authToken)
            #expect(try await signedCall(emulator, "socialize.getUserInfo", ["UID": before.gigyaUID]).errorCode == 403_005)
            #expect(try await emulator.control.user(uid: "merged-away").mergedInto == "site-keep")
            // The old Gigya UID still finds the account through its history.
            #expect(try await emulator.control.user(uid: before.gigyaUID).UID == "site-keep")
        }
        await remove(directory)
    }

    @Test func aMissingFileStartsEmptyAndAFileThatCannotBeUsedStopsTheStart() async throws {
        let directory = try await temporaryDirectory()
        _ = try await withEmulator(accountsFile: directory + "/none-yet.json") { emulator in
            await #expect(throws: EmulatorControlError.self) {
                _ = try await emulator.control.user(uid: "anyone")
            }
        }
        /// Writes `text` to a file of the directory and returns its path.
        func file(_ name: String, _ text: String) async -> String {
            let path = directory + "/" + name
            await offThePool { _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) }
            return path
        }
        let corrupt = await file("corrupt.json", "{not json")
        guard case .corrupt? = await startFailure(accountsFile: corrupt) else {
            Issue.record("a corrupt accounts file did not stop the start")
            return
        }
        let empty = await file("empty.json", "")
        guard case .corrupt? = await startFailure(accountsFile: empty) else {
            Issue.record("an empty accounts file did not stop the start")
            return
        }
        let dangling = await file("dangling.json", #"{"format":1,"users":[],"siteUIDs":{"3_TESTAPIKEY":{"site-x":"nobody"}}}"#)
        guard case .corrupt(_, let reason)? = await startFailure(accountsFile: dangling) else {
            Issue.record("a site UID leading nowhere did not stop the start")
            return
        }
        #expect(reason.contains("site-x"))
        guard case .missingDirectory? = await startFailure(accountsFile: directory + "/absent/accounts.json") else {
            Issue.record("a missing directory did not stop the start")
            return
        }
        guard case .unreadable? = await startFailure(accountsFile: directory) else {
            Issue.record("a directory in place of the file did not stop the start")
            return
        }
        // The refused files are left as they were.
        #expect(await offThePool { (try? String(contentsOfFile: corrupt, encoding: .utf8)) == "{not json" })
        await remove(directory)
    }
}
