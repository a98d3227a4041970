/// How getSessionInfo pads before encrypting (its `paddingMode` parameter, docs/gigya-protocol.md §4).
public enum PaddingMode: String, Sendable, CaseIterable {
    /// PKCS#5, identical to PKCS#7 with 16-byte blocks.
    case pkcs5 = "PKCS5"
    /// PKCS#7, Gigya's default and the mode session-vault always asks for.
    case pkcs7 = "PKCS7"
    /// Zero bytes, stripped after decryption.
    case zeros = "ZEROS"

    /// Parses a mode name case-insensitively.
    public init?(parsing text: String) {
        self.init(rawValue: text.uppercased())
    }
}

/// Why a token could not be encrypted or decrypted; never carries key or plaintext material.
public enum TokenCipherError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The secret decodes to a length AES cannot use (not 16, 24 or 32 bytes).
    case invalidKeyLength(Int)
    /// A field is not standard base64.
    case notBase64(field: String)
    /// The IV is not 16 bytes.
    case invalidIV
    /// The ciphertext is empty or not a whole number of 16-byte blocks.
    case invalidCiphertextLength
    /// The padding is not valid for the mode (often a wrong key or IV).
    case badPadding
    /// The plaintext is not UTF-8 (often a wrong key or IV).
    case notUTF8

    public var description: String {
        switch self {
        case .invalidKeyLength(let count): "the secret decodes to \(count) bytes; AES needs 16, 24 or 32"
        case .notBase64(let field): "\(field) is not base64"
        case .invalidIV: "the IV is not 16 bytes"
        case .invalidCiphertextLength: "the ciphertext is not a non-empty multiple of 16 bytes"
        case .badPadding: "the padding is invalid (wrong key, IV or padding mode?)"
        case .notUTF8: "the plaintext is not UTF-8 (wrong key or IV?)"
        }
    }
}

/// AES-CBC for getSessionInfo's `tokenSecret` and `sessionHandle`, keyed with the decoded partner secret (docs/gigya-protocol.md §4).
///
/// A standard 32-character partner secret decodes to 24 bytes, so this is usually AES-192-CBC.
public struct TokenCipher: Sendable {
    /// The AES key: the secret's decoded bytes.
    private let key: [UInt8]

    /// Uses the secret's bytes as the AES key.
    public init(secret: GigyaSecret) throws(TokenCipherError) {
        guard [16, 24, 32].contains(secret.keyBytes.count) else {
            throw .invalidKeyLength(secret.keyBytes.count)
        }
        self.key = secret.keyBytes
    }

    /// Decrypts a base64 ciphertext with a base64 IV and returns the UTF-8 plaintext.
    public func decrypt(_ ciphertextBase64: String, ivBase64: String, padding: PaddingMode = .pkcs7) throws(TokenCipherError) -> String {
        guard let ciphertext = Base64.decodeLenient(ciphertextBase64) else {
            throw .notBase64(field: "ciphertext")
        }
        guard let iv = Base64.decodeLenient(ivBase64) else {
            throw .notBase64(field: "iv")
        }
        let padded = try AESCBC.apply(.decrypt, to: ciphertext, key: key, iv: iv)
        let plaintext = try Self.unpad(padded, mode: padding)
        guard let text = String(validating: plaintext, as: UTF8.self) else {
            throw .notUTF8
        }
        return text
    }

    /// Encrypts UTF-8 text (for the emulator) and returns base64 ciphertext.
    public func encrypt(_ plaintext: String, iv: [UInt8], padding: PaddingMode) throws(TokenCipherError) -> String {
        let padded = Self.pad(Array(plaintext.utf8), mode: padding)
        return Base64.encode(try AESCBC.apply(.encrypt, to: padded, key: key, iv: iv))
    }

    /// Sixteen random bytes from the system generator.
    public static func randomIV() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Pads to whole blocks: PKCS#7 always adds 1 to 16 bytes; ZEROS adds none to an aligned non-empty text.
    static func pad(_ bytes: [UInt8], mode: PaddingMode) -> [UInt8] {
        switch mode {
        case .pkcs5, .pkcs7:
            let count = 16 - bytes.count % 16
            return bytes + [UInt8](repeating: UInt8(count), count: count)
        case .zeros:
            // .NET `PaddingMode.Zeros` adds no block to aligned input (docs/gigya-protocol.md §4); an empty text still needs one block.
            let count = bytes.isEmpty ? 16 : (16 - bytes.count % 16) % 16
            return bytes + [UInt8](repeating: 0, count: count)
        }
    }

    /// Removes padding, checking PKCS#7 strictly.
    static func unpad(_ bytes: [UInt8], mode: PaddingMode) throws(TokenCipherError) -> ArraySlice<UInt8> {
        switch mode {
        case .pkcs5, .pkcs7:
            guard let last = bytes.last, (1...16).contains(last), Int(last) <= bytes.count else {
                throw .badPadding
            }
            guard bytes.suffix(Int(last)).allSatisfy({ $0 == last }) else {
                throw .badPadding
            }
            return bytes.dropLast(Int(last))
        case .zeros:
            var end = bytes.endIndex
            while end > bytes.startIndex, bytes[end - 1] == 0 {
                end -= 1
            }
            return bytes[..<end]
        }
    }
}
