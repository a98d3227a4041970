import GigyaKit
import Synchronization

/// All users and seen nonces, behind one `Mutex`; no I/O or crypto ever runs while it is held.
///
/// Every change of an account bumps `State.version` and calls `onChange` after the lock is released, so the accounts file
/// (`AccountsPersister`) is written outside the lock.
final class EmulatorStore: Sendable {
    /// The mutable state; internal so the store's extensions in other files can reach it, used only through `state`.
    struct State {
        /// Users by Gigya UID, per API key.
        var users: [String: [String: EmulatorUserState]] = [:]
        /// Site UID → Gigya UID, per API key.
        var siteUIDs: [String: [String: String]] = [:]
        /// Every UID an account answered to at some time (its history) → its Gigya UID, per API key; the latest holder wins.
        var aliases: [String: [String: String]] = [:]
        /// Nonce → the time it may be forgotten, per API key.
        var nonces: [String: [String: Int64]] = [:]
        /// When expired nonces are next swept out.
        var nextNonceSweep: Int64 = 0
        /// Bumped by every change of an account (nonces excluded): what the accounts file has caught up with.
        var version: UInt64 = 0

        /// Notes that `ids` were held by the account `gigyaUID`, so the control routes still find it by them.
        mutating func alias(_ ids: String?..., to gigyaUID: String, apiKey: String) {
            for id in ids.compactMap({ $0 }) {
                aliases[apiKey, default: [:]][id] = gigyaUID
            }
        }
    }

    let state: Mutex<State>
    /// Called after every change of an account, outside the lock.
    private let onChange: (@Sendable () -> Void)?

    /// An empty store, or one holding the accounts of a file; `onChange` hears of every later change.
    init(restoring snapshot: EmulatorAccountsSnapshot? = nil, onChange: (@Sendable () -> Void)? = nil) {
        var initial = State()
        if let snapshot {
            for user in snapshot.users {
                initial.users[user.apiKey, default: [:]][user.gigyaUID] = user
            }
            initial.siteUIDs = snapshot.siteUIDs
            for user in snapshot.users.sorted(by: { ($0.created, $0.gigyaUID) < ($1.created, $1.gigyaUID) }) {
                for change in user.history {
                    switch change.type {
                    case .created: initial.alias(change.to, to: user.gigyaUID, apiKey: user.apiKey)
                    case .renamed: initial.alias(change.from, change.to, to: user.gigyaUID, apiKey: user.apiKey)
                    case .merged, .deleted: initial.alias(change.from, to: user.gigyaUID, apiKey: user.apiKey)
                    case .mergedFrom: break
                    }
                }
            }
        }
        self.state = Mutex(initial)
        self.onChange = onChange
    }

    /// Tells the listener that an account changed; call after the lock is released.
    func changed() {
        onChange?()
    }

    /// Records a nonce unless it was seen while it could still be replayed; false means a duplicate (403004).
    func rememberNonce(_ nonce: String, apiKey: String, forgetAfter: Int64, now: Int64, window: Int64) -> Bool {
        state.withLock { state in
            if now >= state.nextNonceSweep {
                for key in state.nonces.keys {
                    state.nonces[key] = state.nonces[key]!.filter { $0.value > now }
                }
                state.nextNonceSweep = now + window
            }
            if let expiry = state.nonces[apiKey]?[nonce], expiry > now {
                return false
            }
            state.nonces[apiKey, default: [:]][nonce] = forgetAfter
            return true
        }
    }

    /// The live user that answers to `uid` now: by site UID when one is set, else by Gigya UID (docs/gigya-protocol.md §3).
    func activeUser(apiKey: String, uid: String) -> EmulatorUserState? {
        state.withLock { state in
            Self.activeGigyaUID(state, apiKey: apiKey, uid: uid).flatMap { state.users[apiKey]?[$0] }
        }
    }

    /// The Gigya UID of the live user answering to `uid`.
    static func activeGigyaUID(_ state: State, apiKey: String, uid: String) -> String? {
        if let gigyaUID = state.siteUIDs[apiKey]?[uid], let user = state.users[apiKey]?[gigyaUID], user.isLive {
            return gigyaUID
        }
        if let user = state.users[apiKey]?[uid], user.isLive, user.siteUID == nil {
            return uid
        }
        return nil
    }

    /// Any user, live or not, for the `/_emulator` routes: the live one answering to `uid`, else by Gigya UID, site UID,
    /// or any UID in its history; several sites may match.
    func lookup(uid: String, apiKey: String?) -> [EmulatorUserState] {
        state.withLock { state in
            state.users.keys.filter { apiKey == nil || $0 == apiKey }.sorted().compactMap { key in
                let gigyaUID = Self.activeGigyaUID(state, apiKey: key, uid: uid)
                    ?? (state.users[key]?[uid] != nil ? uid : nil)
                    ?? state.siteUIDs[key]?[uid]
                    ?? state.aliases[key]?[uid]
                return gigyaUID.flatMap { state.users[key]?[$0] }
            }
        }
    }

