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
    /// An HMAC already keyed (inner and outer pads absorbed); each message works on a copy.
    private let prototype: SendableHMAC

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
        self.prototype = SendableHMAC(hmac: HMAC<Insecure.SHA1>(key: SymmetricKey(data: keyBytes)))
    }

    /// The number of key bytes (24 for a standard 32-character partner secret).
    public var byteCount: Int { keyBytes.count }

    public var description: String { "GigyaSecret(redacted, \(keyBytes.count) bytes)" }
    public var debugDescription: String { description }

    /// A fresh keyed HMAC to feed a message into.
    @inline(__always)
    func makeHMAC() -> HMAC<Insecure.SHA1> {
        prototype.hmac
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

/// Holds the keyed HMAC prototype.
///
/// `@unchecked` because `HMAC`'s digest state is a copy-on-write class reference: the prototype is never mutated,
/// and every mutation happens on a copy, which copies the state first (`isKnownUniquelyReferenced` fails on a shared one).
private struct SendableHMAC: @unchecked Sendable {
    let hmac: HMAC<Insecure.SHA1>
}

extension HMAC where H == Insecure.SHA1 {
    /// Feeds a string's UTF-8 bytes without copying them when the string is native.
    @inline(__always)
    mutating func updateUTF8(_ text: String) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { buffer in
            update(data: UnsafeRawBufferPointer(buffer))
        }
        if done == nil {
            update(data: Array(text.utf8))
        }
    }

    /// Feeds the `_` that joins the parts of every signature base string (protocol.md §2).
    @inline(__always)
    mutating func updateUnderscore() {
        withUnsafeBytes(of: UInt8(ascii: "_")) { update(data: $0) }
    }
}

extension Base64 {
    /// Encodes a MAC.
    static func encode(_ mac: HashedAuthenticationCode<Insecure.SHA1>) -> String {
        mac.withUnsafeBytes { encode($0) }
    }
}
