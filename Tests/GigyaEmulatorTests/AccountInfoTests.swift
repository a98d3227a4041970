import Foundation
import GigyaEmulator
import GigyaKit
import NIOHTTP1
import Testing

/// accounts.setAccountInfo's checks and what accounts.getAccountInfo shows afterwards.
@Suite struct AccountInfoTests {
    @Test func dataMergesShallowlyAndKnownProfileFieldsAreStored() async throws {
        try await withEmulator { emulator in
            let result = try await emulator.control.login(EmulatorLoginRequest(provider: "google", firstName: "Ada", lastName: "Byron"))
            let first = try await signedCall(emulator, "accounts.setAccountInfo", ["UID": result.UID, "data": #"{"a": "x y", "b": {"c": 1}}"#])
            #expect(first.errorCode == 0, "\(first.json)")
            let second = try await signedCall(emulator, "accounts.setAccountInfo", [
                "UID": result.UID,
                "data": #"{"b": {"d": true}, "e": 2.5}"#,
                "profile": #"{"lastName": "Lovelace", "nickname": "ignored"}"#,
                "status": "accepted and ignored",
            ])
            #expect(second.errorCode == 0, "\(second.json)")
            let state = try await emulator.control.user(uid: result.UID)
            // Shallow: `b` is replaced whole, not merged with its old `c`.
            #expect(state.data == ["a": .string("x y"), "b": .object(["d": .bool(true)]), "e": .number(2.5)])
            #expect(state.firstName == "Ada")
            #expect(state.lastName == "Lovelace")
            let account = try await signedCall(emulator, "accounts.getAccountInfo", ["UID": result.UID])
            #expect(account.errorCode == 0, "\(account.json)")
            let data = try #require(account.json["data"] as? [String: Any])
            #expect((data["b"] as? [String: Any])?["d"] as? Bool == true)
            #expect(data["b"].flatMap { $0 as? [String: Any] }?["c"] == nil)
            let profile = try #require(account.json["profile"] as? [String: Any])
            #expect(profile["firstName"] as? String == "Ada")
            #expect(profile["lastName"] as? String == "Lovelace")
            #expect(profile["nickname"] == nil)
        }
    }

    @Test(arguments: [
        ("data", "[1,2]"), ("data", "\"text\""), ("data", "{not json"), ("data", ""), ("profile", "[]"), ("profile", #"{"email": 7}"#),
    ])
    func nonObjectDataOrProfileIsAnInvalidParameterValue(name: String, value: String) async throws {
        try await withEmulator { emulator in
            let result = try await emulator.control.login(EmulatorLoginRequest(provider: "google"))
            let answer = try await signedCall(emulator, "accounts.setAccountInfo", ["UID": result.UID, name: value])
            #expect(answer.errorCode == 400_006, "\(answer.json)")
            #expect((answer.json["errorDetails"] as? String)?.contains(name) == true, "\(answer.json)")
            let state = try await emulator.control.user(uid: result.UID)
            #expect(state.data.isEmpty)
            #expect(state.email == nil)
        }
    }

    @Test func missingUIDIsAMissingParameterAndUnknownUIDIsUnauthorized() async throws {
        try await withEmulator { emulator in
            let missing = try await signedCall(emulator, "accounts.setAccountInfo", ["data": "{}"])
            #expect(missing.errorCode == 400_002)
            #expect((missing.json["errorDetails"] as? String)?.contains("UID") == true)
            let unknown = try await signedCall(emulator, "accounts.setAccountInfo", ["UID": "0123456789abcdef0123456789abcdef", "data": "{}"])
            #expect(unknown.errorCode == 403_005)
        }
    }

    @Test func afterSetUIDTheSiteUIDCarriesTheDataAndTheOldUIDIsUnauthorized() async throws {
        try await withEmulator { emulator in
            let result = try await emulator.control.login(EmulatorLoginRequest(provider: "google"))
            let linked = try await signedCall(emulator, "socialize.setUID", ["UID": result.UID, "siteUID": "site-42"])
            #expect(linked.errorCode == 0, "\(linked.json)")
            let old = try await signedCall(emulator, "accounts.setAccountInfo", ["UID": result.UID, "data": #"{"k": 1}"#])
            #expect(old.errorCode == 403_005)
            let answer = try await signedCall(emulator, "accounts.setAccountInfo", ["UID": "site-42", "data": #"{"k": 2}"#])
            #expect(answer.errorCode == 0, "\(answer.json)")
            #expect(try await emulator.control.user(uid: "site-42").data == ["k": .number(2)])
        }
    }
}
