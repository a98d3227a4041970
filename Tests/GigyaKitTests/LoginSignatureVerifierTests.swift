import GigyaVectors
import Testing

@testable import GigyaKit

/// The verifier's window, its order of checks and the reasons it gives.
@Suite struct LoginSignatureVerifierTests {
    static let uid = "6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a"
    static let signature = "0PGU+ePAPhepuk2B2rkiuaqiNOI="

    /// A verifier whose clock stands `offset` seconds after the vector's timestamp.
    func verifier(offset: Int64, window: Int64 = 300) throws -> LoginSignatureVerifier {
        LoginSignatureVerifier(
            secret: try GigyaSecret(base64: OfficialSDKVectors.testSecret),
            windowSeconds: window,
            clock: ManualWallClock(1_700_000_000 + offset)
        )
    }

    @Test(arguments: [-300, -1, 0, 1, 300] as [Int64])
    func acceptsTimestampsInsideTheWindow(offset: Int64) throws {
        try verifier(offset: offset).verifyUser(uid: Self.uid, timestamp: "1700000000", signature: Self.signature)
    }

    @Test(arguments: [-301, 301, 86_400] as [Int64])
    func refusesTimestampsOutsideTheWindowWithTheSkew(offset: Int64) throws {
        #expect(throws: SignatureFailure.timestampOutsideWindow(skewSeconds: offset)) {
            try verifier(offset: offset).verifyUser(uid: Self.uid, timestamp: "1700000000", signature: Self.signature)
        }
    }

    @Test func codesListsEveryFailureCode() {
        let failures: [SignatureFailure] = [.malformed(field: "uid", reason: "empty"), .invalidSecret, .timestampOutsideWindow(skewSeconds: 1), .signatureMismatch]
        #expect(failures.map(\.code) == SignatureFailure.codes)
    }

    @Test func theWindowIsConfigurable() throws {
        try verifier(offset: 3600, window: 3600).verifyUser(uid: Self.uid, timestamp: "1700000000", signature: Self.signature)
        #expect(throws: SignatureFailure.timestampOutsideWindow(skewSeconds: 11)) {
            try verifier(offset: 11, window: 10).verifyUser(uid: Self.uid, timestamp: "1700000000", signature: Self.signature)
        }
    }

    @Test func aMovingClockIsFollowed() throws {
        let clock = ManualWallClock(1_700_000_000)
        let verifier = LoginSignatureVerifier(secret: try GigyaSecret(base64: OfficialSDKVectors.testSecret), clock: clock)
        try verifier.verifyUser(uid: Self.uid, timestamp: "1700000000", signature: Self.signature)
        clock.advance(by: 301)
        #expect(clock.now() == 1_700_000_301)
        #expect(throws: SignatureFailure.timestampOutsideWindow(skewSeconds: 301)) {
            try verifier.verifyUser(uid: Self.uid, timestamp: "1700000000", signature: Self.signature)
        }
        clock.set(1_699_999_700)
        try verifier.verifyUser(uid: Self.uid, timestamp: "1700000000", signature: Self.signature)
    }

    @Test func mismatchIsReportedAfterTheWindow() throws {
        #expect(throws: SignatureFailure.signatureMismatch) {
            try verifier(offset: 0).verifyUser(uid: Self.uid + "x", timestamp: "1700000000", signature: Self.signature)
        }
        #expect(throws: SignatureFailure.signatureMismatch) {
            try verifier(offset: 0).verifyFriend(uid: Self.uid, friendUID: "friend-uid-98", timestamp: "1700000000", signature: "gNtGTjZ3tJL2Id1g9KthAoBdgNc=")
        }
        // A wrong signature that is also too old reports the window first: the order of checks is fixed.
        #expect(throws: SignatureFailure.timestampOutsideWindow(skewSeconds: 400)) {
            try verifier(offset: 400).verifyUser(uid: Self.uid + "x", timestamp: "1700000000", signature: Self.signature)
        }
    }

    @Test(arguments: [
        ("", "1700000000", signature, "uid"),
        (uid, "", signature, "timestamp"),
        (uid, "17000000x0", signature, "timestamp"),
        (uid, "-1700000000", signature, "timestamp"),
        (uid, " 1700000000", signature, "timestamp"),
        (uid, "1700000000.5", signature, "timestamp"),
        (uid, "1234567890123456789", signature, "timestamp"),
        (uid, "1700000000", "", "signature"),
        (uid, "1700000000", "0PGU+ePAPhepuk2B2rkiuaqiNOI", "signature"),
        (uid, "1700000000", "0PGU_ePAPhepuk2B2rkiuaqiNOI=", "signature"),
        (uid, "1700000000", "not a signature at all", "signature"),
    ])
    func malformedInputNamesTheField(uid: String, timestamp: String, signature: String, field: String) throws {
        // The clock is far away: a malformed input must be reported before the window.
        let verifier = try verifier(offset: 10_000_000)
        do throws(SignatureFailure) {
            try verifier.verifyUser(uid: uid, timestamp: timestamp, signature: signature)
            Issue.record("expected a failure")
        } catch {
            guard case .malformed(let reportedField, _) = error else {
                Issue.record("expected .malformed, got \(error)")
                return
            }
            #expect(reportedField == field)
            #expect(error.code == "malformed_input")
        }
    }

    @Test func friendAndProviderUIDSignatures() throws {
        let verifier = try verifier(offset: -12)
        try verifier.verifyFriend(uid: Self.uid, friendUID: "friend-uid-99", timestamp: "1700000000", signature: "gNtGTjZ3tJL2Id1g9KthAoBdgNc=")
        try verifier.verifyProviderUID(providerUID: "10150000000000001", timestamp: "1700000000", signature: "igZ2QfkY0Y/SbMN2gu88kMihB9A=")
        #expect(throws: SignatureFailure.malformed(field: "friendUID", reason: "empty")) {
            try verifier.verifyFriend(uid: Self.uid, friendUID: "", timestamp: "1700000000", signature: "gNtGTjZ3tJL2Id1g9KthAoBdgNc=")
        }
        #expect(throws: SignatureFailure.malformed(field: "providerUID", reason: "empty")) {
            try verifier.verifyProviderUID(providerUID: "", timestamp: "1700000000", signature: "igZ2QfkY0Y/SbMN2gu88kMihB9A=")
        }
        #expect(throws: SignatureFailure.signatureMismatch) {
            try verifier.verifyProviderUID(providerUID: "10150000000000002", timestamp: "1700000000", signature: "igZ2QfkY0Y/SbMN2gu88kMihB9A=")
        }
    }

    @Test func aBadSecretIsInvalidSecret() {
        #expect(throws: SignatureFailure.invalidSecret) {
            try LoginSignatureVerifier(secretBase64: "not base64!", clock: ManualWallClock(1_700_000_000))
        }
        #expect(throws: SignatureFailure.invalidSecret) {
            try LoginSignatureVerifier(secretBase64: "")
        }
    }

    @Test func reasonsHaveStableCodesAndNeverEchoTheSignature() {
        let failures: [(SignatureFailure, String)] = [
            (.malformed(field: "uid", reason: "empty"), "malformed_input"),
            (.invalidSecret, "invalid_secret"),
            (.timestampOutsideWindow(skewSeconds: -42), "timestamp_out_of_window"),
            (.signatureMismatch, "signature_mismatch"),
        ]
        for (failure, code) in failures {
            #expect(failure.code == code)
            #expect(!failure.description.contains(Self.signature))
            #expect(!failure.description.contains(OfficialSDKVectors.testSecret))
        }
        #expect(SignatureFailure.timestampOutsideWindow(skewSeconds: -42).description.contains("42 s in the future"))
        #expect(SignatureFailure.timestampOutsideWindow(skewSeconds: 42).description.contains("42 s in the past"))
    }

    @Test func systemClockIsNow() {
        let now = SystemWallClock().now()
        #expect(now > 1_700_000_000)
        #expect(now < 4_102_444_800)
    }
}
