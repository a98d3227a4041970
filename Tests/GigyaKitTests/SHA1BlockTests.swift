import Crypto
import Foundation
import Testing

@testable import GigyaKit

/// The allocation-free SHA-1 and HMAC-SHA1: FIPS 180 vectors, and byte-for-byte agreement with swift-crypto.
@Suite struct SHA1BlockTests {
    /// The FIPS 180 example messages and their digests (FIPS 180-2 Appendix A; NIST's SHA-1 examples).
    static let fipsVectors: [(message: String, digest: String)] = [
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
    ]

    @Test(arguments: fipsVectors)
    func hashesTheFIPSExamples(message: String, digest: String) {
        let computed = Array(message.utf8).withUnsafeBytes { SHA1Hasher.hash($0) }
        #expect(hex(computed) == digest)
    }

    @Test func hashesOneMillionAsFedInUnevenPieces() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var hasher = SHA1Hasher()
        var start = 0
        var piece = 1
        // Piece lengths 1, 2, …, 200, 1, … cross every offset inside the pending block.
        while start < million.count {
            let end = min(start + piece, million.count)
            million[start..<end].withUnsafeBytes { hasher.update($0) }
            start = end
            piece = piece % 200 + 1
        }
        #expect(hex(hasher.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test func hashAgreesWithSwiftCryptoForEveryLengthUpTo300() {
        var generator = SplitMix64(seed: 0x5EED_0001)
        for length in 0...300 {
            let message = generator.bytes(count: length)
            let ours = message.withUnsafeBytes { SHA1Hasher.hash($0) }
            #expect(bytes(ours) == Array(Insecure.SHA1.hash(data: message)), "message length \(length)")
        }
    }

    @Test func hmacAgreesWithSwiftCryptoOverRandomKeysAndMessages() throws {
        var generator = SplitMix64(seed: 0x5EED_0002)
        // Every message length 0…300 (so every length around 55/56, 64, 119/120 and 128), several keys each.
        for round in 0..<5_000 {
            let key = generator.bytes(count: Int(generator.next() % 201))
            let message = generator.bytes(count: round % 301)
            let expected = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: key)))
            let keyed = KeyedSHA1(key: key)
            #expect(bytes(keyed.mac(bytes: message)) == expected, "key \(key.count) bytes, message \(message.count) bytes")

            // The same message as text, whole and split at two `_` positions, takes the stack path up to 119 bytes.
            let text = String(decoding: message.map { 0x30 + $0 % 0x4A }, as: UTF8.self)
            let textMAC = Array(HMAC<Insecure.SHA1>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: key)))
            #expect(bytes(keyed.mac(text)) == textMAC, "text of \(text.utf8.count) bytes")
            let parts = text.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 3 {
                #expect(bytes(keyed.mac(parts[0], parts[1], parts[2])) == textMAC, "three parts of \(text.utf8.count) bytes")
            }
            if parts.count >= 2 {
                let second = parts.dropFirst().joined(separator: "_")
                #expect(bytes(keyed.mac(parts[0], second)) == textMAC, "two parts of \(text.utf8.count) bytes")
            }
        }
    }

    @Test func secretSignaturesAgreeWithSwiftCrypto() {
        var generator = SplitMix64(seed: 0x5EED_0003)
        for length in [0, 1, 43, 55, 56, 63, 64, 65, 118, 119, 120, 121, 127, 128, 129, 300] {
            let keyBytes = generator.bytes(count: 24)
            let secret = GigyaSecret(keyBytes: keyBytes)
            let text = String(repeating: "ü", count: length / 2) + String(repeating: "9", count: length % 2)
            let expected = Data(HMAC<Insecure.SHA1>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: keyBytes)))
                .base64EncodedString()
            #expect(secret.signature(for: text) == expected, "text of \(text.utf8.count) bytes")
            #expect(secret.signature(forBytes: Array(text.utf8)) == expected)
            #expect(secret.isValidSignature(expected, for: text))
            #expect(!secret.isValidSignature(expected, for: text + "x"))
        }
    }

    /// The digest's 20 bytes.
    private func bytes(_ digest: SHA1Digest) -> [UInt8] {
        digest.withUnsafeBytes { Array($0) }
    }

    /// The digest in lowercase hex.
    private func hex(_ digest: SHA1Digest) -> String {
        bytes(digest).map { String(format: "%02x", $0) }.joined()
    }
}

/// A small seeded generator (SplitMix64), so a failing case can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    /// The running state.
    private var state: UInt64

    /// Starts from `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// `count` random bytes.
    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
