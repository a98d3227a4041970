import Foundation
import GigyaKit
import Hummingbird
import Logging

/// The handlers of the `/_emulator` control routes.
extension EmulatorCore {
    /// Fresh random provider tokens, valid 60 days on the emulator clock.
    func freshSession(providerUID: String) -> EmulatorProviderSession {
        let now = clock.now()
        return EmulatorProviderSession(
            authToken: "EAA" + GigyaEmulator.randomHex(20),
            // 24 and 32 characters: one unaligned and one block-aligned plaintext, so every padding path is exercised.
            tokenSecret: GigyaEmulator.randomHex(12),
            sessionHandle: GigyaEmulator.randomHex(16),
            providerUID: providerUID,
            tokenExpiration: now + 60 * 86_400,
            sessionExpiration: now + 60 * 86_400
        )
    }

    /// A control-route error: Gigya-shaped body, real HTTP status.
    func controlError(_ code: GigyaErrorCode, _ details: String, status: Int) -> Response {
        GigyaReply.error(code, details).response(httpStatusCodes: true, clock: clock, forcedStatus: status)
    }

    /// `POST /_emulator/login`.
    func login(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let body: EmulatorLoginRequest
        do {
            let data = try await request.body.collect(upTo: 1 << 20)
            body = try JSONDecoder().decode(EmulatorLoginRequest.self, from: Data(data.readableBytesView))
        } catch {
            return controlError(.invalidRequestFormat, "the body must be JSON {provider, uid?, apiKey?, providerUID?, email?, …}", status: 400)
        }
        guard !body.provider.isEmpty, !body.provider.contains(",") else {
            return controlError(.invalidParameterValue, "Invalid parameter value: provider", status: 400)
        }
        let site: SiteKeys
        if let apiKey = body.apiKey {
            guard let found = sites[apiKey] else {
                return controlError(.invalidAPIKey, "Invalid ApiKey parameter", status: 400)
            }
            site = found
        } else {
            guard apiKeys.count == 1 else {
                return controlError(.invalidAPIKey, "apiKey is required when the emulator serves several sites", status: 400)
            }
            site = sites[apiKeys[0]]!
        }
        let now = clock.now()
        let (user, isNew) = store.login(
            apiKey: site.site.apiKey,
            uid: body.uid.flatMap { $0.isEmpty ? nil : $0 },
            provider: body.provider,
            providerUID: body.providerUID,
            profile: (body.email, body.firstName, body.lastName),
            session: { self.freshSession(providerUID: $0) },
            now: now
        )
        let timestamp = String(now)
        var result = EmulatorLoginResult(
            UID: user.UID,
            UIDSignature: site.partnerSecret.signature(for: SignatureBase.user(timestamp: timestamp, uid: user.UID)),
            signatureTimestamp: timestamp,
            provider: body.provider,
            loginProvider: body.provider,
            isNewUser: isNew,
            user: EmulatorLoginUser(
                UID: user.UID,
                isSiteUID: user.siteUID != nil,
                isSiteUser: user.isRegistered || user.siteUID != nil,
                isConnected: true,
                loginProvider: user.loginProvider,
                loginProviderUID: user.sessions[user.loginProvider]?.providerUID ?? "",
                providers: Self.providers(user).joined(separator: ","),
                email: user.email,
                firstName: user.firstName,
                lastName: user.lastName
            )
        )
        if body.wantsIDToken {
            guard let token = loginToken(site: site, uid: user.UID, audience: body.audience, now: now) else {
                return controlError(.generalServerError, "token signing failed", status: 500)
            }
            result.idToken = token
        }
        webhooks.enqueue(type: "accountLoggedIn", apiKey: site.site.apiKey, uid: user.UID)
        logger.debug("emulated login", metadata: ["apiKey": "\(site.site.apiKey)", "provider": "\(body.provider)", "new": "\(isNew)"])
        return GigyaEmulator.jsonResponse(encoding: result)
    }

