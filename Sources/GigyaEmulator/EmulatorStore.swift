import GigyaKit
import Synchronization

/// All users and seen nonces, behind one `Mutex`; no I/O or crypto ever runs while it is held.
final class EmulatorStore: Sendable {
    /// Why a siteUID assignment was refused.
    enum SiteUIDConflict: Error {
        /// Another user of the site answers to (or was created with) that id.
        case heldByAnotherUser
    }

    /// The mutable state.
    private struct State {
        /// Users by Gigya UID, per API key.
        var users: [String: [String: EmulatorUserState]] = [:]
        /// Site UID → Gigya UID, per API key.
        var siteUIDs: [String: [String: String]] = [:]
        /// Nonce → the time it may be forgotten, per API key.
        var nonces: [String: [String: Int64]] = [:]
        /// When expired nonces are next swept out.
        var nextNonceSweep: Int64 = 0
    }

    private let state = Mutex(State())

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
    private static func activeGigyaUID(_ state: State, apiKey: String, uid: String) -> String? {
        if let gigyaUID = state.siteUIDs[apiKey]?[uid], let user = state.users[apiKey]?[gigyaUID], !user.deleted {
            return gigyaUID
        }
        if let user = state.users[apiKey]?[uid], !user.deleted, user.siteUID == nil {
            return uid
        }
        return nil
    }

    /// Any user, deleted or not, by Gigya UID or site UID (for the `/_emulator` routes); several sites may match.
    func lookup(uid: String, apiKey: String?) -> [EmulatorUserState] {
        state.withLock { state in
            state.users.keys.filter { apiKey == nil || $0 == apiKey }.sorted().compactMap { key in
                if let user = state.users[key]?[uid] {
                    return user
                }
                return state.siteUIDs[key]?[uid].flatMap { state.users[key]?[$0] }
            }
        }
    }

    /// Logs a user in with a provider: finds or creates the user and issues a fresh provider session.
    func login(
        apiKey: String,
        uid: String?,
        provider: String,
        providerUID: String?,
        profile: (email: String?, firstName: String?, lastName: String?),
        session: (String) -> EmulatorProviderSession,
        now: Int64
    ) -> (user: EmulatorUserState, isNew: Bool) {
        state.withLock { state in
            // A browser login names the person, so the Gigya UID finds the user even after a siteUID replaced it.
            var gigyaUID = uid.flatMap { Self.activeGigyaUID(state, apiKey: apiKey, uid: $0) }
            if gigyaUID == nil, let uid, state.siteUIDs[apiKey]?[uid] == nil {
                gigyaUID = uid
            }
            let resolvedUID = gigyaUID ?? GigyaEmulator.randomHex(16)
            var isNew = false
            var user: EmulatorUserState
            if let existing = state.users[apiKey]?[resolvedUID], !existing.deleted {
                user = existing
            } else {
                // Re-creating a deleted account: its old siteUID must not lead to the new one.
                if let stale = state.users[apiKey]?[resolvedUID]?.siteUID {
                    state.siteUIDs[apiKey]?[stale] = nil
                }
                isNew = true
                user = EmulatorUserState(
                    gigyaUID: resolvedUID, siteUID: nil, UID: resolvedUID, apiKey: apiKey, loginProvider: provider, sessions: [:],
                    email: nil, firstName: nil, lastName: nil, data: [:], isRegistered: false, created: now, lastLogin: now, deleted: false
                )
            }
            let keptProviderUID = providerUID ?? user.sessions[provider]?.providerUID ?? String(UInt64.random(in: 1_000_000_000...9_999_999_999))
            user.sessions[provider] = session(keptProviderUID)
            user.loginProvider = provider
            user.lastLogin = now
            user.email = profile.email ?? user.email
            user.firstName = profile.firstName ?? user.firstName
            user.lastName = profile.lastName ?? user.lastName
            state.users[apiKey, default: [:]][resolvedUID] = user
            return (user, isNew)
        }
    }

    /// Replaces every provider session of a user with fresh tokens.
    func rotate(apiKey: String, gigyaUID: String, session: (EmulatorProviderSession) -> EmulatorProviderSession) -> EmulatorUserState? {
        state.withLock { state in
            guard var user = state.users[apiKey]?[gigyaUID], !user.deleted else {
                return nil
            }
            user.sessions = user.sessions.mapValues(session)
            state.users[apiKey]![gigyaUID] = user
            return user
        }
    }

    /// Marks a user deleted: it answers to nothing afterwards, but stays visible to `GET /_emulator/users/{uid}`.
    func delete(apiKey: String, gigyaUID: String) -> EmulatorUserState? {
        state.withLock { state in
            guard var user = state.users[apiKey]?[gigyaUID], !user.deleted else {
                return nil
            }
            user.deleted = true
            state.users[apiKey]![gigyaUID] = user
            return user
        }
    }

    /// Merges `data` shallowly into the live user answering to `uid` (top-level keys replace, as Gigya merges) and sets the
    /// given profile fields; nil when no live user answers to `uid`.
    func setAccountInfo(
        apiKey: String,
        uid: String,
        data: [String: GigyaJSON],
        profile: (email: String?, firstName: String?, lastName: String?)
    ) -> EmulatorUserState? {
        state.withLock { state in
            guard let gigyaUID = Self.activeGigyaUID(state, apiKey: apiKey, uid: uid), var user = state.users[apiKey]?[gigyaUID] else {
                return nil
            }
            user.data.merge(data) { _, new in new }
            user.email = profile.email ?? user.email
            user.firstName = profile.firstName ?? user.firstName
            user.lastName = profile.lastName ?? user.lastName
            state.users[apiKey]![gigyaUID] = user
            return user
        }
    }

    /// Links a site UID to the live user answering to `uid`; the old id stops answering (docs/gigya-protocol.md §3).
    ///
    /// Returns nil when no live user answers to `uid`.
    func setSiteUID(apiKey: String, uid: String, siteUID: String, register: Bool) throws(SiteUIDConflict) -> EmulatorUserState? {
        try state.withLock { state throws(SiteUIDConflict) in
            guard let gigyaUID = Self.activeGigyaUID(state, apiKey: apiKey, uid: uid), var user = state.users[apiKey]?[gigyaUID] else {
                return nil
            }
            // Strictest reading: an id another user of the site answers to, or was created with, is never reassigned.
            if let holder = state.siteUIDs[apiKey]?[siteUID], holder != gigyaUID {
                throw .heldByAnotherUser
            }
            if siteUID != gigyaUID, state.users[apiKey]?[siteUID] != nil {
                throw .heldByAnotherUser
            }
            if let previous = user.siteUID, previous != siteUID {
                state.siteUIDs[apiKey]?[previous] = nil
            }
            state.siteUIDs[apiKey, default: [:]][siteUID] = gigyaUID
            user.siteUID = siteUID
            user.UID = siteUID
            user.isRegistered = user.isRegistered || register
            state.users[apiKey]![gigyaUID] = user
            return user
        }
    }
}
