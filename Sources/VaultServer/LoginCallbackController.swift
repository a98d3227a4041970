import Foundation
import GigyaKit
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import VaultCore
import VaultStore

/// `POST /v1/login-callbacks` (browsers and web apps post login results) and `GET /v1/login-callbacks/{eventId}`.
struct LoginCallbackController: Sendable {
    /// Largest accepted callback body; a login result is a few hundred bytes.
    static let maxBodyBytes = 16 * 1024
    /// Longest `Prefer: wait=N` honoured, in seconds.
    static let maxWaitSeconds = 10

    let intake: LoginIntake
    let inbox: any EventInbox
    /// How long reading an event may take.
    let readDeadline: Duration

    func addRoutes(to router: Router<VaultRequestContext>, authenticator: AccessKeyAuthenticator) {
        router.post("/v1/login-callbacks") { request, context in
            try await self.post(request, context: context)
        }
        router.group("/v1/login-callbacks")
            .add(middleware: authenticator)
            .get("{eventId}") { request, context in
                try await self.get(request, context: context)
            }
    }

    private func post(_ request: Request, context: VaultRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: Self.maxBodyBytes, refusing: Self.tooLarge)
        let fields = try Self.parseFields(body: body, contentType: request.headers[.contentType])
        let result = LoginResult(
            uid: fields["UID"] ?? "",
            uidSignature: fields["UIDSignature"] ?? "",
            signatureTimestamp: fields["signatureTimestamp"] ?? "",
            provider: fields["provider"] ?? fields["loginProvider"] ?? "",
            apiKey: fields["apiKey"],
            idToken: fields["id_token"]
        )
        let wait = try Self.preferredWait(request.headers[.prefer])

        let receipt: IntakeReceipt
        do {
            receipt = try await intake.accept(result)
        } catch let error as IntakeError {
            throw APIError(error)
        } catch let error as IntakeUnavailable {
            context.logger.warning("login callback not acknowledged", metadata: ["reason": "\(error)"])
            throw APIError(error)
        }

