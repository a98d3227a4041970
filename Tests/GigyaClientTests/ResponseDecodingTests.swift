import Foundation
import GigyaKit
import Testing

@testable import GigyaClient

/// Reading Gigya's answers: JSON, the `Date` header, getSessionInfo decryption and the redaction of everything secret.
@Suite struct ResponseDecodingTests {
    /// The vectors' test secret: 24 bytes, so AES-192 as with real partner secrets.
    let secret = try! GigyaSecret(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX")
    /// A fixed IV.
    let iv: [UInt8] = Array(0..<16)

    /// A decoder at a fixed time.
    func decoder(now: Int64 = 1_700_000_000) -> SessionDecoder {
        SessionDecoder(partnerSecret: secret, clock: ManualWallClock(now))
    }

    @Test func jsonKeepsBooleansNumbersAndNesting() throws {
        let body = try #require(GigyaJSON(parsing: Data(#"{"a":true,"b":1,"c":"x","d":null,"e":[1.5,{"f":false}]}"#.utf8)))
        #expect(body["a"] == .bool(true))
        #expect(body["b"] == .number(1))
        #expect(body["b"]?.intValue == 1)
        #expect(body["c"]?.stringValue == "x")
        #expect(body["d"] == .null)
        #expect(body["e"]?[1]?["f"]?.boolValue == false)
        #expect(body["e"]?[7] == nil)
        #expect(GigyaJSON(parsing: Data("<xml/>".utf8)) == nil)
        let again = try #require(GigyaJSON(parsing: Data(body.jsonText().utf8)))
        #expect(again == body)
        #expect(GigyaJSON.object(["code": .number(403002)]).jsonText(pretty: false) == #"{"code":403002}"#)
    }

    @Test func readsTheIMFFixdateOfTheDateHeader() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("Tue, 14 Nov 2023 22:13:20 GMT") == 1_700_000_000)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(HTTPDate.parse("Sun, 06 Foo 1994 08:49:37 GMT") == nil)
    }

    @Test func decryptsTokenSecretAndSessionHandleWhenIVIsPresent() throws {
        let cipher = try TokenCipher(secret: secret)
        let body = GigyaJSON.object([
            "errorCode": .number(0),
            "authToken": .string("plain-access-token"),
            "tokenSecret": .string(try cipher.encrypt("the token secret", iv: iv, padding: .pkcs7)),
            "sessionHandle": .string(try cipher.encrypt("handle – ünïcode", iv: iv, padding: .pkcs7)),
            "IV": .string(Data(iv).base64EncodedString()),
            "tokenExpirationUTC": .string("2030-01-01T00:00:00.000Z"),
            "sessionExpiration": .number(0),
            "providerUID": .string("p-42"),
        ])
        let session = try decoder().providerSession(provider: "facebook", body: body)
        #expect(session.authToken == "plain-access-token")
        #expect(session.tokenSecret == "the token secret")
        #expect(session.sessionHandle == "handle – ünïcode")
        #expect(session.tokenExpiration == "2030-01-01T00:00:00.000Z")
        #expect(session.sessionExpiration == "0")
        #expect(session.providerUID == "p-42")
    }

    @Test func decryptsAnEncryptAllAuthToken() throws {
        let cipher = try TokenCipher(secret: secret)
        let body = GigyaJSON.object([
            "authToken": .string(try cipher.encrypt("access", iv: iv, padding: .pkcs7)),
            "IV": .string(Data(iv).base64EncodedString()),
        ])
        #expect(try decoder().providerSession(provider: "google", body: body).authToken == "access")
    }

    @Test func takesFieldsAsPlaintextOnlyWithoutAnIV() throws {
        let body = GigyaJSON.object(["tokenSecret": .string("not-encrypted"), "sessionHandle": .string("h")])
        let session = try decoder().providerSession(provider: "twitter", body: body)
        #expect(session.tokenSecret == "not-encrypted")
        #expect(session.sessionHandle == "h")
    }

    @Test func refusesAFieldThatDoesNotDecryptWhenIVIsPresent() throws {
        let body = GigyaJSON.object([
            "tokenSecret": .string("not-encrypted"),
            "IV": .string(Data(iv).base64EncodedString()),
        ])
        #expect {
            _ = try decoder().providerSession(provider: "twitter", body: body)
        } throws: { error in
            guard case .decryption(let reason) = error as? GigyaCallError else {
                return false
            }
            return reason.hasPrefix("tokenSecret") && !reason.contains("not-encrypted")
        }
    }

    @Test func checksProviderUIDSigWhenPresent() throws {
        let signature = secret.signature(for: SignatureBase.providerUID(timestamp: "1700000000", providerUID: "p-42"))
        let signed = GigyaJSON.object([
            "providerUID": .string("p-42"), "timestamp": .number(1_700_000_000), "providerUIDSig": .string(signature),
        ])
        #expect(try decoder().providerSession(provider: "facebook", body: signed).providerUID == "p-42")
        let forged = GigyaJSON.object([
            "providerUID": .string("p-43"), "timestamp": .string("1700000000"), "providerUIDSig": .string(signature),
        ])
        #expect(throws: GigyaCallError.invalidResponse("providerUIDSig rejected: signature_mismatch")) {
            try decoder().providerSession(provider: "facebook", body: forged)
        }
        #expect(throws: GigyaCallError.invalidResponse("providerUIDSig rejected: timestamp_out_of_window")) {
            try decoder(now: 1_700_003_600).providerSession(provider: "facebook", body: signed)
        }
    }

    @Test func descriptionsNeverShowTokens() {
        let session = ProviderSession(provider: "facebook", authToken: "AT-123", tokenSecret: "TS-456", sessionHandle: "SH-789")
        let text = "\(session)"
        #expect(!text.contains("AT-123") && !text.contains("TS-456") && !text.contains("SH-789"))
        #expect(text.contains("facebook") && text.contains("<redacted>"))
    }

    @Test func errorsCarryCodesAndDispositions() {
        let missing = GigyaCallError.gigya(code: 403_012, message: "No valid session", details: nil, callId: "c1")
        #expect(missing.disposition == .noSession)
        #expect(missing.description == "Gigya error 403012 No valid session (callId c1)")
        #expect(GigyaCallError.timeout.disposition == .retryable)
        #expect(GigyaCallError.transport("HTTP 503").disposition == .retryable)
        #expect(GigyaCallError.decryption("tokenSecret: bad padding").disposition == .permanent)
    }

    @Test func readsUserInfoProvidersInEitherShape() throws {
        let listed = try #require(GigyaUserInfo(response: .object([
            "UID": .string("site-1"), "isSiteUID": .bool(true), "providers": .string("facebook, google"),
        ])))
        #expect(listed.uid == "site-1" && listed.isSiteUID && listed.providers == ["facebook", "google"])
        let arrayed = try #require(GigyaUserInfo(response: .object([
            "UID": .string("u"), "providers": .array([.string("twitter")]), "loginProvider": .string("twitter"),
        ])))
        #expect(!arrayed.isSiteUID && arrayed.providers == ["twitter"] && arrayed.loginProvider == "twitter")
        #expect(GigyaUserInfo(response: .object([:])) == nil)
    }
}
