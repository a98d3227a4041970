import Foundation
import GigyaVectors
import Testing

@testable import GigyaKit

/// The `sigutils` vectors: every signature the SDKs' SigUtils compute, and the verifier's behaviour around them.
@Suite struct SignatureTests {
    static let signatureCases = [
        "calcSignature_user", "calcSignature_user_non_ascii_uid", "calcSignature_friend", "calcSignature_siteUID_UIDSig",
        "calcSignature_providerUIDSig",
    ]

    @Test(arguments: signatureCases)
    func calcSignatureMatchesTheOfficialSDK(name: String) throws {
        let vector = try #require(OfficialSDKVectors.section("sigutils")[name] as? [String: Any])
        let secret = try GigyaSecret(base64: try #require(vector["secret"] as? String))
        let baseString = try #require(vector["baseString"] as? String)
        let signature = try #require(vector["signature"] as? String)
        if let utf8Hex = vector["baseStringUtf8Hex"] as? String {
            #expect(hex(baseString.utf8) == utf8Hex)
        }
        #expect(secret.signature(for: baseString) == signature)
        #expect(secret.signature(forBytes: Array(baseString.utf8)) == signature)
        #expect(secret.isValidSignature(signature, for: baseString))
        #expect(secret.isValidSignature(signature, forBytes: Data(baseString.utf8)))
        #expect(!secret.isValidSignature(signature, for: baseString + " "))
    }

    @Test func signatureBasesMatchTheVectors() throws {
        let section = OfficialSDKVectors.section("sigutils")
        func base(_ name: String) throws -> String? { try #require(section[name] as? [String: Any])["baseString"] as? String }
        #expect(SignatureBase.user(timestamp: "1700000000", uid: "6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a") == (try base("calcSignature_user")))
        #expect(SignatureBase.user(timestamp: "1700000000", uid: "_gid_Rüdiger+/==") == (try base("calcSignature_user_non_ascii_uid")))
        #expect(
            SignatureBase.friend(timestamp: "1700000000", friendUID: "friend-uid-99", uid: "6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a")
                == (try base("calcSignature_friend"))
        )
        #expect(SignatureBase.siteUID(uidTimestamp: "1700000000", siteUID: "site-user-42") == (try base("calcSignature_siteUID_UIDSig")))
        #expect(
            SignatureBase.providerUID(timestamp: "1700000000", providerUID: "10150000000000001")
                == (try base("calcSignature_providerUIDSig"))
        )
    }

