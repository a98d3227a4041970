/// The URL-safe base64 alphabet of JWS (RFC 7515 §2), unpadded on output and lenient about padding on input.
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
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        // docs/gigya-protocol.md §10: decode leniently (accept padding), but never the standard alphabet's `+` and `/`.
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
}