    /// Finds the one user a control route names, or the error to answer with.
    func controlUser(_ request: Request, context: EmulatorRequestContext) -> Result<EmulatorUserState, ControlFailure> {
        // Path parameters arrive percent-encoded; EmulatorControlClient encodes every UID it addresses.
        guard let uid = context.parameters.get("uid")?.removingPercentEncoding else {
            return .failure(ControlFailure(response: controlError(.missingRequiredParameter, "Missing required parameter: uid", status: 400)))
        }
        let apiKey = request.uri.queryParameters.get("apiKey")
        let matches = store.lookup(uid: uid, apiKey: apiKey)
        guard let user = matches.first else {
            return .failure(ControlFailure(response: controlError(.uidNotFound, "UID not found", status: 404)))
        }
        guard matches.count == 1 else {
            return .failure(ControlFailure(response: controlError(.invalidParameterValue, "several sites hold this UID; add ?apiKey=", status: 409)))
        }
        return .success(user)
    }

    /// `GET /_emulator/users/{uid}`.
    func showUser(_ request: Request, context: EmulatorRequestContext) -> Response {
        switch controlUser(request, context: context) {
        case .success(let user): GigyaEmulator.jsonResponse(encoding: user)
        case .failure(let failure): failure.response
        }
    }

    /// `POST /_emulator/users/{uid}/rotate`: new tokens for every provider.
    func rotateUser(_ request: Request, context: EmulatorRequestContext) -> Response {
        switch controlUser(request, context: context) {
        case .success(let user):
            guard let rotated = store.rotate(apiKey: user.apiKey, gigyaUID: user.gigyaUID, session: { self.freshSession(providerUID: $0.providerUID) })
            else {
                return controlError(.unauthorizedUser, "the account is deleted or merged", status: 409)
            }
            return GigyaEmulator.jsonResponse(encoding: rotated)
        case .failure(let failure):
            return failure.response
        }
    }

    /// `POST /_emulator/users/{uid}/delete`: deletes the account and sends `accountDeleted` to the webhook.
    func deleteUser(_ request: Request, context: EmulatorRequestContext) -> Response {
        switch controlUser(request, context: context) {
        case .success(let user):
            guard let deleted = store.delete(apiKey: user.apiKey, gigyaUID: user.gigyaUID, now: clock.now()) else {
                return controlError(.unauthorizedUser, "the account is already deleted or merged", status: 409)
            }
            webhooks.enqueue(type: "accountDeleted", apiKey: deleted.apiKey, uid: deleted.UID)
            logger.info("account deleted", metadata: ["apiKey": "\(deleted.apiKey)"])
            return GigyaEmulator.jsonResponse(encoding: deleted)
        case .failure(let failure):
            return failure.response
        }
    }

    /// A JSON control body, or nil when it is absent, too large or not the expected JSON.
    func decodeBody<Body: Decodable>(_ request: Request, as type: Body.Type, limit: Int = 1 << 20) async -> Body? {
        guard let data = try? await request.body.collect(upTo: limit) else {
            return nil
        }
        return try? JSONDecoder().decode(Body.self, from: Data(data.readableBytesView))
    }

    /// `POST /_emulator/faults`: one fault object or an array; answers with every active fault.
    func addFaults(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let data = Data(try await request.body.collect(upTo: 1 << 20).readableBytesView)
        let decoder = JSONDecoder()
        let faults: [EmulatorFault]
        if let many = try? decoder.decode([EmulatorFault].self, from: data) {
            faults = many
        } else if let one = try? decoder.decode(EmulatorFault.self, from: data) {
            faults = [one]
        } else {
            return controlError(.invalidRequestFormat, "the body must be a fault object or an array of them", status: 400)
        }
        if let problem = faults.lazy.compactMap(\.problem).first {
            return controlError(.invalidParameterValue, problem, status: 400)
        }
        return GigyaEmulator.jsonResponse(encoding: self.faults.add(faults))
    }

    /// A control route's early answer.
    struct ControlFailure: Error {
        /// The response to send.
        let response: Response
    }
}
