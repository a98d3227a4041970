public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A typed client for the emulator's `/_emulator` control routes, for tests, demos and benchmarks.
public struct EmulatorControlClient: Sendable {
    /// `http://HOST:PORT` of the emulator.
    public let baseURL: String
    /// How long one control call may take.
    public let timeout: Duration
    /// The bearer token the control routes want, if the emulator was started with one.
    let token: String?
    private let httpClient: HTTPClient

    /// A client for the emulator at `baseURL`; `token` is its control token, if it has one.
    public init(baseURL: String, token: String? = nil, httpClient: HTTPClient = .shared, timeout: Duration = .seconds(10)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.httpClient = httpClient
        self.timeout = timeout
    }

    /// A client for an emulator started in-process (with its control token, if any).
    public init(_ emulator: RunningEmulator, httpClient: HTTPClient = .shared, timeout: Duration = .seconds(10)) {
        self.init(baseURL: emulator.baseURL, token: emulator.controlToken, httpClient: httpClient, timeout: timeout)
    }

    /// `GET /_emulator/health`: whether it answers, and the API keys of the sites it serves.
    public func health() async throws(EmulatorControlError) -> EmulatorHealth {
        try await call(.GET, "/_emulator/health")
    }

    /// `POST /_emulator/login`: what a browser login through the Web SDK returns.
    public func login(_ request: EmulatorLoginRequest) async throws(EmulatorControlError) -> EmulatorLoginResult {
        try await call(.POST, "/_emulator/login", body: request)
    }

    /// Logs a user in with a provider: a new user when `uid` is nil or unknown; `apiKey` is needed when several sites are served.
    public func login(apiKey: String? = nil, uid: String? = nil, provider: String) async throws(EmulatorControlError) -> EmulatorLoginResult {
        try await login(EmulatorLoginRequest(uid: uid, provider: provider, apiKey: apiKey))
    }

    /// Logs a user in and asks for an id_token too (`include: "id_token"`), optionally with an `aud`.
    public func loginWithIDToken(
        apiKey: String? = nil, uid: String? = nil, provider: String, audience: String? = nil
    ) async throws(EmulatorControlError) -> EmulatorLoginResult {
        try await login(EmulatorLoginRequest(uid: uid, provider: provider, apiKey: apiKey, include: "id_token", audience: audience))
    }

    /// `POST /_emulator/jwt`: a token with chosen claims, lifetime, header and key.
    public func mintJWT(_ request: EmulatorJWTRequest) async throws(EmulatorControlError) -> EmulatorJWT {
        try await call(.POST, "/_emulator/jwt", body: request)
    }

    /// `POST /_emulator/jwt/rotate`: a new current signing key for the site's data centre; old keys stay unless `dropPrevious`.
    @discardableResult
    public func rotateJWTKeys(apiKey: String? = nil, dropPrevious: Bool = false) async throws(EmulatorControlError) -> EmulatorJWTKeys {
        try await call(.POST, "/_emulator/jwt/rotate", body: EmulatorJWTRotation(apiKey: apiKey, dropPrevious: dropPrevious))
    }

    /// `GET /_emulator/users/{uid}`: a user's state with plaintext provider tokens (by Gigya UID or site UID).
    public func user(uid: String, apiKey: String? = nil) async throws(EmulatorControlError) -> EmulatorUserState {
        try await call(.GET, Self.userPath(uid, apiKey: apiKey))
    }

    /// `POST /_emulator/users/{uid}/rotate`: fresh tokens for every provider session of the user.
    @discardableResult
    public func rotateTokens(uid: String, apiKey: String? = nil) async throws(EmulatorControlError) -> EmulatorUserState {
        try await call(.POST, Self.userPath(uid, suffix: "/rotate", apiKey: apiKey))
    }

    /// `POST /_emulator/users/{uid}/delete`: deletes the account and sends `accountDeleted` to the webhook, if one is set.
    @discardableResult
    public func deleteUser(uid: String, apiKey: String? = nil) async throws(EmulatorControlError) -> EmulatorUserState {
        try await call(.POST, Self.userPath(uid, suffix: "/delete", apiKey: apiKey))
    }

