import Foundation
import GigyaKit
import Logging
import Hummingbird

/// The control routes that build populations and drive the account lifecycle: bulk creation, rename, merge and events.
extension EmulatorCore {
    /// The largest body of `POST /_emulator/users` (10,000 users take well under 2 MiB).
    static let bulkBodyLimit = 64 << 20

    /// `POST /_emulator/users`: creates many accounts at once, with provider sessions as a login would leave them, all or
    /// none, without webhooks; answers their states in request order.
    func createUsers(_ request: Request, context: EmulatorRequestContext) async -> Response {
        guard let body = await decodeBody(request, as: EmulatorNewUsersRequest.self, limit: Self.bulkBodyLimit) else {
            return controlError(
                .invalidRequestFormat, "the body must be JSON {apiKey?, users: [{uid?, provider?, providers?, siteUID?, email?}]}", status: 400
            )
        }
        let site: SiteKeys
        switch controlSite(apiKey: body.apiKey) {
        case .success(let found): site = found
        case .failure(let failure): return failure.response
        }
        let now = clock.now()
        var users: [EmulatorUserState] = []
        users.reserveCapacity(body.users.count)
        for (index, new) in body.users.enumerated() {
            let gigyaUID = new.uid ?? GigyaEmulator.randomHex(16)
            guard !gigyaUID.isEmpty, gigyaUID.utf8.allSatisfy({ $0 < 0x80 }), gigyaUID.utf8.count <= 252 else {
                return controlError(.invalidParameterValue, "users[\(index)].uid must be 1 to 252 ASCII characters", status: 400)
            }
            var providers: [String] = []
            for provider in (new.provider.map { [$0] } ?? []) + (new.providers ?? []) where !providers.contains(provider) {
                guard !provider.isEmpty, !provider.contains(",") else {
                    return controlError(.invalidParameterValue, "users[\(index)]: a provider is empty or holds a comma", status: 400)
                }
                providers.append(provider)
            }
            if let siteUID = new.siteUID, let problem = Self.siteUIDProblem(siteUID, gigyaUID: gigyaUID) {
                return controlError(.invalidParameterValue, "users[\(index)]: \(problem)", status: 400)
            }
            var sessions: [String: EmulatorProviderSession] = [:]
            for provider in providers {
                sessions[provider] = freshSession(providerUID: String(UInt64.random(in: 1_000_000_000...9_999_999_999)))
            }
            var history = [EmulatorUIDChange(type: .created, from: nil, to: gigyaUID, at: now)]
            if let siteUID = new.siteUID {
                history.append(EmulatorUIDChange(type: .renamed, from: gigyaUID, to: siteUID, at: now))
            }
            users.append(
                EmulatorUserState(
                    gigyaUID: gigyaUID, siteUID: new.siteUID, UID: new.siteUID ?? gigyaUID, apiKey: site.site.apiKey,
                    // An account without a social identity logged in with the site's own credentials.
                    loginProvider: providers.first ?? "site", sessions: sessions, email: new.email, firstName: nil, lastName: nil,
                    data: [:], isRegistered: false, created: now, lastLogin: now, deleted: false, history: history
                )
            )
        }
        do {
            try store.create(users, apiKey: site.site.apiKey)
        } catch {
            switch error {
            case .taken(let id):
                return controlError(.invalidParameterValue, "\(id) is already the UID of an account of the site, or named twice", status: 409)
            }
        }
        logger.info("accounts created in bulk", metadata: ["apiKey": "\(site.site.apiKey)", "count": "\(users.count)"])
        return GigyaEmulator.jsonResponse(encoding: users)
    }

