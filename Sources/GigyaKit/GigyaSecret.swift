public import Foundation

/// Why a secret could not be used.
public enum GigyaSecretError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The secret was empty.
    case empty
    /// The secret holds characters outside the standard base64 alphabet, or has an impossible length.
    case notBase64

    public var description: String {
        switch self {
        case .empty: "the secret is empty"
        case .notBase64: "the secret is not standard base64"
        }
    }
}

/// A partner or user-key secret: the base64-decoded HMAC-SHA1 key, with its key schedule computed once.
///
/// Every Gigya signature is `base64(HMAC-SHA1(base64decode(secret), UTF-8(text)))` (docs/gigya-protocol.md §1.3, §2).
public struct GigyaSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The decoded key bytes; internal so only `TokenCipher` (which keys AES with them, docs/gigya-protocol.md §4) can reach them.
    let keyBytes: [UInt8]
    /// The HMAC key schedule, done once: SHA-1 chaining values that have absorbed `K ^ ipad` and `K ^ opad`.
    private let keyed: KeyedSHA1

    /// Decodes a base64 secret, appending missing `=` padding as the Java SDK's lenient decoder does.
    public init(base64: String) throws(GigyaSecretError) {
        guard !base64.isEmpty else {
            throw .empty
        }
        guard let bytes = Base64.decodeLenient(base64), !bytes.isEmpty else {
            throw .notBase64
        }
        self.init(keyBytes: bytes)
    }

    /// Wraps raw key bytes.
    init(keyBytes: [UInt8]) {
        self.keyBytes = keyBytes
        self.keyed = KeyedSHA1(key: keyBytes)
    }

    /// The number of key bytes (24 for a standard 32-character partner secret).
    public var byteCount: Int { keyBytes.count }

    public var description: String { "GigyaSecret(redacted, \(keyBytes.count) bytes)" }
    public var debugDescription: String { description }

    /// The base64 HMAC-SHA1 of a string's UTF-8 bytes.
    public func signature(for message: String) -> String {
        Base64.encode(keyed.mac(message))
    }

    /// The base64 HMAC-SHA1 of raw bytes (a webhook body, docs/gigya-protocol.md §7).
    public func signature(forBytes message: some DataProtocol) -> String {
        Base64.encode(keyed.mac(bytes: message))
    }

    /// Whether `base64` is the signature of `message`, compared in constant time; a malformed signature is simply invalid.
    public func isValidSignature(_ base64: String, for message: String) -> Bool {
        guard let presented = SHA1MACBytes(base64: base64) else {
            return false
        }
        return keyed.mac(message).withUnsafeBytes { presented.constantTimeEquals($0) }
    }

    /// Whether `base64` is the signature of raw bytes, compared in constant time.
    public func isValidSignature(_ base64: String, forBytes message: some DataProtocol) -> Bool {
        guard let presented = SHA1MACBytes(base64: base64) else {
            return false
        }
        return keyed.mac(bytes: message).withUnsafeBytes { presented.constantTimeEquals($0) }
    }

    /// Checks a decoded signature against `first + "_" + second [+ "_" + third]` without building the joined string.
    func matches(_ presented: SHA1MACBytes, _ first: String, _ second: String, _ third: String? = nil) -> Bool {
        keyed.mac(first, second, third).withUnsafeBytes { presented.constantTimeEquals($0) }
    }
}

/// HMAC-SHA1 (RFC 2104) from two SHA-1 chaining values that have absorbed `K ^ ipad` and `K ^ opad`.
///
/// The pads are compressed once per secret. A message of up to 119 bytes (every login signature) is then assembled
/// on the stack and costs two or three block compressions and no allocation; longer ones stream through
/// `SHA1Hasher`, also without allocating. RFC 2202's seven cases and a differential test against swift-crypto's
/// `HMAC<Insecure.SHA1>` pin it down.
struct KeyedSHA1: Sendable {
    /// The longest message assembled in one 128-byte stack buffer: two blocks less the `0x80` byte and the length.
    private static let stackMessageLimit = 119

