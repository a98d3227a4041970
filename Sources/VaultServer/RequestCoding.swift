import Foundation
import GigyaKit
public import Hummingbird
public import HTTPTypes
import NIOCore
import NIOFoundationCompat

/// A request body that may also arrive form-encoded (`application/x-www-form-urlencoded`), built from its fields.
protocol FormDecodable {
    init(form fields: [String: String]) throws
}

/// A request body whose field names may be quoted back in an error: an unknown field is never named (it is the
/// sender's text).
protocol NamedFields {
    static var fieldNames: Set<String> { get }
}

/// The edge's request decoder (`request.decode(as:context:)`): the body read once within the context's
/// `maxUploadSize` (413 `payload_too_large`), JSON (or a form, for `FormDecodable` bodies) by its media type (else 415),
/// and every decoding failure a 400 in the house shape: `invalid_field` naming the field, `duplicate_field` when a key
/// repeats (parsers disagree on which of two equal keys wins, so a body that says two things is refused), else
/// `malformed_body`.
public struct VaultRequestDecoder: RequestDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let mediaType = request.headers[.contentType].flatMap(MediaType.init(from:))
        let form = T.self as? any FormDecodable.Type
        if let form, mediaType?.isType(.applicationUrlEncoded) == true {
            var request = request
            let body = try await request.collectBody(limit: context.maxUploadSize)
            guard let text = String(validating: body.readableBytesView, as: UTF8.self), let fields = FormEncoding.decode(text) else {
                throw APIError.badRequest("malformed_body", "the form body is not valid UTF-8")
            }
            return try form.init(form: fields) as! T
        }
        guard mediaType?.isType(.applicationJson) == true else {
            throw APIError(
                .unsupportedMediaType, code: "unsupported_media_type",
                message: form == nil ? "send application/json" : "send application/json or application/x-www-form-urlencoded")
        }
        var request = request
        let data = Data(buffer: try await request.collectBody(limit: context.maxUploadSize))
        let known = (T.self as? any NamedFields.Type)?.fieldNames ?? []
        let value: T
        do {
            value = try Self.json.decode(T.self, from: data)
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            let field = context.codingPath[0].stringValue
            throw APIError.badRequest("invalid_field", "the field '\(field)' must be a string", field: field)
        } catch {
            throw APIError.badRequest("malformed_body", "the body must be a JSON object")
        }
        if let repeated = Self.repeatedTopLevelKey(data) {
            throw APIError.badRequest(
                "duplicate_field", "a field appears more than once in the body", field: known.contains(repeated) ? repeated : nil)
        }
        return value
    }

    private static let json = JSONDecoder()

    /// The first key that appears twice in the top-level object of valid JSON `bytes`, or nil.
    static func repeatedTopLevelKey(_ bytes: Data) -> String? {
        var seen: Set<String> = []
        var depth = 0
        var index = bytes.startIndex
        var expectingKey = false
        while index < bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectingKey = byte == UInt8(ascii: "{") && depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectingKey = depth == 1
            case UInt8(ascii: "\""):
                var end = bytes.index(after: index)
                while end < bytes.endIndex, bytes[end] != UInt8(ascii: "\"") {
                    end = bytes[end] == UInt8(ascii: "\\") ? bytes.index(end, offsetBy: 2, limitedBy: bytes.endIndex) ?? bytes.endIndex : bytes.index(after: end)
                }
                if expectingKey {
                    // Decoded through JSON so that escaped spellings of one key count as the same key.
                    let raw = bytes[index..<min(bytes.index(after: end), bytes.endIndex)]
                    let key = (try? json.decode(String.self, from: Data(raw))) ?? String(decoding: raw, as: UTF8.self)
                    if !seen.insert(key).inserted { return key }
                    expectingKey = false
                }
                index = end
            default:
                break
            }
            if index >= bytes.endIndex { break }
            index = bytes.index(after: index)
        }
        return nil
    }
}

extension JSONEncoder {
    /// The edge's response encoder: ISO-8601 dates and sorted keys, so bodies are stable.
    static let vault: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
}

extension Request {
    /// The whole body, or 413 `payload_too_large` when it is larger than `limit`, whether the client announced its
    /// length or not (a declared `Content-Length` over the limit is refused before anything is read). The one bounded
    /// read of the edge: the request decoder and the routes that need the exact bytes use it.
    mutating func collectBody(limit: Int) async throws -> ByteBuffer {
        let tooLarge = APIError(.contentTooLarge, code: "payload_too_large", message: "the request body is limited to \(limit) bytes")
        if let length = headers[.contentLength].flatMap(Int.init), length > limit { throw tooLarge }
        do {
            return try await collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
    }
}

/// Sets the largest request body a group of routes accepts (`VaultRequestContext.maxUploadSize`).
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = VaultRequestContext
    let bytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.maxUploadSize = bytes
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    /// RFC 7240 `Prefer`.
    public static let prefer = Self("Prefer")!
    /// RFC 7240 `Preference-Applied`.
    public static let preferenceApplied = Self("Preference-Applied")!
}
