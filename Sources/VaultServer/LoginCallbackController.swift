import Foundation
import GigyaKit
import HTTPTypes
import Hummingbird
import Logging
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

    private func post(_ request: Request, context: VaultRequestContext) async throws -> EditedResponse<EventPayload> {
        let fields = try await request.decode(as: LoginCallbackBody.self, context: context).fields
        let result = LoginResult(
            uid: fields["UID"] ?? "",
            uidSignature: fields["UIDSignature"] ?? "",
            signatureTimestamp: fields["signatureTimestamp"] ?? "",
            provider: fields["provider"] ?? fields["loginProvider"] ?? "",
            apiKey: fields["apiKey"],
            idToken: fields["id_token"]
        )
        let wait = try Self.preferredWait(request.headers[.prefer])
        let receipt = try await intake.accept(result)

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
        return EditedResponse(status: status, headers: headers, response: payload)
    }

    private func get(_ request: Request, context: VaultRequestContext) async throws -> EventPayload {
        try context.require(.eventsRead)
        let id = try context.pathParameter("eventId") { text in
            guard let id = UUID(uuidString: text) else {
                throw APIError.badRequest("invalid_event_id", "eventId must be a UUID", field: "eventId")
            }
            return id
        }
        let site = request.site
        // An event of a site the key is not granted is as absent as an unknown one: existence does not leak across sites.
        let found = try await withDeadline(readDeadline) { [inbox] in try await inbox.event(id: id) }
        guard let event = found, site == nil || event.site == site, context.accessKey?.sites.allows(event.site) == true else {
            throw APIError(.notFound, code: "not_found", message: "no login event with that id")
        }
        return EventPayload(event: event, duplicate: nil)
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

/// A login callback's body, JSON or form-encoded; in JSON `signatureTimestamp` may arrive as a whole number, as some
/// clients send it.
struct LoginCallbackBody: Decodable, FormDecodable, NamedFields {
    let fields: [String: String]

    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static let names = ["UID", "UIDSignature", "signatureTimestamp", "provider", "loginProvider", "apiKey", "id_token"]
    static var fieldNames: Set<String> { Set(names) }

    init(form fields: [String: String]) {
        self.fields = fields
    }

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
struct EventPayload: ResponseEncodable {
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
