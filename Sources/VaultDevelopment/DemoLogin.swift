public import AsyncHTTPClient
import Foundation
import GigyaEmulator
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `demo login`: plays the web app against a running server and emulator, end to end, and checks the stored tokens
/// against the emulator's plaintext.
public enum DemoLogin {
    /// What one demo login showed.
    public struct Report: Sendable {
        public let uid: String
        public let provider: String
        public let eventID: String
        public let status: String
        public let tokensMatch: Bool
        public let mismatchedFields: [String]
    }

    /// Why the demo could not complete.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case step(String, status: UInt, body: String)
        case unexpected(String)

        public var description: String {
            switch self {
            case .step(let step, let status, let body): "\(step) answered HTTP \(status): \(body)"
            case .unexpected(let message): message
            }
        }
    }

    /// Logs in at the emulator, posts the result, waits until stored, reads the tokens back and compares them. With
    /// `idToken`, the login asks for an id_token (`include: "id_token"`) and the callback carries it instead of the signature.
    public static func run(state: DemoState, provider: String, idToken: Bool = false, httpClient: HTTPClient) async throws -> Report {
        let emulator = state.emulatorControl(httpClient: httpClient)
        let login: EmulatorLoginResult
        do {
            login = idToken
                ? try await emulator.loginWithIDToken(apiKey: state.siteAPIKey, provider: provider)
                : try await emulator.login(apiKey: state.siteAPIKey, provider: provider)
        } catch {
            throw Failure.unexpected("emulator login failed: \(error)")
        }
        let uid = login.UID
        var callback: [String: Any] = ["UID": uid, "provider": provider, "apiKey": state.siteAPIKey]
        if idToken {
            guard let token = login.idToken else { throw Failure.unexpected("the emulator returned no id_token") }
            callback["id_token"] = token
        } else {
            callback["UIDSignature"] = login.UIDSignature
            callback["signatureTimestamp"] = login.signatureTimestamp
        }
        let accepted = try await json(
            httpClient, "POST", "\(state.serverURL)/v1/login-callbacks", body: callback, headers: ["Prefer": "wait=10"], step: "login callback"
        )
        guard let eventID = accepted["eventId"] as? String, let status = accepted["status"] as? String else {
            throw Failure.unexpected("the login callback answer lacks eventId or status")
        }
        guard status == "stored" else {
            throw Failure.unexpected("the login event \(eventID) ended as '\(status)', not 'stored': \(accepted["lastError"] ?? "no detail")")
        }

        let escapedUID = uid.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? uid
        let stored = try await json(
            httpClient, "GET", "\(state.serverURL)/v1/users/\(escapedUID)/sessions/\(provider)",
            headers: ["Authorization": "Bearer \(state.accessKey)"], step: "token read"
        )
        let user: EmulatorUserState
        do {
            user = try await emulator.user(uid: uid, apiKey: state.siteAPIKey)
        } catch {
            throw Failure.unexpected("reading the emulator's state failed: \(error)")
        }
        guard let truth = user.sessions[provider] else { throw Failure.unexpected("the emulator shows no \(provider) session for \(uid)") }
        let plaintext = ["authToken": truth.authToken, "tokenSecret": truth.tokenSecret, "sessionHandle": truth.sessionHandle]
        let mismatched = ["authToken", "tokenSecret", "sessionHandle"].filter { field in
            (stored[field] as? String) != plaintext[field]
        }
        return Report(uid: uid, provider: provider, eventID: eventID, status: status, tokensMatch: mismatched.isEmpty, mismatchedFields: mismatched)
    }

    private static func json(
        _ client: HTTPClient,
        _ method: String,
        _ url: String,
        body: [String: Any]? = nil,
        headers: [String: String] = [:],
        step: String
    ) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let text = String(buffer: bytes)
        guard (200..<300).contains(response.status.code) else { throw Failure.step(step, status: response.status.code, body: text) }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any] else {
            throw Failure.unexpected("\(step) did not answer a JSON object")
        }
        return object
    }
}