    /// `POST /_emulator/users`: creates many accounts at once, with provider sessions, without webhooks; all or none.
    @discardableResult
    public func createUsers(_ request: EmulatorNewUsersRequest) async throws(EmulatorControlError) -> [EmulatorUserState] {
        try await call(.POST, "/_emulator/users", body: request)
    }

    /// `POST /_emulator/users`: creates `users` on the only site, or on `apiKey`'s.
    @discardableResult
    public func createUsers(_ users: [EmulatorNewUser], apiKey: String? = nil) async throws(EmulatorControlError) -> [EmulatorUserState] {
        try await createUsers(EmulatorNewUsersRequest(apiKey: apiKey, users: users))
    }

    /// `POST /_emulator/users/{uid}/rename`: the account answers to `newUID` afterwards, as after setUID; `notify: false`
    /// skips the `accountUidChanged` webhook, as if it never reached the receiver.
    @discardableResult
    public func renameUser(
        uid: String, to newUID: String, notify: Bool = true, apiKey: String? = nil
    ) async throws(EmulatorControlError) -> EmulatorUserState {
        try await call(.POST, Self.userPath(uid, suffix: "/rename", apiKey: apiKey), body: EmulatorRenameRequest(newUid: newUID, notify: notify))
    }

    /// `POST /_emulator/users/{uid}/merge`: merges the account into the live account answering to `survivorUID`, as a
    /// setUID onto that UID does; `notify: false` skips the `accountMerged` webhook.
    @discardableResult
    public func mergeUser(
        uid: String, into survivorUID: String, notify: Bool = true, apiKey: String? = nil
    ) async throws(EmulatorControlError) -> EmulatorMergeResult {
        try await call(.POST, Self.userPath(uid, suffix: "/merge", apiKey: apiKey), body: EmulatorMergeRequest(into: survivorUID, notify: notify))
    }

    /// `POST /_emulator/users/{uid}/events`: sends an account event that changes nothing (`accountLoggedIn`, …) to the webhook.
    @discardableResult
    public func emitEvent(uid: String, type: String, apiKey: String? = nil) async throws(EmulatorControlError) -> EmulatorWebhookEvent {
        try await call(.POST, Self.userPath(uid, suffix: "/events", apiKey: apiKey), body: EmulatorEventRequest(type: type))
    }

    /// `GET /_emulator/faults`: the active faults.
    public func faults() async throws(EmulatorControlError) -> [EmulatorFault] {
        try await call(.GET, "/_emulator/faults")
    }

    /// `POST /_emulator/faults` with one fault; answers with every active fault.
    @discardableResult
    public func injectFault(_ fault: EmulatorFault) async throws(EmulatorControlError) -> [EmulatorFault] {
        try await call(.POST, "/_emulator/faults", body: fault)
    }

    /// `POST /_emulator/faults` with several faults; answers with every active fault.
    @discardableResult
    public func injectFaults(_ faults: [EmulatorFault]) async throws(EmulatorControlError) -> [EmulatorFault] {
        try await call(.POST, "/_emulator/faults", body: faults)
    }

    /// `DELETE /_emulator/faults`: removes every fault.
    public func clearFaults() async throws(EmulatorControlError) {
        let _: [EmulatorFault] = try await call(.DELETE, "/_emulator/faults")
    }

    /// `GET /_emulator/webhooks`: what happened to each webhook notification.
    public func webhookDeliveries() async throws(EmulatorControlError) -> [EmulatorWebhookDelivery] {
        try await call(.GET, "/_emulator/webhooks")
    }

    /// `GET /_emulator/webhooks/target`: where notifications go now.
    public func webhookTarget() async throws(EmulatorControlError) -> EmulatorWebhookTarget {
        try await call(.GET, "/_emulator/webhooks/target")
    }

    /// `POST /_emulator/webhooks/target`: where notifications go from the next attempt on; nil stops delivery.
    @discardableResult
    public func setWebhookTarget(_ url: String?) async throws(EmulatorControlError) -> EmulatorWebhookTarget {
        try await call(.POST, "/_emulator/webhooks/target", body: EmulatorWebhookTarget(url: url))
    }

