import Foundation
import GigyaKit
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A site with its secrets decoded once.
struct SiteKeys: Sendable {
    /// The site as configured.
    let site: EmulatorSite
    /// The partner secret: verifies signatures, signs logins and webhooks, keys the token cipher.
    let partnerSecret: GigyaSecret
    /// AES-CBC under the partner secret (protocol.md §4).
    let cipher: TokenCipher
    /// User-key secrets by user key.
    let userKeys: [String: GigyaSecret]
}

/// A REST call that passed every request check.
struct AuthenticatedCall {
    /// The site of its `apiKey`.
    let site: SiteKeys
    /// Every received parameter.
    let params: [String: String]
    /// `http`, or `https` when a trusted proxy says so.
    let scheme: String

    /// The `UID` parameter (the REST docs' spelling), or `uid` as the Python vectors send it.
    var uid: String? {
        params["UID"].flatMap { $0.isEmpty ? nil : $0 } ?? params["uid"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// The REST methods the emulator serves, with the parameters each requires (checked before the signature, as 400002).
enum EmulatedMethod: String, CaseIterable {
    case getSessionInfo = "socialize.getSessionInfo"
    case setUID = "socialize.setUID"
    case notifyRegistration = "socialize.notifyRegistration"
    case getUserInfo = "socialize.getUserInfo"
    case getAccountInfo = "accounts.getAccountInfo"
    case setAccountInfo = "accounts.setAccountInfo"

    /// Method parameters that must be present and non-empty.
    var requiredParameters: [String] {
        switch self {
        case .getSessionInfo: ["UID", "provider"]
        case .setUID, .notifyRegistration: ["UID", "siteUID"]
        case .getUserInfo, .getAccountInfo, .setAccountInfo: ["UID"]
        }
    }
}

/// The shared engine behind every route: sites, state, faults, webhooks and the request checks.
final class EmulatorCore: Sendable {
    let sites: [String: SiteKeys]
    let apiKeys: [String]
    let store = EmulatorStore()
    let faults = FaultInjector()
    let webhooks: WebhookDispatcher?
    let clock: any WallClock
    let window: Int64
    let trustForwardedProto: Bool
    let logger: Logger

    /// Decodes the sites' secrets; the sites must have passed `GigyaEmulator.validate`.
    init(configuration: EmulatorConfiguration) throws(EmulatorSiteError) {
        try GigyaEmulator.validate(configuration.sites)
        var sites: [String: SiteKeys] = [:]
        for site in configuration.sites {
            guard let secret = try? GigyaSecret(base64: site.partnerSecret), let cipher = try? TokenCipher(secret: secret) else {
                throw .invalidSecret(apiKey: site.apiKey, userKey: nil)
            }
            let userKeys = site.userKeys.compactMapValues { try? GigyaSecret(base64: $0) }
            sites[site.apiKey] = SiteKeys(site: site, partnerSecret: secret, cipher: cipher, userKeys: userKeys)
        }
        self.sites = sites
        self.apiKeys = configuration.sites.map(\.apiKey)
        self.clock = configuration.clock
        self.window = configuration.requestWindowSeconds
        self.trustForwardedProto = configuration.trustForwardedProto
        self.logger = configuration.logger
        self.webhooks = configuration.webhookURL.map {
            WebhookDispatcher(
                url: $0, retryDelays: configuration.webhookRetryDelays, timeout: configuration.webhookTimeout, logger: configuration.logger
            )
        }
    }

    // MARK: - REST

    /// Answers `POST|GET /<namespace>.<method>`: parse, faults, request checks, then the method.
    func handleREST(_ request: Request, method: String, channel: any Channel) async throws -> Response {
        var request = request
        var params: [String: String] = [:]
        var malformed = false
        if let query = request.uri.query, !query.isEmpty {
            if let decoded = FormEncoding.decode(query) {
                params = decoded
            } else {
                malformed = true
            }
        }
        if request.method == .post {
            let body = try await request.collectBody(upTo: 1 << 20)
            if body.readableBytes > 0 {
                // The form body wins over a query string holding the same key.
                if let decoded = FormEncoding.decode(String(buffer: body)) {
                    params.merge(decoded) { _, body in body }
                } else {
                    malformed = true
                }
            }
        }
        let httpStatusCodes = params["httpStatusCodes"]?.lowercased() == "true"
        let context = params["context"]
        /// Renders a reply for this call.
        func respond(_ reply: GigyaReply, forcedStatus: Int? = nil) -> Response {
            reply.response(httpStatusCodes: httpStatusCodes, clock: clock, context: context, forcedStatus: forcedStatus)
        }

        let outcome = faults.outcome(for: method)
        if outcome.latencyMs > 0 {
            try await Task.sleep(for: .milliseconds(outcome.latencyMs))
        }
        switch outcome.failure {
        case .drop:
            // A real dropped connection: close the socket before any byte of a response is written.
            try? await channel.close(mode: .all)
            throw DroppedConnection()
        case .httpStatus(let status, let code):
            return respond(.error(GigyaErrorCode(rawValue: code), "injected fault"), forcedStatus: status)
        case .gigyaError(let code):
            return respond(.error(GigyaErrorCode(rawValue: code), "injected fault"))
        case nil:
            break
        }

        if malformed {
            return respond(.error(.invalidRequestFormat, "the parameters are not valid UTF-8 form encoding"))
        }
        guard let emulated = EmulatedMethod(rawValue: method) else {
            return respond(.error(.invalidRequestFormat, "the emulator does not implement \(method)"))
        }
        if let format = params["format"], format.lowercased() != "json" {
            return respond(.error(.invalidRequestFormat, "format=\(format) is not supported by the emulator; use json"))
        }
        let call: AuthenticatedCall
        switch authenticate(request, params: params, method: emulated) {
        case .success(let authenticated):
            call = authenticated
        case .failure(let refusal):
            logger.debug("request refused", metadata: ["method": "\(method)", "errorCode": "\(refusal.code.rawValue)"])
            return respond(refusal.reply)
        }
        let reply: GigyaReply
        switch emulated {
        case .getSessionInfo: reply = getSessionInfo(call)
        case .setUID: reply = setSiteUID(call, register: false)
        case .notifyRegistration: reply = setSiteUID(call, register: true)
        case .getUserInfo: reply = getUserInfo(call)
        case .getAccountInfo: reply = getAccountInfo(call)
        case .setAccountInfo: reply = setAccountInfo(call)
        }
        return respond(reply)
    }

    /// Gigya's request checks, in this order: apiKey (400093), the method's required parameters (400002), `secret` over
    /// HTTP (403006), then either the secret itself (403010) or: timestamp/nonce/sig present (400002), user key and
    /// signature (403003), timestamp window (403002), nonce (403004).
    func authenticate(_ request: Request, params: [String: String], method: EmulatedMethod) -> Result<AuthenticatedCall, Refusal> {
        guard let apiKey = params["apiKey"], !apiKey.isEmpty else {
            return .failure(.error(.invalidAPIKey, "Missing apiKey parameter"))
        }
        guard let site = sites[apiKey] else {
            return .failure(.error(.invalidAPIKey, "Invalid ApiKey parameter"))
        }
        if let missing = missingParameter(params, method.requiredParameters) {
            return .failure(.error(.missingRequiredParameter, "Missing required parameter: \(missing)"))
        }
        let scheme = requestScheme(request)
        if let presented = params["secret"] {
            // Protocol.md §1.4: a secret in clear is refused over plain HTTP.
            guard scheme == "https" else {
                return .failure(.error(.secretSentOverHTTP, "Secret Sent Over Http"))
            }
            let userKey = params["userKey"]
            guard let expected = userKey.map({ site.site.userKeys[$0] }) ?? site.site.partnerSecret,
                constantTimeEqual(presented, expected)
            else {
                return .failure(.error(.invalidSecret, "Invalid secret"))
            }
            return .success(AuthenticatedCall(site: site, params: params, scheme: scheme))
        }
        if let missing = missingParameter(params, ["timestamp", "nonce", "sig"]) {
            return .failure(.error(.missingRequiredParameter, "Missing required parameter: \(missing)"))
        }
        guard let secret = secretFor(site, userKey: params["userKey"]) else {
            return .failure(.error(.invalidRequestSignature, "Invalid userKey for this site"))
        }
        guard let url = signedURL(request, scheme: scheme) else {
            return .failure(.error(.invalidRequestFormat, "the request has no Host header"))
        }
        guard RequestSignatureCheck.isValid(httpMethod: request.method.rawValue, url: url, params: params, secret: secret) else {
            return .failure(.error(.invalidRequestSignature, "Invalid request signature"))
        }
        guard let timestamp = Int64(params["timestamp"]!) else {
            return .failure(.error(.invalidParameterValue, "Invalid parameter value: timestamp"))
        }
        let now = clock.now()
        guard abs(now - timestamp) <= window else {
            return .failure(.error(.requestHasExpired, "Request has expired"))
        }
        // A nonce must be remembered for as long as a request carrying it could still pass the timestamp check.
        let forgetAfter = max(now, timestamp) + window + 1
        guard store.rememberNonce(params["nonce"]!, apiKey: apiKey, forgetAfter: forgetAfter, now: now, window: window) else {
            return .failure(.error(.duplicateNonce, "Duplicate nonce"))
        }
        return .success(AuthenticatedCall(site: site, params: params, scheme: scheme))
    }

    /// The first required parameter that is absent or empty (`UID` may also be spelled `uid`).
    private func missingParameter(_ params: [String: String], _ names: [String]) -> String? {
        names.first { name in
            if name == "UID" {
                return (params["UID"] ?? "").isEmpty && (params["uid"] ?? "").isEmpty
            }
            return (params[name] ?? "").isEmpty
        }
    }

    /// The partner secret, or the user key's secret; nil for a user key the site does not have.
    private func secretFor(_ site: SiteKeys, userKey: String?) -> GigyaSecret? {
        guard let userKey else {
            return site.partnerSecret
        }
        return site.userKeys[userKey]
    }

    /// Compares two strings without an early exit.
    private func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8)
        let b = Array(right.utf8)
        guard a.count == b.count else {
            return false
        }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// `http`, unless the configuration trusts a proxy's `X-Forwarded-Proto: https`.
    func requestScheme(_ request: Request) -> String {
        if trustForwardedProto, let forwarded = request.headers[HTTPField.Name("X-Forwarded-Proto")!] {
            let first = forwarded.split(separator: ",").first.map { $0.trimmingCharacters(in: CharacterSet.whitespaces).lowercased() }
            if first == "https" {
                return "https"
            }
        }
        return "http"
    }

    /// The URL as the client addressed it: scheme, Host header with its port, raw path (protocol.md §1.3).
    func signedURL(_ request: Request, scheme: String) -> String? {
        guard let host = request.head.authority , !host.isEmpty else {
            return nil
        }
        return scheme + "://" + host + request.uri.path
    }

    // MARK: - Methods

    /// The live user the call's `UID` names, or Gigya's "Unauthorized user".
    private func user(for call: AuthenticatedCall) -> Result<EmulatorUserState, Refusal> {
        if let upper = call.params["UID"], let lower = call.params["uid"], !upper.isEmpty, !lower.isEmpty, upper != lower {
            return .failure(.error(.invalidParameterValue, "Invalid parameter value: UID and uid differ"))
        }
        guard let uid = call.uid, let user = store.activeUser(apiKey: call.site.site.apiKey, uid: uid) else {
            return .failure(.error(.unauthorizedUser, "Unauthorized user"))
        }
        return .success(user)
    }

    /// `socialize.getSessionInfo` (protocol.md §4).
    func getSessionInfo(_ call: AuthenticatedCall) -> GigyaReply {
        let user: EmulatorUserState
        switch self.user(for: call) {
        case .success(let found): user = found
        case .failure(let refusal): return refusal.reply
        }
        let provider = call.params["provider"]!
        var padding = PaddingMode.pkcs7
        if let requested = call.params["paddingMode"] {
            guard let parsed = PaddingMode(parsing: requested) else {
                return .error(.invalidParameterValue, "Invalid parameter value: paddingMode")
            }
            padding = parsed
        }
        guard let session = user.sessions[provider], session.sessionExpiration == 0 || session.sessionExpiration > clock.now() else {
            return .error(.noValidSession, "No valid session for provider \(provider)")
        }
        // Over HTTP the fields are always encrypted; over HTTPS `encrypt` defaults to false (getSessionInfo JS docs).
        let encrypt = call.scheme == "http" || call.params["encrypt"]?.lowercased() == "true" || call.params["encryptAll"]?.lowercased() == "true"
        let encryptAll = call.params["encryptAll"]?.lowercased() == "true"
        var fields: [String: Any] = [
            "authToken": session.authToken,
            "tokenSecret": session.tokenSecret,
            "sessionHandle": session.sessionHandle,
            "tokenExpirationUTC": String(session.tokenExpiration),
            "sessionExpiration": String(session.sessionExpiration),
            "providerUID": session.providerUID,
        ]
        if encrypt {
            let iv = TokenCipher.randomIV()
            do {
                fields["tokenSecret"] = try call.site.cipher.encrypt(session.tokenSecret, iv: iv, padding: padding)
                fields["sessionHandle"] = try call.site.cipher.encrypt(session.sessionHandle, iv: iv, padding: padding)
                if encryptAll {
                    fields["authToken"] = try call.site.cipher.encrypt(session.authToken, iv: iv, padding: padding)
                }
            } catch {
                return .error(.generalServerError, "token encryption failed")
            }
            fields["IV"] = Data(iv).base64EncodedString()
        }
        if call.params["signIDs"]?.lowercased() == "true" {
            let timestamp = String(clock.now())
            fields["timestamp"] = timestamp
            fields["providerUIDSig"] = call.site.partnerSecret.signature(
                for: SignatureBase.providerUID(timestamp: timestamp, providerUID: session.providerUID)
            )
        }
        return .ok(fields)
    }

    /// `socialize.setUID` and `socialize.notifyRegistration` (protocol.md §3).
    func setSiteUID(_ call: AuthenticatedCall, register: Bool) -> GigyaReply {
        let user: EmulatorUserState
        switch self.user(for: call) {
        case .success(let found): user = found
        case .failure(let refusal): return refusal.reply
        }
        let siteUID = call.params["siteUID"]!
        guard siteUID.utf8.allSatisfy({ $0 < 0x80 }) else {
            return .error(.invalidParameterValue, "Invalid parameter value: siteUID must be ASCII")
        }
        guard siteUID.utf8.count <= 252 else {
            return .error(.invalidParameterValue, "Invalid parameter value: siteUID is longer than 252 characters")
        }
        guard siteUID != user.gigyaUID else {
            return .error(.invalidParameterValue, "Invalid parameter value: siteUID must be different than the Gigya UID")
        }
        do {
            guard try store.setSiteUID(apiKey: call.site.site.apiKey, uid: user.UID, siteUID: siteUID, register: register) != nil else {
                return .error(.unauthorizedUser, "Unauthorized user")
            }
        } catch {
            return .error(.invalidParameterValue, "Invalid parameter value: siteUID is already used by another user")
        }
        return .ok()
    }

    /// `socialize.getUserInfo`: the user object, enough for reconciliation.
    func getUserInfo(_ call: AuthenticatedCall) -> GigyaReply {
        switch self.user(for: call) {
        case .success(let user): .ok(Self.userObject(user))
        case .failure(let refusal): refusal.reply
        }
    }

    /// `accounts.getAccountInfo`: the account, enough for reconciliation.
    func getAccountInfo(_ call: AuthenticatedCall) -> GigyaReply {
        let user: EmulatorUserState
        switch self.user(for: call) {
        case .success(let found): user = found
        case .failure(let refusal): return refusal.reply
        }
        var profile: [String: Any] = [:]
        profile["email"] = user.email
        profile["firstName"] = user.firstName
        profile["lastName"] = user.lastName
        var fields: [String: Any] = [
            "UID": user.UID,
            "isSiteUID": user.siteUID != nil,
            "isActive": true,
            "isRegistered": user.isRegistered,
            "isVerified": user.email != nil,
            "loginProvider": user.loginProvider,
            "socialProviders": Self.providers(user).joined(separator: ","),
            "created": GigyaTime.format(unixMilliseconds: user.created * 1000),
            "createdTimestamp": user.created * 1000,
            "lastLogin": GigyaTime.format(unixMilliseconds: user.lastLogin * 1000),
            "lastLoginTimestamp": user.lastLogin * 1000,
            "profile": profile,
            "data": user.data.mapValues(\.serializable),
        ]
        let include = Set((call.params["include"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet.whitespaces) })
        if include.contains("identities-active") || include.contains("identities-all") {
            fields["identities"] = Self.identities(user)
        }
        return .ok(fields)
    }

    /// `accounts.setAccountInfo`: merges `data` shallowly, sets the known profile fields and ignores every other parameter.
    func setAccountInfo(_ call: AuthenticatedCall) -> GigyaReply {
        let user: EmulatorUserState
        switch self.user(for: call) {
        case .success(let found): user = found
        case .failure(let refusal): return refusal.reply
        }
        let data: [String: GigyaJSON]
        let profile: [String: GigyaJSON]
        do {
            data = try Self.objectParameter(call.params, "data")
            profile = try Self.objectParameter(call.params, "profile")
        } catch {
            return error.reply
        }
        var known: [String: String] = [:]
        for name in ["email", "firstName", "lastName"] {
            switch profile[name] {
            case nil: continue
            case .string(let value): known[name] = value
            case .some: return .error(.invalidParameterValue, "Invalid parameter value: profile.\(name) must be a string")
            }
        }
        let updated = store.setAccountInfo(
            apiKey: call.site.site.apiKey, uid: user.UID, data: data,
            profile: (email: known["email"], firstName: known["firstName"], lastName: known["lastName"])
        )
        guard updated != nil else {
            return .error(.unauthorizedUser, "Unauthorized user")
        }
        return .ok()
    }

    /// A parameter that must hold a JSON object when present; absent reads as an empty object.
    private static func objectParameter(_ params: [String: String], _ name: String) throws(Refusal) -> [String: GigyaJSON] {
        guard let text = params[name] else {
            return [:]
        }
        guard case .object(let object)? = try? JSONDecoder().decode(GigyaJSON.self, from: Data(text.utf8)) else {
            throw .error(.invalidParameterValue, "Invalid parameter value: \(name) must be a JSON object")
        }
        return object
    }

    /// The provider names with a session, login provider first.
    static func providers(_ user: EmulatorUserState) -> [String] {
        [user.loginProvider] + user.sessions.keys.sorted().filter { $0 != user.loginProvider }
    }

    /// One identity per provider session.
    static func identities(_ user: EmulatorUserState) -> [[String: Any]] {
        providers(user).compactMap { provider in
            guard let session = user.sessions[provider] else {
                return nil
            }
            var identity: [String: Any] = [
                "provider": provider,
                "providerUID": session.providerUID,
                "isLoginIdentity": provider == user.loginProvider,
            ]
            identity["email"] = user.email
            identity["firstName"] = user.firstName
            identity["lastName"] = user.lastName
            return identity
        }
    }

    /// The Web SDK / getUserInfo user object.
    static func userObject(_ user: EmulatorUserState) -> [String: Any] {
        var object: [String: Any] = [
            "UID": user.UID,
            "isSiteUID": user.siteUID != nil,
            "isSiteUser": user.isRegistered || user.siteUID != nil,
            "isConnected": !user.sessions.isEmpty,
            "isLoggedIn": true,
            "loginProvider": user.loginProvider,
            "loginProviderUID": user.sessions[user.loginProvider]?.providerUID ?? "",
            "providers": providers(user).joined(separator: ","),
            "identities": identities(user),
        ]
        object["email"] = user.email
        object["firstName"] = user.firstName
        object["lastName"] = user.lastName
        return object
    }
}

/// A refused call: the Gigya code and details to answer with.
struct Refusal: Error {
    /// The error code.
    let code: GigyaErrorCode
    /// `errorDetails`.
    let details: String

    /// A refusal.
    static func error(_ code: GigyaErrorCode, _ details: String) -> Refusal {
        Refusal(code: code, details: details)
    }

    /// The reply to send.
    var reply: GigyaReply {
        .error(code, details)
    }
}

/// Thrown after a fault closed the connection, so nothing is written.
struct DroppedConnection: Error {}
