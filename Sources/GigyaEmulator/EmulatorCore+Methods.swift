import Foundation
import GigyaKit
import Logging

/// The emulated REST methods, each answering an authenticated call.
extension EmulatorCore {
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

    /// `socialize.getSessionInfo` (docs/gigya-protocol.md §4).
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

    /// `socialize.setUID` and `socialize.notifyRegistration` (docs/gigya-protocol.md §3, §11): a rename, or a merge into
    /// the live account whose UID `siteUID` is; either sends its webhook event.
    func setSiteUID(_ call: AuthenticatedCall, register: Bool) -> GigyaReply {
        let user: EmulatorUserState
        switch self.user(for: call) {
        case .success(let found): user = found
        case .failure(let refusal): return refusal.reply
        }
        let siteUID = call.params["siteUID"]!
        if let problem = Self.siteUIDProblem(siteUID, gigyaUID: user.gigyaUID) {
            return .error(.invalidParameterValue, "Invalid parameter value: \(problem)")
        }
        do {
            let change = try store.changeUID(
                apiKey: call.site.site.apiKey, gigyaUID: user.gigyaUID, target: siteUID, mode: .renameOrMerge, register: register, now: clock.now()
            )
            announce(change)
        } catch {
            // The account was deleted or merged between the lookup and the change.
            return .error(.unauthorizedUser, "Unauthorized user")
        }
        return .ok()
    }

    /// Why `siteUID` cannot be an account's new UID (docs/gigya-protocol.md §3), or nil.
    static func siteUIDProblem(_ siteUID: String, gigyaUID: String) -> String? {
        guard !siteUID.isEmpty else {
            return "siteUID is empty"
        }
        guard siteUID.utf8.allSatisfy({ $0 < 0x80 }) else {
            return "siteUID must be ASCII"
        }
        guard siteUID.utf8.count <= 252 else {
            return "siteUID is longer than 252 characters"
        }
        guard siteUID != gigyaUID else {
            return "siteUID must be different than the Gigya UID"
        }
        return nil
    }

    /// Sends the webhook event of a UID change: `accountUidChanged` for a rename, `accountMerged` for a merge (§11, §12).
    func announce(_ change: EmulatorStore.UIDChange) {
        switch change {
        case .unchanged:
            break
        case .renamed(let user, let from):
            webhooks.enqueue(type: "accountUidChanged", apiKey: user.apiKey, uid: from, newUid: user.UID)
            logger.info("account renamed", metadata: ["apiKey": "\(user.apiKey)"])
        case .merged(let merged, let survivor):
            webhooks.enqueue(type: "accountMerged", apiKey: survivor.apiKey, uid: merged.UID, newUid: survivor.UID)
            logger.info("account merged", metadata: ["apiKey": "\(survivor.apiKey)"])
        }
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