    /// SHA-1 after compressing `K ^ 0x36…`.
    private let inner: SHA1State
    /// SHA-1 after compressing `K ^ 0x5c…`.
    private let outer: SHA1State

    /// Compresses the padded key (hashed first when longer than the 64-byte block, RFC 2104 §2).
    init(key: [UInt8]) {
        var block = [UInt8](repeating: 0, count: 64)
        if key.count > 64 {
            key.withUnsafeBytes { SHA1Hasher.hash($0) }.withUnsafeBytes { digest in
                block.withUnsafeMutableBytes { $0.copyMemory(from: digest) }
            }
        } else {
            block.replaceSubrange(0..<key.count, with: key)
        }
        var inner = SHA1State.initial
        block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.compress($0) }
        var outer = SHA1State.initial
        block.map { $0 ^ 0x5c }.withUnsafeBytes { outer.compress($0) }
        self.inner = inner
        self.outer = outer
    }

    /// The MAC of the UTF-8 of `first`, then `second` and `third` when given, each joined by `_` (docs/gigya-protocol.md §2).
    @inline(__always)
    func mac(_ first: String, _ second: String? = nil, _ third: String? = nil) -> SHA1Digest {
        let joinedLength = first.utf8.count + (second.map { 1 + $0.utf8.count } ?? 0) + (third.map { 1 + $0.utf8.count } ?? 0)
        guard joinedLength <= Self.stackMessageLimit else {
            var hasher = SHA1Hasher(state: inner, absorbed: 64)
            hasher.updateUTF8(first)
            if let second {
                hasher.updateUTF8("_")
                hasher.updateUTF8(second)
            }
            if let third {
                hasher.updateUTF8("_")
                hasher.updateUTF8(third)
            }
            return outerMAC(hasher.finalize())
        }
        return withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { scratch in
            var end = Self.copyUTF8(first, into: scratch, at: 0)
            if let second {
                scratch[end] = UInt8(ascii: "_")
                end = Self.copyUTF8(second, into: scratch, at: end + 1)
            }
            if let third {
                scratch[end] = UInt8(ascii: "_")
                end = Self.copyUTF8(third, into: scratch, at: end + 1)
            }
            var state = inner
            let innerDigest = state.finish(scratch: scratch, count: end, totalLength: 64 + end)
            return outerMAC(innerDigest, scratch: scratch)
        }
    }

    /// The MAC of raw bytes of any length, streamed region by region.
    func mac(bytes message: some DataProtocol) -> SHA1Digest {
        var hasher = SHA1Hasher(state: inner, absorbed: 64)
        for region in message.regions {
            region.withUnsafeBytes { hasher.update($0) }
        }
        return outerMAC(hasher.finalize())
    }

    /// Copies a string's UTF-8 into `buffer` at `offset` (the caller has checked it fits); returns where it ends.
    @inline(__always)
    private static func copyUTF8(_ text: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        let end = offset + text.utf8.count
        UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<end]).copyBytes(from: text.utf8)
        return end
    }

    /// `SHA1(K ^ opad || innerDigest)`, padded in a stack buffer.
    private func outerMAC(_ innerDigest: SHA1Digest) -> SHA1Digest {
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { outerMAC(innerDigest, scratch: $0) }
    }

    /// `SHA1(K ^ opad || innerDigest)`, padded in `scratch` (128 bytes, free to overwrite).
    @inline(__always)
    private func outerMAC(_ innerDigest: SHA1Digest, scratch: UnsafeMutableRawBufferPointer) -> SHA1Digest {
        innerDigest.withUnsafeBytes { scratch.copyMemory(from: $0) }
        var state = outer
        return state.finish(scratch: scratch, count: 20, totalLength: 64 + 20)
    }
}

extension SHA1Hasher {
    /// Absorbs a string's UTF-8 without copying it when the string is native.
    mutating func updateUTF8(_ text: String) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil {
            Array(text.utf8).withUnsafeBytes { update($0) }
        }
    }
}

extension Base64 {
    /// Encodes a MAC.
    static func encode(_ mac: SHA1Digest) -> String {
        mac.withUnsafeBytes { encode($0) }
    }
}
