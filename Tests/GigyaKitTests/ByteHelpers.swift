import Foundation

/// Lowercase hex of bytes.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// Bytes of a hex string.
func bytes(hex text: String) -> [UInt8] {
    var result: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        result.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return result
}

/// Standard base64 of bytes, through Foundation (an independent encoder for cross-checks).
func base64(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString()
}
