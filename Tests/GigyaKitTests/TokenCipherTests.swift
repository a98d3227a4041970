import Foundation
import GigyaVectors
import Testing

@testable import GigyaKit

/// getSessionInfo token decryption: the documented vectors, NIST SP 800-38A, and hostile input.
@Suite struct TokenCipherTests {
    static var section: [String: Any] { OfficialSDKVectors.section("getSessionInfo_aes_cbc") }
    static let vectors = (section["vectors"] as? [[String: String]]) ?? []
    static let iv = (section["IV"] as? String) ?? ""

    /// The cipher keyed with the vector secret.
    func cipher(_ secret: String = OfficialSDKVectors.testSecret) throws -> TokenCipher {
        try TokenCipher(secret: try GigyaSecret(base64: secret))
    }

    @Test func fixtureHasEveryPaddingCase() {
        #expect(Self.vectors.count == 8)
        #expect(Self.section["keyHex"] as? String == hex((try? GigyaSecret(base64: OfficialSDKVectors.testSecret))?.keyBytes ?? []))
    }

    @Test(arguments: vectors)
    func everyVectorDecrypts(vector: [String: String]) throws {
        let modeName = try #require(vector["paddingMode"])
        let padding = try #require(PaddingMode(parsing: modeName))
        let plaintext = try cipher().decrypt(try #require(vector["ciphertextBase64"]), ivBase64: Self.iv, padding: padding)
        #expect(plaintext == vector["plaintextUtf8"])
        #expect(hex(plaintext.utf8) == vector["plaintextHex"])
    }

    @Test(arguments: vectors)
    func encryptingWithTheVectorIVReproducesTheCiphertext(vector: [String: String]) throws {
        let modeName = try #require(vector["paddingMode"])
        let padding = try #require(PaddingMode(parsing: modeName))
        let iv = bytes(hex: try #require(Self.section["ivHex"] as? String))
        #expect(try cipher().encrypt(try #require(vector["plaintextUtf8"]), iv: iv, padding: padding) == vector["ciphertextBase64"])
        #expect(hex(TokenCipher.pad(Array(try #require(vector["plaintextUtf8"]).utf8), mode: padding)) == vector["paddedHex"])
    }

    @Test func aes256Variant() throws {
        let variant = try #require(Self.section["aes256_variant"] as? [String: String])
        let cipher = try cipher(try #require(variant["keyBase64"]))
        let ciphertext = try #require(variant["ciphertextBase64"])
        #expect(try cipher.decrypt(ciphertext, ivBase64: try #require(variant["IV"])) == variant["plaintextUtf8"])
        let ivText = try #require(variant["IV"])
        let iv = try #require(Data(base64Encoded: ivText))
        #expect(try cipher.encrypt(try #require(variant["plaintextUtf8"]), iv: Array(iv), padding: .pkcs7) == ciphertext)
    }

    @Test func pkcs5AndPKCS7AreTheSameWithSixteenByteBlocks() throws {
        let pkcs7 = try #require(Self.vectors.first { $0["paddingMode"] == "PKCS7" })
        #expect(try cipher().decrypt(try #require(pkcs7["ciphertextBase64"]), ivBase64: Self.iv, padding: .pkcs5) == pkcs7["plaintextUtf8"])
        #expect(PaddingMode(parsing: "pkcs5") == .pkcs5)
        #expect(PaddingMode(parsing: "Zeros") == .zeros)
        #expect(PaddingMode(parsing: "none") == nil)
    }

    /// NIST SP 800-38A F.2.1, F.2.3 and F.2.5 (CBC-AES128/192/256), encrypt and decrypt, no padding.
    static let nist: [(name: String, key: String, ciphertext: String)] = [
        (
            "F.2.1 CBC-AES128", "2b7e151628aed2a6abf7158809cf4f3c",
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"
        ),
        (
            "F.2.3 CBC-AES192", "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
            "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd"
        ),
        (
            "F.2.5 CBC-AES256", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"
        ),
    ]
    static let nistIV = "000102030405060708090a0b0c0d0e0f"
    static let nistPlaintext =
        "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"

    @Test(arguments: 0..<3)
    func nistSP80038ACBC(index: Int) throws {
        let testCase = Self.nist[index]
        let key = bytes(hex: testCase.key)
        let iv = bytes(hex: Self.nistIV)
        let encrypted = try AESCBC.apply(.encrypt, to: bytes(hex: Self.nistPlaintext), key: key, iv: iv)
        #expect(hex(encrypted) == testCase.ciphertext, "\(testCase.name)")
        let decrypted = try AESCBC.apply(.decrypt, to: bytes(hex: testCase.ciphertext), key: key, iv: iv)
        #expect(hex(decrypted) == Self.nistPlaintext, "\(testCase.name)")
    }

    @Test(arguments: ["AAECAwQFBgcICQoLDA0ODxAREhMUFRY=", "YWJj", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"])
    func keysOtherThan16_24Or32BytesAreRefused(secret: String) throws {
        let key = try GigyaSecret(base64: secret)
        #expect(throws: TokenCipherError.invalidKeyLength(key.byteCount)) { try TokenCipher(secret: key) }
    }

    @Test func malformedInputsAreTypedErrors() throws {
        let cipher = try cipher()
        let good = "Ndren0os3DxS7TwAETnYM5wNbvsZU3KW+J3rAd+MTvw="
        #expect(throws: TokenCipherError.notBase64(field: "ciphertext")) { try cipher.decrypt("Ndren0os3DxS7Tw*", ivBase64: Self.iv) }
        #expect(throws: TokenCipherError.notBase64(field: "iv")) { try cipher.decrypt(good, ivBase64: "ABEiM0RVZneImaq7zN3u/w=!") }
        #expect(throws: TokenCipherError.invalidIV) { try cipher.decrypt(good, ivBase64: "ABEiM0RVZneImaq7zN3u") }
        #expect(throws: TokenCipherError.invalidIV) { try cipher.encrypt("x", iv: [1, 2, 3], padding: .pkcs7) }
        #expect(throws: TokenCipherError.invalidCiphertextLength) { try cipher.decrypt("", ivBase64: Self.iv) }
        #expect(throws: TokenCipherError.invalidCiphertextLength) { try cipher.decrypt("Ndren0os3DxS7TwAETnYM5wNbvsZ", ivBase64: Self.iv) }
        // The ZEROS ciphertext of the same text decrypts to a last block that is not PKCS#7 padding.
        #expect(throws: TokenCipherError.badPadding) {
            try cipher.decrypt("Ndren0os3DxS7TwAETnYMxSAR05mHZbvMG5rk+UQgaQ=", ivBase64: Self.iv, padding: .pkcs7)
        }
    }

    @Test func aWrongKeyIsATypedErrorNotACrash() throws {
        let wrong = try cipher("AQECAwQFBgcICQoLDA0ODxAREhMUFRYX")
        #expect(throws: TokenCipherError.self) {
            try wrong.decrypt("lBYl4ZbGytG/xbQtR6Alixb0z3fZfRTUPDDCEnD/pY7Mtv5lA6WJucXDeszF+Dj6", ivBase64: Self.iv)
        }
    }

    @Test func nonUTF8PlaintextIsNotUTF8() throws {
        let cipher = try cipher()
        let iv = bytes(hex: "00112233445566778899aabbccddeeff")
        let raw = try AESCBC.apply(.encrypt, to: [0xFF, 0xFE] + [UInt8](repeating: 14, count: 14), key: cipher.keyForTests, iv: iv)
        #expect(throws: TokenCipherError.notUTF8) { try cipher.decrypt(base64(raw), ivBase64: base64(iv)) }
    }

    @Test func roundTripsWithRandomIVs() throws {
        let cipher = try cipher()
        for text in ["", "a", "0123456789abcdef", "sécrèt-✓ with a longer tail that spans blocks", String(repeating: "z", count: 100)] {
            for padding in PaddingMode.allCases {
                let iv = TokenCipher.randomIV()
                #expect(iv.count == 16)
                let ciphertext = try cipher.encrypt(text, iv: iv, padding: padding)
                #expect(try cipher.decrypt(ciphertext, ivBase64: base64(iv), padding: padding) == text)
            }
        }
        #expect(TokenCipher.randomIV() != TokenCipher.randomIV())
    }

    @Test func randomInputNeverCrashes() throws {
        let cipher = try cipher()
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ !é")
        var failures = 0
        for round in 0..<2000 {
            let length = Int.random(in: 0...80, using: &generator)
            let ciphertext: String
            if round % 2 == 0 {
                ciphertext = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            } else {
                ciphertext = base64((0..<(length / 16 * 16)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            let iv = round % 3 == 0 ? String((0..<24).map { _ in alphabet.randomElement(using: &generator)! }) : Self.iv
            for padding in PaddingMode.allCases {
                do {
                    _ = try cipher.decrypt(ciphertext, ivBase64: iv, padding: padding)
                } catch {
                    failures += 1
                }
            }
        }
        // Random bytes almost never carry valid PKCS#7 padding and UTF-8 both.
        #expect(failures > 2000)
    }
}

extension TokenCipher {
    /// The key bytes, for building raw test ciphertexts.
    var keyForTests: [UInt8] {
        (try? GigyaSecret(base64: OfficialSDKVectors.testSecret))?.keyBytes ?? []
    }
}
