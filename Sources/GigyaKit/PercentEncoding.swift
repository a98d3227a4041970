/// RFC 3986 percent-encoding as every Gigya SDK applies it when signing (docs/gigya-protocol.md §1.3).
public enum PercentEncoding {
    /// Whether each ASCII byte is unreserved (`A-Z a-z 0-9 - . _ ~`).
    private static let unreserved: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// Upper-case hex digits.
    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Encodes every UTF-8 byte outside the unreserved set as `%XX` (upper-case hex); a space becomes `%20`.
    public static func rfc3986(_ text: String) -> String {
        var extra = 0
        for byte in text.utf8 where !unreserved[Int(byte)] {
            extra += 2
        }
        guard extra > 0 else {
            return text
        }
        let capacity = text.utf8.count + extra
        return String(unsafeUninitializedCapacity: capacity) { output in
            var written = 0
            for byte in text.utf8 {
                if unreserved[Int(byte)] {
                    output[written] = byte
                    written += 1
                } else {
                    output[written] = UInt8(ascii: "%")
                    output[written + 1] = hex[Int(byte >> 4)]
                    output[written + 2] = hex[Int(byte & 0x0F)]
                    written += 3
                }
            }
            return written
        }
    }
}
