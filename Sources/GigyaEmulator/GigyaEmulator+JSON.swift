import Foundation
import GigyaKit
import Hummingbird
import NIOCore

extension GigyaEmulator {
    /// `time`: the emulator clock's second with the real clock's milliseconds (so a manual clock shows in responses).
    static func formattedTime(clock: any WallClock) -> String {
        let realMilliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        return GigyaTime.format(unixMilliseconds: clock.now() * 1000 + realMilliseconds % 1000)
    }

    /// A JSON response from a JSON-compatible object.
    static func jsonResponse(_ object: Any, status: Int) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// A JSON response from an `Encodable` value.
    static func jsonResponse(encoding value: some Encodable, status: Int = 200) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
