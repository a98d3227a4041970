import Foundation
import GigyaClient
import Logging
import VaultStore

/// One run's checks and repairs, batch by batch, each batch written with a checkpoint.
struct RunWork: Sendable {
    let request: ReconcileRequest
    let run: ReconciliationRun
    let view: GigyaView
    let gigya: GigyaLookup
    let store: any ReconciliationStore & LinkRepository & AccountLifecycleStore
    let linkWorker: LinkWorker
    let settings: Reconciler.Settings
    let tracker: ProgressTracker
    let logger: Logger

    private var site: String { request.site.apiKey }
    private var repairing: Bool { request.mode == .repair }
    private static let actor = AccessActor(keyID: nil, name: "reconcile")

    /// Every link of the site, after the checkpoint.
    func checkLinks(report: @Sendable (String) async -> Void) async throws {
        var after: UUID?
        if let checkpoint = run.checkpoint {
            // Links were all checked once the checkpoint names a user.
            if checkpoint.hasPrefix("user:") { return }
            after = UUID(uuidString: String(checkpoint.dropFirst("link:".count)))
        }
        while true {
            try Task.checkCancellation()
            let links = try await store.linksForReconciliation(site: site, after: after, limit: settings.batchSize)
            guard let last = links.last else { return }
            let known = try await lookUp(Set(links.flatMap { [$0.siteUID, $0.uid] }))
            let identities = try await storedIdentities(of: links.filter { $0.status == .linked }.map(\.siteUID))
            var items: [ReconciliationItem] = []
            for link in links { items.append(try await repair(check(link, known: known, identities: identities[link.siteUID] ?? []))) }
            let checked = await tracker.advance(by: links.count)
            try await store.recordItems(runID: run.id, items: items, checkpoint: "link:\(last.id.uuidString)", checked: checked)
            after = last.id
            await report("checking links")
        }
    }

    /// Every user with stored sessions that no link covers, after the checkpoint.
    func checkUsers(report: @Sendable (String) async -> Void) async throws {
        var linked: Set<String> = []
        var page: UUID?
        while true {
            let links = try await store.linksForReconciliation(site: site, after: page, limit: 1000)
            guard let last = links.last else { break }
            for link in links {
                linked.insert(link.uid)
                linked.insert(link.siteUID)
            }
            page = last.id
        }
        var after: String?
        if let checkpoint = run.checkpoint, checkpoint.hasPrefix("user:") { after = String(checkpoint.dropFirst("user:".count)) }
        while true {
            try Task.checkCancellation()
            let users = try await store.usersWithSessions(site: site, after: after, limit: settings.batchSize)
            guard let last = users.last else { return }
            let unlinked = users.filter { !linked.contains($0.uid) }
            let known = try await lookUp(Set(unlinked.map(\.uid)))
            var items: [ReconciliationItem] = []
            for user in unlinked { items.append(try await repair(check(user, known: known))) }
            let checked = await tracker.advance(by: users.count)
            try await store.recordItems(runID: run.id, items: items, checkpoint: "user:\(last.uid)", checked: checked)
            after = last.uid
            await report("checking users")
        }
    }