    /// Logs a user in with a provider: finds or creates the user and issues a fresh provider session.
    ///
    /// A `uid` naming an account merged into another logs the survivor in: the person's identities moved there.
    func login(
        apiKey: String,
        uid: String?,
        provider: String,
        providerUID: String?,
        profile: (email: String?, firstName: String?, lastName: String?),
        session: (String) -> EmulatorProviderSession,
        now: Int64
    ) -> (user: EmulatorUserState, isNew: Bool) {
        let result = state.withLock { state in
            // A browser login names the person, so the Gigya UID finds the user even after a siteUID replaced it.
            var gigyaUID = uid.flatMap { Self.activeGigyaUID(state, apiKey: apiKey, uid: $0) }
            if gigyaUID == nil, let uid, let survivor = state.users[apiKey]?[uid]?.mergedInto {
                gigyaUID = Self.activeGigyaUID(state, apiKey: apiKey, uid: survivor)
            }
            if gigyaUID == nil, let uid, state.siteUIDs[apiKey]?[uid] == nil {
                gigyaUID = uid
            }
            let resolvedUID = gigyaUID ?? GigyaEmulator.randomHex(16)
            var isNew = false
            var user: EmulatorUserState
            if let existing = state.users[apiKey]?[resolvedUID], existing.isLive {
                user = existing
            } else {
                // Re-creating a deleted account: its old siteUID must not lead to the new one.
                if let stale = state.users[apiKey]?[resolvedUID]?.siteUID {
                    state.siteUIDs[apiKey]?[stale] = nil
                }
                isNew = true
                user = EmulatorUserState(
                    gigyaUID: resolvedUID, siteUID: nil, UID: resolvedUID, apiKey: apiKey, loginProvider: provider, sessions: [:],
                    email: nil, firstName: nil, lastName: nil, data: [:], isRegistered: false, created: now, lastLogin: now, deleted: false,
                    history: [EmulatorUIDChange(type: .created, from: nil, to: resolvedUID, at: now)]
                )
                state.alias(resolvedUID, to: resolvedUID, apiKey: apiKey)
            }
            let keptProviderUID = providerUID ?? user.sessions[provider]?.providerUID ?? String(UInt64.random(in: 1_000_000_000...9_999_999_999))
            user.sessions[provider] = session(keptProviderUID)
            user.loginProvider = provider
            user.lastLogin = now
            user.email = profile.email ?? user.email
            user.firstName = profile.firstName ?? user.firstName
            user.lastName = profile.lastName ?? user.lastName
            state.users[apiKey, default: [:]][user.gigyaUID] = user
            state.version &+= 1
            return (user, isNew)
        }
        changed()
        return result
    }

    /// Replaces every provider session of a user with fresh tokens.
    func rotate(apiKey: String, gigyaUID: String, session: (EmulatorProviderSession) -> EmulatorProviderSession) -> EmulatorUserState? {
        let rotated: EmulatorUserState? = state.withLock { state in
            guard var user = state.users[apiKey]?[gigyaUID], user.isLive else {
                return nil
            }
            user.sessions = user.sessions.mapValues(session)
            state.users[apiKey]![gigyaUID] = user
            state.version &+= 1
            return user
        }
        if rotated != nil {
            changed()
        }
        return rotated
    }

    /// Marks a user deleted: it answers to nothing afterwards, but stays visible to `GET /_emulator/users/{uid}`.
    func delete(apiKey: String, gigyaUID: String, now: Int64) -> EmulatorUserState? {
        let deleted: EmulatorUserState? = state.withLock { state in
            guard var user = state.users[apiKey]?[gigyaUID], user.isLive else {
                return nil
            }
            user.deleted = true
            user.history.append(EmulatorUIDChange(type: .deleted, from: user.UID, to: nil, at: now))
            state.alias(user.UID, to: gigyaUID, apiKey: apiKey)
            state.users[apiKey]![gigyaUID] = user
            state.version &+= 1
            return user
        }
        if deleted != nil {
            changed()
        }
        return deleted
    }

    /// Merges `data` shallowly into the live user answering to `uid` (top-level keys replace, as Gigya merges) and sets the
    /// given profile fields; nil when no live user answers to `uid`.
    func setAccountInfo(
        apiKey: String,
        uid: String,
        data: [String: GigyaJSON],
        profile: (email: String?, firstName: String?, lastName: String?)
    ) -> EmulatorUserState? {
        let updated: EmulatorUserState? = state.withLock { state in
            guard let gigyaUID = Self.activeGigyaUID(state, apiKey: apiKey, uid: uid), var user = state.users[apiKey]?[gigyaUID] else {
                return nil
            }
            user.data.merge(data) { _, new in new }
            user.email = profile.email ?? user.email
            user.firstName = profile.firstName ?? user.firstName
            user.lastName = profile.lastName ?? user.lastName
            state.users[apiKey]![gigyaUID] = user
            state.version &+= 1
            return user
        }
        if updated != nil {
            changed()
        }
        return updated
    }
}
