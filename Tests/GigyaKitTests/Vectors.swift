import Foundation
import Testing

/// The official-SDK vector file (see Fixtures/README.md), loaded once.
enum Vectors {
    /// The whole document; never mutated after loading, so sharing it across test tasks is safe.
    nonisolated(unsafe) static let root: [String: Any] = {
        guard let url = Bundle.module.url(forResource: "official-sdk-vectors", withExtension: "json", subdirectory: "Fixtures"),
            let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            fatalError("Fixtures/official-sdk-vectors.json is missing or not a JSON object")
        }
        return object
    }()

    /// A top-level section.
    static func section(_ name: String) -> [String: Any] {
        root[name] as? [String: Any] ?? [:]
    }

    /// The test secret every vector uses.
    static let secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
}

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
