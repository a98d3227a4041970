import Synchronization

/// Renames, merges and bulk creation: the account lifecycle of docs/gigya-protocol.md §11.
extension EmulatorStore {
    /// Which outcomes a UID change may have.
    enum UIDChangeMode {
        /// setUID and notifyRegistration: a rename, or a merge when the new id is another live account's UID.
        case renameOrMerge
        /// The rename route: refuses another live account's UID.
        case renameOnly
        /// The merge route: the new id must be another live account's UID.
        case mergeOnly
    }

    /// What a UID change did.
    enum UIDChange {
        /// The account already answered to that id (notifyRegistration may still have marked it registered).
        case unchanged(EmulatorUserState)
        /// The account answers to the new id; `from` is the id it answered to before.
        case renamed(EmulatorUserState, from: String)
        /// The account was merged into `survivor`, which answers to its own UID as before.
        case merged(merged: EmulatorUserState, survivor: EmulatorUserState)
    }

    /// Why a UID change was refused.
    enum UIDChangeRefusal: Error {
        /// The account is deleted or merged.
        case notLive
        /// A rename onto the UID of another live account.
        case heldByLiveAccount
        /// A merge into something that is not another live account of the site.
        case noLiveAccount
    }

    /// Why a bulk creation was refused; nothing was created.
    enum CreationRefusal: Error {
        /// This id is the UID of an existing account, or named twice in the request.
        case taken(String)
    }

    /// Gives the live account `gigyaUID` a new UID, or merges it into the live account that answers to `target`
    /// (its Gigya UID or current site UID), as setUID does on an accounts site (docs/gigya-protocol.md §11).
    ///
    /// A merge keeps the survivor's UID and provider sessions and adds the merged account's other providers; the merged
    /// account answers to nothing afterwards and records `mergedInto`. `register` marks the resulting account registered.
    func changeUID(
        apiKey: String, gigyaUID: String, target: String, mode: UIDChangeMode, register: Bool, now: Int64
    ) throws(UIDChangeRefusal) -> UIDChange {
        let change = try state.withLock { state throws(UIDChangeRefusal) -> UIDChange in
            guard var user = state.users[apiKey]?[gigyaUID], user.isLive else {
                throw .notLive
            }
            if let survivorUID = Self.otherLiveAccount(state, apiKey: apiKey, answeringTo: target, besides: gigyaUID) {
                guard mode != .renameOnly else {
                    throw .heldByLiveAccount
                }
                var survivor = state.users[apiKey]![survivorUID]!
                for (provider, session) in user.sessions where survivor.sessions[provider] == nil {
                    survivor.sessions[provider] = session
                }
                survivor.mergedFrom.append(user.UID)
                survivor.history.append(EmulatorUIDChange(type: .mergedFrom, from: user.UID, to: survivor.UID, at: now))
                survivor.isRegistered = survivor.isRegistered || register
                user.mergedInto = survivor.UID
                user.history.append(EmulatorUIDChange(type: .merged, from: user.UID, to: survivor.UID, at: now))
                state.alias(user.UID, to: gigyaUID, apiKey: apiKey)
                state.users[apiKey]![survivorUID] = survivor
                state.users[apiKey]![gigyaUID] = user
                state.version &+= 1
                return .merged(merged: user, survivor: survivor)
            }
            guard mode != .mergeOnly else {
                throw .noLiveAccount
            }
            guard target != user.UID else {
                if register && !user.isRegistered {
                    user.isRegistered = true
                    state.users[apiKey]![gigyaUID] = user
                    state.version &+= 1
                }
                return .unchanged(user)
            }
            let from = user.UID
            if let previous = user.siteUID {
                state.siteUIDs[apiKey]?[previous] = nil
            }
            if target == gigyaUID {
                // Back to the Gigya UID: the account has no site UID any more.
                user.siteUID = nil
            } else {
                state.siteUIDs[apiKey, default: [:]][target] = gigyaUID
                user.siteUID = target
            }
            user.UID = target
            user.isRegistered = user.isRegistered || register
            user.history.append(EmulatorUIDChange(type: .renamed, from: from, to: target, at: now))
            state.alias(from, target, to: gigyaUID, apiKey: apiKey)
            state.users[apiKey]![gigyaUID] = user
            state.version &+= 1
            return .renamed(user, from: from)
        }
        changed()
        return change
    }

    /// The Gigya UID of the live account, other than `gigyaUID`, whose Gigya UID or current site UID is `uid`.
    private static func otherLiveAccount(_ state: State, apiKey: String, answeringTo uid: String, besides gigyaUID: String) -> String? {
        if let holder = state.siteUIDs[apiKey]?[uid], holder != gigyaUID, state.users[apiKey]?[holder]?.isLive == true {
            return holder
        }
        if uid != gigyaUID, state.users[apiKey]?[uid]?.isLive == true {
            return uid
        }
        return nil
    }

    /// Creates many accounts at once, all or none: every Gigya UID and site UID must be new to the site and named once.
    ///
    /// The accounts are built by the caller (tokens are random, made outside the lock); this only checks and inserts,
    /// in time linear in their number.
    func create(_ users: [EmulatorUserState], apiKey: String) throws(CreationRefusal) {
        var named = Set<String>()
        named.reserveCapacity(users.count * 2)
        for user in users {
            for id in [user.gigyaUID, user.siteUID].compactMap({ $0 }) where !named.insert(id).inserted {
                throw .taken(id)
            }
        }
        try state.withLock { state throws(CreationRefusal) in
            for id in named {
                if state.users[apiKey]?[id] != nil || state.siteUIDs[apiKey]?[id].flatMap({ state.users[apiKey]?[$0] })?.isLive == true {
                    throw .taken(id)
                }
            }
            // Modified in place through the subscript: no copy of the site's accounts.
            state.users[apiKey, default: [:]].reserveCapacity((state.users[apiKey]?.count ?? 0) + users.count)
            for user in users {
                state.users[apiKey, default: [:]][user.gigyaUID] = user
                if let siteUID = user.siteUID {
                    state.siteUIDs[apiKey, default: [:]][siteUID] = user.gigyaUID
                }
                state.alias(user.gigyaUID, user.siteUID, to: user.gigyaUID, apiKey: apiKey)
            }
            state.version &+= 1
        }
        changed()
    }

    /// The live accounts of a site that `matches` accepts, in no particular order (callers sort outside the lock).
    func liveAccounts(apiKey: String, where matches: (EmulatorUserState) -> Bool) -> [EmulatorUserState] {
        state.withLock { state in
            (state.users[apiKey] ?? [:]).values.filter { $0.isLive && matches($0) }
        }
    }

    /// The accounts with these Gigya UIDs, in that order (unknown ones left out), live or not.
    func accounts(apiKey: String, gigyaUIDs: [String]) -> [EmulatorUserState] {
        state.withLock { state in
            guard let users = state.users[apiKey] else { return [] }
            return gigyaUIDs.compactMap { users[$0] }
        }
    }

    /// The accounts and site UIDs as they are now, with the version they reflect; copied in O(1), encoded by the caller.
    func persistentState() -> (users: [String: [String: EmulatorUserState]], siteUIDs: [String: [String: String]], version: UInt64) {
        state.withLock { ($0.users, $0.siteUIDs, $0.version) }
    }
}