    @Test(arguments: ["getDynamicSessionSignature", "getDynamicSessionSignatureUserSigned"])
    func dynamicSessionCookieMatchesTheOfficialSDK(name: String) throws {
        let vector = try #require(OfficialSDKVectors.section("sigutils")[name] as? [String: Any])
        let loginToken = try #require(vector["gltCookie"] as? String)
        let timeout = Int64(try #require(vector["timeoutInSeconds"] as? Int))
        let now = Int64(try #require(vector["now"] as? Int))
        let userKey = vector["userKey"] as? String
        #expect(SignatureBase.dynamicSession(loginToken: loginToken, expiration: now + timeout, userKey: userKey) == vector["baseString"] as? String)
        let cookie = SignatureBase.dynamicSessionCookie(
            loginToken: loginToken,
            timeoutSeconds: timeout,
            now: now,
            secret: try GigyaSecret(base64: OfficialSDKVectors.testSecret),
            userKey: userKey
        )
        #expect(cookie == vector["cookieValue"] as? String)
    }

    @Test func javaValidateResults() throws {
        let results = try #require(OfficialSDKVectors.section("sigutils")["java_validate_results"] as? [String: String])
        let verifier = LoginSignatureVerifier(
            secret: try GigyaSecret(base64: OfficialSDKVectors.testSecret),
            clock: ManualWallClock(1_700_000_000)
        )
        #expect(results["validateUserSignature(uid,ts,secret,'0PGU+ePAPhepuk2B2rkiuaqiNOI=')"] == "true")
        try verifier.verifyUser(uid: "6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a", timestamp: "1700000000", signature: "0PGU+ePAPhepuk2B2rkiuaqiNOI=")
        #expect(results["validateUserSignature(non-ascii uid, 'wIeXZuFzSiFxFR81vC7zp7t004c=')"] == "true")
        try verifier.verifyUser(uid: "_gid_Rüdiger+/==", timestamp: "1700000000", signature: "wIeXZuFzSiFxFR81vC7zp7t004c=")
        #expect(results["validateFriendSignature(..., 'gNtGTjZ3tJL2Id1g9KthAoBdgNc=')"] == "true")
        try verifier.verifyFriend(
            uid: "6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a",
            friendUID: "friend-uid-99",
            timestamp: "1700000000",
            signature: "gNtGTjZ3tJL2Id1g9KthAoBdgNc="
        )
        // Java refuses the old timestamp with a 180 s expiration; so does our verifier once the clock has moved on.
        #expect(results["validateUserSignature(..., expiration=180) with ts=1700000000 (old)"] == "false")
        let later = LoginSignatureVerifier(
            secret: try GigyaSecret(base64: OfficialSDKVectors.testSecret),
            windowSeconds: 180,
            clock: ManualWallClock(1_800_000_000)
        )
        #expect(throws: SignatureFailure.timestampOutsideWindow(skewSeconds: 100_000_000)) {
            try later.verifyUser(uid: "6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a", timestamp: "1700000000", signature: "0PGU+ePAPhepuk2B2rkiuaqiNOI=")
        }
        let urlEncode = try #require(results.first { $0.key.hasPrefix("GSRequest.UrlEncode") })
        #expect(PercentEncoding.rfc3986("Hello wörld ~*+/&=?!'()@") == urlEncode.value)
    }

    @Test(arguments: [(-180, false), (-181, true), (181, true), (180, false), (0, false)])
    func pythonExpirationSemanticsWithA180SecondWindow(offset: Int64, expired: Bool) throws {
        let semantics = try #require(OfficialSDKVectors.section("sigutils")["python_expiration_semantics"] as? [String: Any])
        #expect(semantics["ts_now_minus_180_exp_180_expired"] as? Bool == false)
        #expect(semantics["ts_now_minus_181_exp_180_expired"] as? Bool == true)
        #expect(semantics["ts_now_plus_181_exp_180_expired"] as? Bool == true)
        let secret = try GigyaSecret(base64: OfficialSDKVectors.testSecret)
        let timestamp = 1_700_000_000 + offset
        let uid = "u1"
        let signature = secret.signature(for: SignatureBase.user(timestamp: String(timestamp), uid: uid))
        let verifier = LoginSignatureVerifier(secret: secret, windowSeconds: 180, clock: ManualWallClock(1_700_000_000))
        if expired {
            #expect(throws: SignatureFailure.timestampOutsideWindow(skewSeconds: -offset)) {
                try verifier.verifyUser(uid: uid, timestamp: String(timestamp), signature: signature)
            }
        } else {
            try verifier.verifyUser(uid: uid, timestamp: String(timestamp), signature: signature)
        }
    }