    /// Which of `uids` Gigya knows: from the snapshot, or looked up with bounded concurrency.
    private func lookUp(_ uids: Set<String>) async throws -> Set<String> {
        if let accounts = view.accounts { return uids.intersection(accounts.known) }
        var known: Set<String> = []
        var pending = Array(uids)
        try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            var inFlight = 0
            while !pending.isEmpty || inFlight > 0 {
                while inFlight < settings.concurrency, let uid = pending.popLast() {
                    group.addTask { [gigya] in (uid, try await gigya.knows(uid)) }
                    inFlight += 1
                }
                if let (uid, isKnown) = try await group.next() {
                    inFlight -= 1
                    if isKnown { known.insert(uid) }
                }
            }
        }
        return known
    }

    /// Whether Gigya knows `uid` right now, asked per UID. A snapshot is as old as the run: an account registered or renamed
    /// after its page was read is missing from it, so nothing the snapshot alone says is unknown is purged or re-keyed
    /// before this lookup agrees. Without a snapshot `known` came from per-UID lookups moments ago and is the answer.
    private func knownNow(_ uid: String, known: Set<String>) async throws -> Bool {
        if known.contains(uid) { return true }
        guard view.accounts != nil else { return false }
        return try await gigya.knows(uid)
    }

    /// The live account Gigya holds one of these identities under, other than `uid` (accounts sites only).
    private func owner(of identities: [(provider: String, providerUID: String)], other uid: String) -> String? {
        guard let accounts = view.accounts else { return nil }
        for identity in identities {
            if let owner = accounts.owners[GigyaAccountPage.Identity(provider: identity.provider, providerUID: identity.providerUID)], owner != uid {
                return owner
            }
        }
        return nil
    }

    /// The stored identities of linked users, for one batch in one query; only an accounts snapshot can use them.
    private func storedIdentities(of uids: [String]) async throws -> [String: [(provider: String, providerUID: String)]] {
        guard view.accounts != nil else { return [:] }
        let users = try await store.storedUsers(site: site, uids: uids)
        return Dictionary(users.map { ($0.uid, $0.identities) }, uniquingKeysWith: { first, _ in first })
    }

    /// The category of one link.
    private func check(
        _ link: AccountLink, known: Set<String>, identities stored: [(provider: String, providerUID: String)]
    ) async throws -> (ReconciliationItem, Fix?) {
        let key = "link:\(link.id.uuidString)"
        switch link.status {
        case .pending, .processing, .failed:
            if known.contains(link.siteUID) {
                return (ReconciliationItem(
                    key: key, category: .conflict, uid: link.uid, siteUID: link.siteUID, gigyaUID: link.siteUID, gigyaCode: link.lastErrorCode,
                    detail: "Gigya holds the siteUID for another account; sending this link would merge the two"), nil)
            }
            if link.status == .failed {
                return (ReconciliationItem(
                    key: key, category: .failed, uid: link.uid, siteUID: link.siteUID, gigyaCode: link.lastErrorCode,
                    detail: "the link failed: \(link.lastErrorMessage ?? "no message")"), .resend(link))
            }
            return (ReconciliationItem(key: key, category: .pending, uid: link.uid, siteUID: link.siteUID, detail: "the link is not sent yet"), .resend(link))
        case .linked:
            if try await knownNow(link.siteUID, known: known) {
                if let other = owner(of: stored, other: link.siteUID) {
                    return (ReconciliationItem(
                        key: key, category: .conflict, uid: link.siteUID, siteUID: link.siteUID, gigyaUID: other,
                        detail: "sessions stored under this siteUID belong at Gigya to another account (\(other))"), nil)
                }
                return (ReconciliationItem(key: key, category: .ok, uid: link.siteUID, siteUID: link.siteUID, detail: "linked at Gigya"), nil)
            }
            if try await knownNow(link.uid, known: known) {
                return (ReconciliationItem(
                    key: key, category: .drift, uid: link.siteUID, siteUID: link.siteUID, gigyaUID: link.uid,
                    detail: "Gigya holds no siteUID for this account: the link is recorded here only"), .resend(link))
            }
            if let current = owner(of: stored, other: link.siteUID), try await knownNow(current, known: []) {
                return (ReconciliationItem(
                    key: key, category: .drift, uid: link.siteUID, siteUID: link.siteUID, gigyaUID: current,
                    detail: "the account's UID changed at Gigya to \(current) without the event reaching session-vault"),
                    .rekey(from: link.siteUID, to: current))
            }
            return (ReconciliationItem(
                key: key, category: .orphan, uid: link.siteUID, siteUID: link.siteUID,
                detail: "Gigya knows neither the siteUID nor the Gigya UID"), .purge(link.siteUID))
        }
    }

    /// The category of one user with sessions and no link.
    private func check(_ user: StoredUser, known: Set<String>) async throws -> (ReconciliationItem, Fix?) {
        let key = "user:\(user.uid)"
        if try await knownNow(user.uid, known: known) {
            if let other = owner(of: user.identities, other: user.uid) {
                return (ReconciliationItem(
                    key: key, category: .conflict, uid: user.uid, gigyaUID: other,
                    detail: "some sessions stored under this UID belong at Gigya to another account (\(other))"), nil)
            }
            return (ReconciliationItem(key: key, category: .unlinked, uid: user.uid, detail: "sessions without a link"), nil)
        }
        if let current = owner(of: user.identities, other: user.uid), try await knownNow(current, known: []) {
            return (ReconciliationItem(
                key: key, category: .drift, uid: user.uid, gigyaUID: current,
                detail: "the account's UID changed at Gigya to \(current) without the event reaching session-vault"),
                .rekey(from: user.uid, to: current))
        }
        return (ReconciliationItem(key: key, category: .orphan, uid: user.uid, detail: "Gigya no longer knows this UID"), .purge(user.uid))
    }

    /// What a repair does about a finding.
    enum Fix: Sendable {
        case resend(AccountLink)
        case rekey(from: String, to: String)
        case purge(String)
    }

    /// Applies the fix when repairing (orphans only with `purgeOrphans`), noting what was done.
    private func repair(_ finding: (ReconciliationItem, Fix?)) async throws -> ReconciliationItem {
        var (item, fix) = finding
        guard let fix else { return item }
        guard repairing else {
            item.action = nil
            return item
        }
        let detail = "run=\(run.id) category=\(item.category.rawValue)"
        switch fix {
        case .resend(let link):
            let audit = Self.actor.entry("reconcile.resend", site: site, uid: link.uid, provider: nil, detail: detail)
            guard try await store.retryLink(id: link.id, expecting: link.status, audit: audit) else {
                item.action = "not re-sent: the link changed since it was checked (a worker holds it, or sent it)"
                return item
            }
            item.action = try await awaitLink(link)
        case .rekey(let from, let to):
            let moved = try await store.rekeyUser(
                site: site, from: from, to: to, audit: Self.actor.entry("reconcile.rekey", site: site, uid: to, provider: nil, detail: detail))
            item.action = "moved to \(to) (\(moved.summary))"
        case .purge(let uid):
            guard request.purgeOrphans else {
                item.action = "kept: --purge-orphans removes it"
                return item
            }
            let purged = try await store.purgeUser(
                site: site, uid: uid, audit: Self.actor.entry("reconcile.purge", site: site, uid: uid, provider: nil, detail: detail))
            item.action = "purged (\(purged.summary))"
        }
        return item
    }

    /// Sends a re-queued link now (or lets a running worker do it) and waits for its outcome.
    private func awaitLink(_ sent: AccountLink) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: settings.linkWait)
        while ContinuousClock.now < deadline {
            try Task.checkCancellation()
            await linkWorker.runOnce(linkID: sent.id, workerID: "reconcile-\(run.id.uuidString.prefix(8))")
            guard let link = try await store.link(site: site, siteUID: sent.siteUID), link.id == sent.id else {
                return "re-sent: the link was removed meanwhile"
            }
            switch link.status {
            case .linked: return "re-sent: linked"
            case .failed: return "re-sent: failed (\(link.lastErrorCode.map(String.init) ?? "no code"))"
            case .pending, .processing: try await Task.sleep(for: .milliseconds(50))
            }
        }
        return "re-sent: still being sent"
    }
}

