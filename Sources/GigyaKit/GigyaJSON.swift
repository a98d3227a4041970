public import Foundation

/// Any JSON value of the Gigya wire: response bodies the typed calls do not model, and JSON-valued parameters such as
/// `accounts.setAccountInfo`'s `data`. `true` and `1` stay distinct; whole numbers are written back without a fraction.
public enum GigyaJSON: Sendable, Equatable, Codable {
    /// A JSON string.
    case string(String)
    /// A JSON number (Gigya error codes and Unix times fit a `Double` exactly).
    case number(Double)
    /// A JSON boolean.
    case bool(Bool)
    /// JSON `null`.
    case null
    /// A JSON array.
    case array([GigyaJSON])
    /// A JSON object.
    case object([String: GigyaJSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool before Double: Foundation refuses to read `1` as a Bool, so `true` and `1` stay distinct.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([GigyaJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: GigyaJSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 1e15 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses a JSON document; nil when it is not JSON.
    public init?(parsing data: Data) {
        guard let value = try? JSONDecoder().decode(GigyaJSON.self, from: data) else {
            return nil
        }
        self = value
    }

    /// The member of an object, or nil.
    public subscript(key: String) -> GigyaJSON? {
        guard case .object(let members) = self else {
            return nil
        }
        return members[key]
    }

    /// The element of an array, or nil when out of range.
    public subscript(index: Int) -> GigyaJSON? {
        guard case .array(let elements) = self, elements.indices.contains(index) else {
            return nil
        }
        return elements[index]
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The number, if this is one.
    public var doubleValue: Double? {
        if case .number(let value) = self { value } else { nil }
    }

    /// The number as an integer, if this is a whole number.
    public var intValue: Int? {
        guard case .number(let value) = self, value.rounded() == value, abs(value) < 9e15 else {
            return nil
        }
        return Int(value)
    }

    /// The boolean, if this is one.
    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    /// The elements, if this is an array.
    public var arrayValue: [GigyaJSON]? {
        if case .array(let value) = self { value } else { nil }
    }

    /// The members, if this is an object.
    public var objectValue: [String: GigyaJSON]? {
        if case .object(let value) = self { value } else { nil }
    }

    /// A string or a number as text (Gigya sends timestamps and expirations either way).
    public var textValue: String? {
        switch self {
        case .string(let value): value
        case .number: intValue.map(String.init) ?? doubleValue.map { String($0) }
        case .bool(let value): String(value)
        default: nil
        }
    }

    /// Sorted JSON text, pretty-printed or compact; the body as received, so it may hold tokens: never log it.
    public func jsonText(pretty: Bool = true) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else {
            return "null"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