        var status: HTTPResponse.Status = receipt.duplicate ? .ok : .accepted
        var payload = EventPayload(eventID: receipt.eventID, status: receipt.status.rawValue, duplicate: receipt.duplicate)
        var headers: HTTPFields = [.location: "/v1/login-callbacks/\(receipt.eventID.uuidString.lowercased())"]
        if let wait {
            // The callback is stored: a failure to learn its outcome now must not turn that into an error.
            if let (event, waited) = try? await intake.awaitOutcome(eventID: receipt.eventID, timeout: .seconds(wait)) {
                if waited { headers[.preferenceApplied] = "wait=\(wait)" }
                if let event {
                    payload = EventPayload(event: event, duplicate: receipt.duplicate)
                    if event.status != LoginEventStatus.pending && event.status != LoginEventStatus.processing { status = .ok }
                }
            }
        }
        return try JSONResponse.make(payload, status: status, headers: headers)
    }

    private func get(_ request: Request, context: VaultRequestContext) async throws -> Response {
        try context.require(.eventsRead)
        guard let id = context.parameters.get("eventId").flatMap(UUID.init(uuidString:)) else {
            throw APIError.badRequest("invalid_event_id", "eventId must be a UUID", field: "eventId")
        }
        let site = request.uri.queryParameters.get("site")
        // An event of a site the key is not granted is as absent as an unknown one: existence does not leak across sites.
        let found = try await withDeadline(readDeadline) { [inbox] in try await inbox.event(id: id) }
        guard let event = found, site == nil || event.site == site, context.accessKey?.sites.allows(event.site) == true else {
            throw APIError(.notFound, code: "not_found", message: "no login event with that id")
        }
        return try JSONResponse.make(EventPayload(event: event, duplicate: nil), status: .ok)
    }

    static let tooLarge = APIError(
        .contentTooLarge,
        code: "payload_too_large",
        message: "login callbacks are limited to \(maxBodyBytes) bytes"
    )

    /// Reads the callback's fields from a JSON object or a form-encoded body; anything else is 415.
    static func parseFields(body: ByteBuffer, contentType: String?) throws -> [String: String] {
        let mediaType = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let bytes = Data(buffer: body)
        switch mediaType {
        case "application/json":
            return try parseJSON(bytes)
        case "application/x-www-form-urlencoded":
            guard let text = String(data: bytes, encoding: .utf8), let fields = FormEncoding.decode(text) else {
                throw APIError.badRequest("malformed_body", "the form body is not valid UTF-8")
            }
            return fields
        default:
            throw APIError(
                .unsupportedMediaType,
                code: "unsupported_media_type",
                message: "send application/json or application/x-www-form-urlencoded"
            )
        }
    }

    private static func parseJSON(_ bytes: Data) throws -> [String: String] {
        let body: CallbackJSON
        do {
            body = try JSONDecoder().decode(CallbackJSON.self, from: bytes)
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            let field = context.codingPath[0].stringValue
            throw APIError.badRequest("invalid_field", "the field '\(field)' must be a string", field: field)
        } catch {
            throw APIError.badRequest("malformed_body", "the body must be a JSON object")
        }
        // JSON parsers disagree on which of two equal keys wins; a login result that says two things is refused.
        if let repeated = repeatedTopLevelKey(bytes) {
            let field = CallbackJSON.names.contains(repeated) ? repeated : nil
            throw APIError.badRequest("duplicate_field", "a field appears more than once in the body", field: field)
        }
        return body.fields
    }

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
                    let key = (try? JSONDecoder().decode(String.self, from: Data(raw))) ?? String(decoding: raw, as: UTF8.self)
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

    /// `Prefer: wait=N` (RFC 7240): how long to wait for the outcome, capped; a malformed value is a 400.
    static func preferredWait(_ header: String?) throws -> Int? {
        guard let header else { return nil }
        for preference in header.split(separator: ",") {
            let parts = preference.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.first?.lowercased() == "wait" else { continue }
            guard parts.count == 2, let seconds = Int(parts[1]), seconds >= 0 else {
                throw APIError.badRequest("invalid_prefer", "Prefer: wait must be a whole number of seconds", field: "Prefer")
            }
            return min(seconds, maxWaitSeconds)
        }
        return nil
    }
}

/// The JSON form of a login callback; `signatureTimestamp` may arrive as a whole number, as some clients send it.
struct CallbackJSON: Decodable {
    let fields: [String: String]

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let names = ["UID", "UIDSignature", "signatureTimestamp", "provider", "loginProvider", "apiKey", "id_token"]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var fields: [String: String] = [:]
        for name in Self.names {
            let key = Key(stringValue: name)
            guard container.contains(key), try !container.decodeNil(forKey: key) else { continue }
            if let number = try? container.decode(Int64.self, forKey: key) {
                fields[name] = String(number)
            } else {
                fields[name] = try container.decode(String.self, forKey: key)
            }
        }
        self.fields = fields
    }
}

/// The public view of a login event.
struct EventPayload: Encodable {
    struct Failure: Encodable {
        let gigyaCode: Int?
        let message: String
    }

    let eventId: String
    let status: String
    let duplicate: Bool?
    let provider: String?
    let attempts: Int?
    let lastError: Failure?
    let createdAt: Date?
    let completedAt: Date?

    init(eventID: UUID, status: String, duplicate: Bool) {
        self.eventId = eventID.uuidString.lowercased()
        self.status = status
        self.duplicate = duplicate
        self.provider = nil
        self.attempts = nil
        self.lastError = nil
        self.createdAt = nil
        self.completedAt = nil
    }

    init(event: LoginEvent, duplicate: Bool?) {
        self.eventId = event.id.uuidString.lowercased()
        self.status = event.status.rawValue
        self.duplicate = duplicate
        self.provider = event.provider
        self.attempts = event.attempts
        self.lastError = event.lastErrorMessage.map { Failure(gigyaCode: event.lastErrorCode, message: $0) }
        self.createdAt = event.createdAt
        self.completedAt = event.completedAt
    }
}
