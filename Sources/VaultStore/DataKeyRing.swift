import Crypto
import Foundation

/// Why a data key or a key ring could not be built; never carries key material.
public enum DataKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Entry number `index` (0-based) has an id that is empty, too long, or holds a character the ring syntax reserves.
    case invalidID(index: Int)
    /// Entry number `index`'s key is not standard base64.
    case notBase64(index: Int)
    /// Entry number `index`'s key decodes to the wrong number of bytes (AES-256 needs 32).
    case wrongLength(index: Int, bytes: Int)
    /// The ring holds no key.
    case emptyRing
    /// Entry number `index` (0-based) is not `id:BASE64`.
    case malformedEntry(index: Int)
    /// Entry number `index` repeats an earlier entry's id.
    case duplicateID(index: Int)

    public var description: String {
        switch self {
        // Entries are named by position, never by id: in a swapped 'BASE64:id' entry the "id" is the key itself.
        case .invalidID(let index): "data key entry \(index) has an invalid id (1-64 characters, no ':' ',' or whitespace)"
        case .notBase64(let index): "data key entry \(index) is not 'id:BASE64' with standard base64 (are id and key swapped?)"
        case .wrongLength(let index, let bytes): "data key entry \(index) is \(bytes) bytes; AES-256 needs 32"
        case .emptyRing: "the data key ring is empty"
        case .malformedEntry(let index): "data key entry \(index) is not 'id:BASE64'"
        case .duplicateID(let index): "data key entry \(index) repeats an earlier entry's id"
        }
    }
}

/// Why a sealed value could not be opened; never carries plaintext or ciphertext.
public enum SealError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The row names a key id that is not in the ring.
    case unknownKeyID(String)
    /// The tag did not verify: wrong key, tampered bytes, or a ciphertext moved to another row or field.
    case authenticationFailed

    public var description: String {
        switch self {
        case .unknownKeyID(let id): "data key '\(id)' is not in the key ring"
        case .authenticationFailed: "sealed value failed authentication (wrong key, tampered, or moved to another row or field)"
        }
    }
}

/// One AES-256 data-encryption key with its id; `description` never shows the key.
public struct DataKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The id stored next to every value sealed with this key.
    public let id: String
    // Raw bytes rather than `SymmetricKey`, which is not `Sendable` in swift-crypto on Linux.
    let keyBytes: [UInt8]
    /// The key as swift-crypto wants it.
    var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// Builds a key from its id and 32 bytes of standard base64; errors name it as entry `index` of its ring.
    public init(id: String, keyBase64: String, index: Int = 0) throws(DataKeyError) {
        guard Self.isValidID(id) else { throw .invalidID(index: index) }
        guard let bytes = Data(base64Encoded: keyBase64.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw .notBase64(index: index)
        }
        guard bytes.count == 32 else { throw .wrongLength(index: index, bytes: bytes.count) }
        self.id = id
        self.keyBytes = Array(bytes)
    }

    /// Generates a fresh random key; the base64 is returned once so the caller can store it.
    public static func generate(id: String) -> (DataKey, base64: String) {
        let base64 = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        // A fresh 32-byte key cannot fail; only a caller-chosen id can, and that is a programming error.
        guard let dataKey = try? DataKey(id: id, keyBase64: base64) else { preconditionFailure("invalid data key id '\(id)'") }
        return (dataKey, base64: base64)
    }

    /// Ids are printed in reports and parsed from `id:BASE64` lists, so they stay simple.
    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64 && !id.contains(where: { $0 == ":" || $0 == "," || $0.isWhitespace })
    }

    public var description: String { "DataKey(\(id), <redacted>)" }
    public var debugDescription: String { description }
}

/// What a sealed value is bound to: a ciphertext opens only under the same site, UID, provider and field.
public struct SealContext: Sendable, Hashable {
    public var site: String
    public var uid: String
    public var provider: String
    public var field: String

    public init(site: String, uid: String, provider: String, field: String) {
        self.site = site
        self.uid = uid
        self.provider = provider
        self.field = field
    }

    /// Associated data: a version byte, then each part as a 4-byte big-endian length and its UTF-8 bytes,
    /// so two different contexts can never produce the same bytes (no separator ambiguity).
    var associatedData: [UInt8] {
        var bytes: [UInt8] = [0x01]
        for part in [site, uid, provider, field] {
            let utf8 = Array(part.utf8)
            let count = UInt32(utf8.count)
            bytes += [
                UInt8(truncatingIfNeeded: count >> 24), UInt8(truncatingIfNeeded: count >> 16),
                UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count),
            ]
            bytes += utf8
        }
        return bytes
    }
}

/// The data-encryption keys: the first seals, every key opens (so rotation can proceed row by row).
public struct DataKeyRing: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let keys: [DataKey]
    let byID: [String: DataKey]

    /// Builds a ring; the first key is the primary (sealing) key.
    public init(keys: [DataKey]) throws(DataKeyError) {
        guard !keys.isEmpty else { throw .emptyRing }
        var byID: [String: DataKey] = [:]
        for (index, key) in keys.enumerated() {
            guard byID[key.id] == nil else { throw .duplicateID(index: index) }
            byID[key.id] = key
        }
        self.keys = keys
        self.byID = byID
    }

    /// Parses `id1:BASE64,id2:BASE64` (whitespace around entries ignored); the first entry seals.
    public static func parse(_ spec: String) throws(DataKeyError) -> DataKeyRing {
        let entries = spec.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        if entries.allSatisfy(\.isEmpty) { throw .emptyRing }
        var keys: [DataKey] = []
        for (index, entry) in entries.enumerated() {
            guard let colon = entry.firstIndex(of: ":") else { throw .malformedEntry(index: index) }
            let base64 = String(entry[entry.index(after: colon)...])
            guard !base64.isEmpty else { throw .malformedEntry(index: index) }
            keys.append(try DataKey(id: String(entry[..<colon]), keyBase64: base64, index: index))
        }
        return try DataKeyRing(keys: keys)
    }

    /// The id of the key that seals new values.
    public var primaryID: String { keys[0].id }
    /// Every id in the ring, primary first.
    public var ids: [String] { keys.map(\.id) }

    /// Seals `plaintext` under the primary key; returns nonce (12 bytes) | ciphertext | tag (16 bytes).
    public func seal(_ plaintext: String, context: SealContext) throws -> [UInt8] {
        let box = try AES.GCM.seal(Array(plaintext.utf8), using: keys[0].key, authenticating: context.associatedData)
        // `combined` is nil only for non-12-byte nonces; seal always uses a random 12-byte one.
        guard let combined = box.combined else { throw SealError.authenticationFailed }
        return Array(combined)
    }

    /// Opens a value sealed under `keyID` for exactly this `context`.
    public func open(_ sealed: [UInt8], keyID: String, context: SealContext) throws(SealError) -> String {
        guard let key = byID[keyID] else { throw .unknownKeyID(keyID) }
        let plain: Data
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            plain = try AES.GCM.open(box, using: key.key, authenticating: context.associatedData)
        } catch {
            throw .authenticationFailed
        }
        guard let text = String(validating: plain, as: UTF8.self) else { throw .authenticationFailed }
        return text
    }

    public var description: String { "DataKeyRing(primary: \(primaryID), ids: \(ids))" }
    public var debugDescription: String { description }
}