    /// `POST /_emulator/webhooks/redeliver`: a duplicate of a notification (the latest when `nonce` is nil) with the same
    /// event ids; answers its new log entry.
    @discardableResult
    public func redeliverWebhook(nonce: String? = nil, sameBody: Bool = false) async throws(EmulatorControlError) -> EmulatorWebhookDelivery {
        try await call(.POST, "/_emulator/webhooks/redeliver", body: EmulatorRedeliveryRequest(nonce: nonce, sameBody: sameBody ? true : nil))
    }

    /// `POST /_emulator/webhooks/sign`: the HMAC and JWT header values a notification with this exact body would carry.
    public func signWebhook(_ request: EmulatorWebhookSignRequest) async throws(EmulatorControlError) -> EmulatorWebhookSignatures {
        try await call(.POST, "/_emulator/webhooks/sign", body: request)
    }

    /// `GET /_emulator/stats`: how many REST calls of each method were answered, by outcome.
    public func stats() async throws(EmulatorControlError) -> EmulatorCallStats {
        try await call(.GET, "/_emulator/stats")
    }

    /// The path of a user route; the UID is percent-encoded so any UID the emulator accepts can be addressed.
    static func userPath(_ uid: String, suffix: String = "", apiKey: String? = nil) -> String {
        let encodedUID = uid.addingPercentEncoding(withAllowedCharacters: unreserved) ?? uid
        let query = apiKey.map { "?apiKey=" + ($0.addingPercentEncoding(withAllowedCharacters: unreserved) ?? $0) } ?? ""
        return "/_emulator/users/" + encodedUID + suffix + query
    }

    /// RFC 3986 unreserved characters: everything else in a path segment or query value is percent-encoded.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// A control call without a body.
    func call<Answer: Decodable>(_ method: HTTPMethod, _ path: String) async throws(EmulatorControlError) -> Answer {
        try await send(method, path, body: nil)
    }

    /// A control call with a JSON body.
    func call<Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: some Encodable) async throws(EmulatorControlError) -> Answer {
        let data: Data
        do {
            data = try JSONEncoder().encode(body)
        } catch {
            throw .unencodableRequest(path: path)
        }
        return try await send(method, path, body: data)
    }

    /// Sends a call and decodes a 2xx answer; any other status becomes `refused` with the emulator's Gigya-shaped error.
    private func send<Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: Data?) async throws(EmulatorControlError) -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let bytes: ByteBuffer
        do {
            let response = try await httpClient.execute(request, timeout: TimeAmount(timeout))
            status = Int(response.status.code)
            // Bulk creation answers every account it made: 10,000 take about 6 MiB.
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw .transport(path: path, reason: String(describing: type(of: error)))
        }
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(status) else {
            let refusal = try? JSONDecoder().decode(ControlRefusalBody.self, from: data)
            throw .refused(path: path, status: status, errorCode: refusal?.errorCode, details: refusal?.errorDetails)
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: data)
        } catch {
            throw .undecodableAnswer(path: path)
        }
    }

    /// The fields of a refused control call's body that say why.
    private struct ControlRefusalBody: Decodable {
        let errorCode: Int?
        let errorDetails: String?
    }
}

/// What `GET /_emulator/health` answers.
public struct EmulatorHealth: Sendable, Codable, Equatable {
    /// `ok`.
    public var status: String
    /// The API keys of the sites served.
    public var sites: [String]

    /// Creates a health answer.
    public init(status: String, sites: [String]) {
        self.status = status
        self.sites = sites
    }
}

/// Why a control call failed; carries the route and the emulator's error, never a secret or token.
public enum EmulatorControlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The emulator could not be reached, or the connection failed.
    case transport(path: String, reason: String)
    /// The emulator answered with a non-2xx status and, usually, a Gigya error code and details.
    case refused(path: String, status: Int, errorCode: Int?, details: String?)
    /// A 2xx answer that is not the expected JSON.
    case undecodableAnswer(path: String)
    /// The request body could not be encoded.
    case unencodableRequest(path: String)

    public var description: String {
        switch self {
        case .transport(let path, let reason): "emulator \(path): transport failure (\(reason))"
        case .refused(let path, let status, let code, let details):
            "emulator \(path) answered HTTP \(status)" + (code.map { " errorCode \($0)" } ?? "") + (details.map { ": \($0)" } ?? "")
        case .undecodableAnswer(let path): "emulator \(path): the answer is not the expected JSON"
        case .unencodableRequest(let path): "emulator \(path): the request could not be encoded"
        }
    }
}
