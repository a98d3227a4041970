import Hummingbird
import NIOCore

extension Request {
    /// The whole body, or `tooLarge` when it is larger than `limit`, whether the client announced its length or not (a
    /// declared `Content-Length` over the limit is refused before anything is read).
    mutating func collectBody(upTo limit: Int, refusing tooLarge: APIError) async throws -> ByteBuffer {
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
