import Foundation
import GigyaKit

extension GigyaJSON {
    /// The value as `JSONSerialization` writes it, for Gigya replies.
    var serializable: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): value
        case .number(let value): value.rounded() == value && abs(value) < 1e15 ? Int(value) as Any : value as Any
        case .string(let value): value
        case .array(let value): value.map(\.serializable)
        case .object(let value): value.mapValues(\.serializable)
        }
    }
}