    @Test func webhookHMACOverTheRawBody() throws {
        let vector = try #require(OfficialSDKVectors.section("webhook_hmac")["x_gigya_sig_hmac_sha1"] as? [String: Any])
        let body = Data(try #require(vector["rawBody"] as? String).utf8)
        let secret = try GigyaSecret(base64: try #require(vector["secret"] as? String))
        let header = try #require(vector["X-Gigya-Sig-Hmac-Sha1"] as? String)
        #expect(secret.signature(forBytes: body) == header)
        #expect(secret.isValidSignature(header, forBytes: body))
        var tampered = body
        tampered[tampered.startIndex] = UInt8(ascii: "[")
        #expect(!secret.isValidSignature(header, forBytes: tampered))
    }

    /// RFC 2202 §3, all seven HMAC-SHA1 cases, through a base64 secret.
    static let rfc2202: [(key: [UInt8], data: [UInt8], digest: String)] = [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8), "b617318655057264e28bc0b6fb378c8ef146be00"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
        (Array(1...25), [UInt8](repeating: 0xcd, count: 50), "4c9007f4026250c6bc8414f9bf50c86c2d7235da"),
        ([UInt8](repeating: 0x0c, count: 20), Array("Test With Truncation".utf8), "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"),
        (
            [UInt8](repeating: 0xaa, count: 80), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        ),
        (
            [UInt8](repeating: 0xaa, count: 80),
            Array("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data".utf8),
            "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"
        ),
    ]

    @Test(arguments: 0..<7)
    func rfc2202HMACSHA1(index: Int) throws {
        let testCase = Self.rfc2202[index]
        let secret = try GigyaSecret(base64: base64(testCase.key))
        let expected = base64(bytes(hex: testCase.digest))
        #expect(secret.signature(forBytes: testCase.data) == expected)
        #expect(secret.isValidSignature(expected, forBytes: testCase.data))
        // Each call starts from the keyed prototype: a second call must not see the first message.
        #expect(secret.signature(forBytes: testCase.data) == expected)
    }

    @Test func secretDecodingIsLenientOnPaddingOnly() throws {
        #expect(try GigyaSecret(base64: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX").byteCount == 24)
        #expect(try GigyaSecret(base64: "YQ").keyBytes == [0x61])
        #expect(try GigyaSecret(base64: "YWI").keyBytes == [0x61, 0x62])
        #expect(try GigyaSecret(base64: "YWI=").keyBytes == [0x61, 0x62])
        #expect(throws: GigyaSecretError.empty) { try GigyaSecret(base64: "") }
        #expect(throws: GigyaSecretError.notBase64) { try GigyaSecret(base64: "AAEC AwQF") }
        #expect(throws: GigyaSecretError.notBase64) { try GigyaSecret(base64: "AAE-") }
        #expect(throws: GigyaSecretError.notBase64) { try GigyaSecret(base64: "AAECA") }
        #expect(throws: GigyaSecretError.notBase64) { try GigyaSecret(base64: "YQ===") }
        #expect(throws: GigyaSecretError.notBase64) { try GigyaSecret(base64: "====") }
    }

    @Test func secretNeverPrintsItsKey() throws {
        let secret = try GigyaSecret(base64: OfficialSDKVectors.testSecret)
        for text in [String(describing: secret), String(reflecting: secret), "\(secret)"] {
            #expect(!text.contains(OfficialSDKVectors.testSecret))
            #expect(text.contains("redacted"))
        }
    }

    @Test(arguments: [
        "", "0PGU+ePAPhepuk2B2rkiuaqiNOI", "0PGU+ePAPhepuk2B2rkiuaqiNOI==", "0PGU-ePAPhepuk2B2rkiuaqiNOI=",
        "0PGU+ePAPhepuk2B2rkiuaqiNOJ=", "0PGU+ePAPhepuk2B2rkiuaqiNOI=\n", "0PGU+ePAPhepuk2B2rkiuaqiNO=I",
    ])
    func malformedPresentedSignaturesSimplyFail(signature: String) throws {
        let secret = try GigyaSecret(base64: OfficialSDKVectors.testSecret)
        #expect(!secret.isValidSignature(signature, for: "1700000000_6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a"))
    }

    @Test func everyDifferentMACIsRefused() throws {
        let secret = try GigyaSecret(base64: OfficialSDKVectors.testSecret)
        let message = "1700000000_6f1bf2b8d7e14c0f9c1f0e1e2d3c4b5a"
        let good = bytes(hex: hex(Data(base64Encoded: "0PGU+ePAPhepuk2B2rkiuaqiNOI=")!))
        for index in 0..<20 {
            var bad = good
            bad[index] ^= 0x01
            #expect(!secret.isValidSignature(base64(bad), for: message))
        }
        #expect(secret.isValidSignature(base64(good), for: message))
    }
}
