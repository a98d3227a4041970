/// Standard-alphabet base64 on raw bytes, without Foundation, for the signature hot path.
enum Base64 {
    /// The standard alphabet (RFC 4648 §4), as ASCII bytes.
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Maps an ASCII byte to its 6-bit value, or 0xFF when it is not in the standard alphabet.
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        return table
    }()

    /// Encodes bytes as padded standard base64.
    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let outputCount = (bytes.count + 2) / 3 * 4
        return String(unsafeUninitializedCapacity: outputCount) { output in
            alphabet.withUnsafeBufferPointer { table in
                var written = 0
                var index = 0
                while index + 3 <= bytes.count {
                    let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                    output[written] = table[Int(value >> 18 & 0x3F)]
                    output[written + 1] = table[Int(value >> 12 & 0x3F)]
                    output[written + 2] = table[Int(value >> 6 & 0x3F)]
                    output[written + 3] = table[Int(value & 0x3F)]
                    written += 4
                    index += 3
                }
                let remaining = bytes.count - index
                if remaining > 0 {
                    var value = UInt32(bytes[index]) << 16
                    if remaining == 2 {
                        value |= UInt32(bytes[index + 1]) << 8
                    }
                    output[written] = table[Int(value >> 18 & 0x3F)]
                    output[written + 1] = table[Int(value >> 12 & 0x3F)]
                    output[written + 2] = remaining == 2 ? table[Int(value >> 6 & 0x3F)] : UInt8(ascii: "=")
                    output[written + 3] = UInt8(ascii: "=")
                    written += 4
                }
                return written
            }
        }
    }

    /// Encodes a byte array as padded standard base64.
    static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }

    /// Decodes standard base64, accepting missing `=` padding as Java's lenient decoder does; nil on any other defect.
    static func decodeLenient(_ text: String) -> [UInt8]? {
        var input = Array(text.utf8)
        while input.last == UInt8(ascii: "=") {
            input.removeLast()
        }
        // A lone trailing sextet cannot carry a whole byte; more than two `=` is never valid.
        guard input.count % 4 != 1, text.utf8.count - input.count <= 2 else {
            return nil
        }
        return decodeUnpadded(input)?.bytes
    }

    /// Decodes unpadded base64 characters (each mapped by `mapping` to the standard alphabet first); answers the bytes and
    /// the unused trailing bits, which a canonical text leaves zero. Nil when a character is outside the alphabet.
    static func decodeUnpadded(_ input: some Sequence<UInt8>, mapping: (UInt8) -> UInt8 = { $0 }) -> (bytes: [UInt8], trailingBits: UInt32)? {
        var output = [UInt8]()
        output.reserveCapacity(input.underestimatedCount * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in input {
            let value = decodeTable[Int(mapping(byte))]
            guard value != 0xFF else {
                return nil
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return (output, accumulator)
    }
}

/// The 20 bytes of an HMAC-SHA1 value, held inline so decoding a presented signature never allocates.
struct SHA1MACBytes {
    /// The raw bytes.
    var bytes: (UInt64, UInt64, UInt32) = (0, 0, 0)

    /// Twenty zero bytes.
    private init() {}

    /// Decodes the 28-character padded base64 form of a 20-byte MAC; nil when the text has any other shape.
    ///
    /// Every character is looked up, with no exit that depends on where a defect sits.
    init?(base64 text: String) {
        var text = text
        let decoded = text.withUTF8 { utf8 -> SHA1MACBytes? in
            guard utf8.count == 28, utf8[27] == UInt8(ascii: "=") else {
                return nil
            }
            return Base64.decodeTable.withUnsafeBufferPointer { table -> SHA1MACBytes? in
                var result = SHA1MACBytes()
                var invalid: UInt8 = 0
                withUnsafeMutableBytes(of: &result.bytes) { raw in
                    var written = 0
                    var group = 0
                    // 27 sextets: six full groups of four (18 bytes), then three sextets carrying 2 bytes and 2 zero bits.
                    while group < 6 {
                        let a = table[Int(utf8[group * 4])]
                        let b = table[Int(utf8[group * 4 + 1])]
                        let c = table[Int(utf8[group * 4 + 2])]
                        let d = table[Int(utf8[group * 4 + 3])]
                        invalid |= (a | b | c | d) & 0x80
                        let value = UInt32(a & 0x3F) << 18 | UInt32(b & 0x3F) << 12 | UInt32(c & 0x3F) << 6 | UInt32(d & 0x3F)
                        raw[written] = UInt8(truncatingIfNeeded: value >> 16)
                        raw[written + 1] = UInt8(truncatingIfNeeded: value >> 8)
                        raw[written + 2] = UInt8(truncatingIfNeeded: value)
                        written += 3
                        group += 1
                    }
                    let a = table[Int(utf8[24])]
                    let b = table[Int(utf8[25])]
                    let c = table[Int(utf8[26])]
                    invalid |= (a | b | c) & 0x80
                    // Non-canonical trailing bits would let two spellings name one MAC.
                    invalid |= c & 0x03
                    let value = UInt32(a & 0x3F) << 10 | UInt32(b & 0x3F) << 4 | UInt32(c & 0x3F) >> 2
                    raw[18] = UInt8(truncatingIfNeeded: value >> 8)
                    raw[19] = UInt8(truncatingIfNeeded: value)
                }
                return invalid == 0 ? result : nil
            }
        }
        guard let decoded else {
            return nil
        }
        self = decoded
    }

    /// Compares with a computed MAC in constant time: every byte is visited and differences are OR-accumulated.
    func constantTimeEquals(_ other: UnsafeRawBufferPointer) -> Bool {
        guard other.count == 20 else {
            return false
        }
        return withUnsafeBytes(of: bytes) { ConstantTime.equals($0, other) }
    }
}
