import Foundation
public import HTTPTypes
import Hummingbird
import NIOCore

/// JSON responses with ISO-8601 dates and stable key order.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status, headers: HTTPFields = [:]) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

extension HTTPField.Name {
    /// RFC 7240 `Prefer`.
    public static let prefer = Self("Prefer")!
    /// RFC 7240 `Preference-Applied`.
    public static let preferenceApplied = Self("Preference-Applied")!
}
