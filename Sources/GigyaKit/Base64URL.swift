/// The URL-safe base64 alphabet of JWS (RFC 7515 §2): unpadded on output; on input, lenient for published keys and
/// canonical-only for tokens.
public enum Base64URL {
    /// Encodes bytes as unpadded base64url.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = Base64.encode(Array(bytes))
        while text.last == "=" {
            text.removeLast()
        }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    /// Decodes base64url with or without `=` padding; nil when any character is outside the URL-safe alphabet.
    ///
    /// For key material fetched from Gigya (JWKS `n` and `e`), where a stray pad costs nothing.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var standard = [UInt8]()
        standard.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "+"), UInt8(ascii: "/"): return nil
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/"))
            default: standard.append(byte)
            }
        }
        return Base64.decodeLenient(String(decoding: standard, as: UTF8.self))
    }

    /// Decodes the one canonical spelling of some bytes: unpadded base64url whose unused trailing bits are zero (RFC 7515
    /// §2, RFC 4648 §3.5); nil for padding, a length that cannot end a byte, non-zero trailing bits, or any other character.
    ///
    /// Tokens are decoded this way so that one signature has one spelling: a lenient decoder lets `xx`, `xx==` and `xy`
    /// (differing only in ignored bits) name the same bytes, and each spelling would make a fresh replay key.
    public static func decodeCanonical(_ text: some StringProtocol) -> [UInt8]? {
        guard text.utf8.count % 4 != 1 else {
            return nil
        }
        // `+`, `/` and `=` map to nothing the table knows, so they are refused with every other stranger.
        let decoded = Base64.decodeUnpadded(text.utf8) { byte in
            switch byte {
            case UInt8(ascii: "-"): UInt8(ascii: "+")
            case UInt8(ascii: "_"): UInt8(ascii: "/")
            case UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="): 0
            default: byte
            }
        }
        // What is left (2 or 4 bits) must be zero, or another text decodes to the same bytes.
        guard let decoded, decoded.trailingBits == 0 else {
            return nil
        }
        return decoded.bytes
    }
}
