import Crypto
import _CryptoExtras

/// The one place that touches `AES._CBC`, which is underscored API in `_CryptoExtras`: a future rename touches one file.
enum AESCBC {
    /// The direction of the cipher.
    enum Operation {
        case encrypt
        case decrypt
    }

    /// Runs AES-CBC without padding over whole blocks; the caller pads and unpads.
    static func apply(_ operation: Operation, to input: [UInt8], key: [UInt8], iv: [UInt8]) throws(TokenCipherError) -> [UInt8] {
        guard [16, 24, 32].contains(key.count) else {
            throw .invalidKeyLength(key.count)
        }
        guard iv.count == 16, let cbcIV = try? AES._CBC.IV(ivBytes: iv) else {
            throw .invalidIV
        }
        guard !input.isEmpty, input.count % 16 == 0 else {
            throw .invalidCiphertextLength
        }
        let symmetricKey = SymmetricKey(data: key)
        do {
            switch operation {
            case .encrypt:
                return Array(try AES._CBC.encrypt(input, using: symmetricKey, iv: cbcIV, noPadding: true))
            case .decrypt:
                return Array(try AES._CBC.decrypt(input, using: symmetricKey, iv: cbcIV, noPadding: true))
            }
        } catch {
            // Unreachable after the checks above; kept typed so no input can crash the caller.
            throw .invalidCiphertextLength
        }
    }
}
