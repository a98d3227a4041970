import Crypto
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
/// Every Gigya signature is `base64(HMAC-SHA1(base64decode(secret), UTF-8(text)))` (protocol.md §1.3, §2).
public struct GigyaSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The decoded key bytes; internal so only `TokenCipher` (which keys AES with them, protocol.md §4) can reach them.
    let keyBytes: [UInt8]
    /// The HMAC key schedule, done once: SHA-1 states that have absorbed `K ^ ipad` and `K ^ opad`; each message works on copies.
    private let prototype: KeyedSHA1

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
        self.prototype = KeyedSHA1(key: keyBytes)
    }

    /// The number of key bytes (24 for a standard 32-character partner secret).
    public var byteCount: Int { keyBytes.count }

    public var description: String { "GigyaSecret(redacted, \(keyBytes.count) bytes)" }
    public var debugDescription: String { description }

    /// A fresh keyed HMAC to feed a message into.
    @inline(__always)
    func makeHMAC() -> KeyedSHA1 {
        prototype
    }

    /// The base64 HMAC-SHA1 of a string's UTF-8 bytes.
    public func signature(for message: String) -> String {
        var hmac = makeHMAC()
        hmac.updateUTF8(message)
        return Base64.encode(hmac.finalize())
    }

    /// The base64 HMAC-SHA1 of raw bytes (a webhook body, protocol.md §7).
    public func signature(forBytes message: some DataProtocol) -> String {
        var hmac = makeHMAC()
        hmac.update(data: message)
        return Base64.encode(hmac.finalize())
    }

    /// Whether `base64` is the signature of `message`, compared in constant time; a malformed signature is simply invalid.
    public func isValidSignature(_ base64: String, for message: String) -> Bool {
        guard let presented = SHA1MACBytes(base64: base64) else {
            return false
        }
        var hmac = makeHMAC()
        hmac.updateUTF8(message)
        return hmac.finalize().withUnsafeBytes { presented.constantTimeEquals($0) }
    }

    /// Whether `base64` is the signature of raw bytes, compared in constant time.
    public func isValidSignature(_ base64: String, forBytes message: some DataProtocol) -> Bool {
        guard let presented = SHA1MACBytes(base64: base64) else {
            return false
        }
        var hmac = makeHMAC()
        hmac.update(data: message)
        return hmac.finalize().withUnsafeBytes { presented.constantTimeEquals($0) }
    }

    /// Checks a decoded signature against `first + "_" + second [+ "_" + third]` without building the joined string.
    func matches(_ presented: SHA1MACBytes, _ first: String, _ second: String, _ third: String? = nil) -> Bool {
        var hmac = makeHMAC()
        hmac.updateUTF8(first)
        hmac.updateUnderscore()
        hmac.updateUTF8(second)
        if let third {
            hmac.updateUnderscore()
            hmac.updateUTF8(third)
        }
        return hmac.finalize().withUnsafeBytes { presented.constantTimeEquals($0) }
    }
}

/// HMAC-SHA1 (RFC 2104) over two pre-keyed SHA-1 states.
///
/// The same construction as `HMAC<Insecure.SHA1>`, with the pads absorbed once per secret. It uses the concrete
/// `Insecure.SHA1` because the generic `HMAC<H>` is not specialisable across modules: measured in `bench crypto`, its
/// generic-metadata lookups cost more than the SHA-1 work itself. RFC 2202's seven cases pin it down in the tests.
///
/// `@unchecked Sendable` because `Insecure.SHA1` keeps its state in a copy-on-write class reference: the prototype is
/// never mutated, and a mutated copy first copies the shared state (`isKnownUniquelyReferenced` fails on it).
struct KeyedSHA1: @unchecked Sendable {
    /// SHA-1 after absorbing `K ^ 0x36…`.
    private var inner: Insecure.SHA1
    /// SHA-1 after absorbing `K ^ 0x5c…`.
    private let outer: Insecure.SHA1

    /// Absorbs the padded key (hashed first when longer than the 64-byte block, RFC 2104 §2).
    init(key: [UInt8]) {
        var block = key.count > 64 ? Array(Insecure.SHA1.hash(data: key)) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = Insecure.SHA1()
        inner.update(data: block.map { $0 ^ 0x36 })
        var outer = Insecure.SHA1()
        outer.update(data: block.map { $0 ^ 0x5c })
        self.inner = inner
        self.outer = outer
    }

    /// Feeds message bytes.
    @inline(__always)
    mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        inner.update(bufferPointer: bufferPointer)
    }

    /// Feeds message bytes from any byte container.
    mutating func update(data: some DataProtocol) {
        for region in data.regions {
            region.withUnsafeBytes { inner.update(bufferPointer: $0) }
        }
    }

    /// Feeds a string's UTF-8 bytes without copying them when the string is native.
    @inline(__always)
    mutating func updateUTF8(_ text: String) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { buffer in
            inner.update(bufferPointer: UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            update(data: Array(text.utf8))
        }
    }

    /// Feeds the `_` that joins the parts of every signature base string (protocol.md §2).
    @inline(__always)
    mutating func updateUnderscore() {
        withUnsafeBytes(of: UInt8(ascii: "_")) { inner.update(bufferPointer: $0) }
    }

    /// The 20-byte MAC: `SHA1(K ^ opad || SHA1(K ^ ipad || message))`.
    func finalize() -> Insecure.SHA1.Digest {
        let innerDigest = inner.finalize()
        var outer = outer
        innerDigest.withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }
}

extension Base64 {
    /// Encodes a MAC.
    static func encode(_ mac: Insecure.SHA1.Digest) -> String {
        mac.withUnsafeBytes { encode($0) }
    }
}