    /// `POST /_emulator/users/{uid}/rename`: the account answers to `newUid` afterwards, as after setUID (or, with its own
    /// Gigya UID, to that again, its site UID dropped); sends `accountUidChanged` unless `notify` is false.
    func renameUser(_ request: Request, context: EmulatorRequestContext) async -> Response {
        let user: EmulatorUserState
        switch controlUser(request, context: context) {
        case .success(let found): user = found
        case .failure(let failure): return failure.response
        }
        guard let body = await decodeBody(request, as: EmulatorRenameRequest.self) else {
            return controlError(.invalidRequestFormat, "the body must be JSON {newUid, notify?}", status: 400)
        }
        // Renaming back to the Gigya UID drops the site UID: Gigya losing a link, for reconciliation tests.
        if body.newUid != user.gigyaUID, let problem = Self.siteUIDProblem(body.newUid, gigyaUID: user.gigyaUID) {
            return controlError(.invalidParameterValue, "Invalid parameter value: \(problem.replacingOccurrences(of: "siteUID", with: "newUid"))", status: 400)
        }
        let change: EmulatorStore.UIDChange
        do {
            change = try store.changeUID(
                apiKey: user.apiKey, gigyaUID: user.gigyaUID, target: body.newUid, mode: .renameOnly, register: false, now: clock.now()
            )
        } catch {
            return uidChangeRefusal(error)
        }
        if body.notify != false {
            announce(change)
        }
        switch change {
        case .unchanged(let state), .renamed(let state, _): return GigyaEmulator.jsonResponse(encoding: state)
        case .merged(let merged, _): return GigyaEmulator.jsonResponse(encoding: merged)
        }
    }

    /// `POST /_emulator/users/{uid}/merge`: merges the account into the live account answering to `into`, as a setUID onto
    /// that UID does; sends `accountMerged` unless `notify` is false.
    func mergeUser(_ request: Request, context: EmulatorRequestContext) async -> Response {
        let user: EmulatorUserState
        switch controlUser(request, context: context) {
        case .success(let found): user = found
        case .failure(let failure): return failure.response
        }
        guard let body = await decodeBody(request, as: EmulatorMergeRequest.self), !body.into.isEmpty else {
            return controlError(.invalidRequestFormat, "the body must be JSON {into, notify?}", status: 400)
        }
        let change: EmulatorStore.UIDChange
        do {
            change = try store.changeUID(
                apiKey: user.apiKey, gigyaUID: user.gigyaUID, target: body.into, mode: .mergeOnly, register: false, now: clock.now()
            )
        } catch {
            return uidChangeRefusal(error)
        }
        guard case .merged(let merged, let survivor) = change else {
            return controlError(.generalServerError, "the merge did not happen", status: 500)
        }
        if body.notify != false {
            announce(change)
        }
        return GigyaEmulator.jsonResponse(encoding: EmulatorMergeResult(merged: merged, survivor: survivor))
    }

    /// The answer to a refused rename or merge.
    private func uidChangeRefusal(_ refusal: EmulatorStore.UIDChangeRefusal) -> Response {
        switch refusal {
        case .notLive:
            controlError(.unauthorizedUser, "the account is deleted or merged", status: 409)
        case .heldByLiveAccount:
            controlError(.invalidParameterValue, "newUid is the UID of another live account; merge into it instead", status: 409)
        case .noLiveAccount:
            controlError(.uidNotFound, "into names no other live account of the site", status: 404)
        }
    }

    /// `POST /_emulator/users/{uid}/events`: queues an account event that changes nothing (`accountLoggedIn`, …) for the
    /// live account; answers the event as the delivery log will show it.
    func emitEvent(_ request: Request, context: EmulatorRequestContext) async -> Response {
        let user: EmulatorUserState
        switch controlUser(request, context: context) {
        case .success(let found): user = found
        case .failure(let failure): return failure.response
        }
        guard let body = await decodeBody(request, as: EmulatorEventRequest.self) else {
            return controlError(.invalidRequestFormat, "the body must be JSON {type}", status: 400)
        }
        guard EmulatorEventRequest.supportedTypes.contains(body.type) else {
            let supported = EmulatorEventRequest.supportedTypes.sorted().joined(separator: ", ")
            return controlError(
                .invalidParameterValue, "type must be one of \(supported); renames, merges and deletions have their own routes", status: 400
            )
        }
        guard user.isLive else {
            return controlError(.unauthorizedUser, "the account is deleted or merged", status: 409)
        }
        return GigyaEmulator.jsonResponse(encoding: webhooks.enqueue(type: body.type, apiKey: user.apiKey, uid: user.UID))
    }
}
