import Crypto
import Foundation
import GigyaKit
import Synchronization
import _CryptoExtras

/// The emulator's RSA signing keys, one ring per data centre as Gigya's are (docs/gigya-protocol.md §10).
///
/// A data centre's first key is made when first needed; `rotate` adds a key that becomes current. 2048-bit key
/// generation runs outside the lock, so the lock never covers crypto.
final class EmulatorJWTKeyRing: Sendable {
    /// One signing key.
    struct Key: Sendable {
        /// The key id published as `kid`.
        let kid: String
        /// The private key.
        let privateKey: _RSA.Signing.PrivateKey

        /// The public half as Gigya publishes it.
        var published: JWTPublicKey {
            let primitives = try? privateKey.publicKey.getKeyPrimitives()
            return JWTPublicKey(kid: kid, n: Base64URL.encode(primitives?.modulus ?? Data()), e: Base64URL.encode(primitives?.publicExponent ?? Data()))
        }

        /// A fresh 2048-bit key with a random kid.
        static func generate() -> Key {
            // A 2048-bit generation with the default exponent cannot fail in BoringSSL short of memory exhaustion.
            Key(kid: "emu-" + GigyaEmulator.randomHex(8), privateKey: try! _RSA.Signing.PrivateKey(keySize: .bits2048))
        }
    }

    /// The keys per data centre, current key last.
    private let rings = Mutex<[String: [Key]]>([:])

    /// Every key of a data centre, current last; makes the first key when there is none.
    func keys(dataCenter: String) -> [Key] {
        if let existing = rings.withLock({ $0[dataCenter] }), !existing.isEmpty {
            return existing
        }
        let fresh = Key.generate()
        return rings.withLock { rings in
            // Another request may have made the first key meanwhile: keep that one so every caller sees the same set.
            if let existing = rings[dataCenter], !existing.isEmpty {
                return existing
            }
            rings[dataCenter] = [fresh]
            return [fresh]
        }
    }

    /// The current signing key of a data centre.
    func current(dataCenter: String) -> Key {
        keys(dataCenter: dataCenter).last!
    }

    /// Adds a new current key; the previous ones stay published unless `dropPrevious`. Returns the data centre's keys.
    func rotate(dataCenter: String, dropPrevious: Bool) -> [Key] {
        _ = keys(dataCenter: dataCenter)
        let fresh = Key.generate()
        return rings.withLock { rings in
            rings[dataCenter] = (dropPrevious ? [] : rings[dataCenter] ?? []) + [fresh]
            return rings[dataCenter]!
        }
    }
}
