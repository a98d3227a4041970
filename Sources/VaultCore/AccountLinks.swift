public import Foundation
public import GigyaClient
import GigyaKit
public import VaultStore

/// Why a link was refused before anything was stored or sent.
public enum LinkRequestError: Error, Sendable, Equatable {
    /// The request's site could not be resolved.
    case site(SiteResolutionError)
    /// A field breaks one of Gigya's rules for it; `rule` says which.
    case invalidField(field: String, rule: String)
    /// The site UID is linked here already, or Gigya knows it as a UID (a setUID to it would merge two accounts, §11).
    case siteUIDTaken(reason: String)
    /// The Gigya UID already has another site UID here.
    case uidAlreadyLinked(siteUID: String)
    /// Sessions are stored here under the site UID (a UID Gigya no longer knows, or a stale one): a link would merge them
    /// into the user's.
    case siteUIDHoldsSessions
    /// Linking would rename an account on an accounts (RaaS) site, which its configuration does not allow.
    case renameNotAllowed(reason: String)
    /// The site is not wired for linking.
    case linkingUnavailable
    /// Gigya could not be asked whether the site UID is free; nothing was stored.
    case gigyaUnavailable(summary: String, retryable: Bool)
    /// As many Gigya calls as allowed are in flight for requests; nothing was asked or stored.
    case gigyaBusy
}

/// Accepts links (`POST /v1/links`): validates, refuses collisions before anything is sent, stores the link durably for
/// the link worker, and serves and forgets links.
public struct AccountLinkService: Sendable {
    private let store: any LinkRepository
    private let sites: SiteDirectory
    /// Bounds the checks with Gigya that link requests make at once (shared with the other calls requests wait on).
    private let gigyaCalls: InFlightLimit

    public init(store: any LinkRepository, sites: SiteDirectory, gigyaCalls: InFlightLimit) {
        self.store = store
        self.sites = sites
        self.gigyaCalls = gigyaCalls
    }

    /// Resolves the site a request means.
    public func site(apiKey: String?) throws(LinkRequestError) -> GigyaSite {
        do {
            return try sites.resolve(apiKey: apiKey)
        } catch {
            throw .site(error)
        }
    }

    /// Gigya's rules for a siteUID (docs/gigya-protocol.md §3): ASCII, at most 252 characters, different from the UID;
    /// control characters are refused too.
    public static func validate(uid: String, siteUID: String) throws(LinkRequestError) {
        do {
            try LoginIntake.validateUID(uid)
        } catch {
            throw .invalidField(field: "uid", rule: "must be a Gigya UID: non-empty, at most 256 characters, no control characters")
        }
        try validateSiteUID(siteUID)
        guard siteUID != uid else { throw .invalidField(field: "siteUID", rule: "must differ from the Gigya UID") }
    }

    /// Gigya's rules for a siteUID on its own (docs/gigya-protocol.md §3): non-empty ASCII of at most 252 characters, no
    /// control characters.
    public static func validateSiteUID(_ siteUID: String) throws(LinkRequestError) {
        guard !siteUID.isEmpty else { throw .invalidField(field: "siteUID", rule: "must not be empty") }
        guard siteUID.unicodeScalars.allSatisfy({ $0.isASCII }) else {
            throw .invalidField(field: "siteUID", rule: "must be ASCII only (Gigya accepts no Unicode in a siteUID)")
        }
        guard siteUID.utf8.count <= 252 else { throw .invalidField(field: "siteUID", rule: "must be at most 252 characters") }
        guard !siteUID.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalidField(field: "siteUID", rule: "must not contain control characters")
        }
    }

    /// Asks for a link: refused with nothing stored or sent when a rule is broken or either id is taken; stored durably
    /// (`created: true`) or found as already asked for (`created: false`) otherwise. The link worker sends it.
    public func request(
        site: GigyaSite, uid: String, siteUID: String, via: LinkMethod, actor: AccessActor
    ) async throws -> (link: AccountLink, created: Bool) {
        try Self.validate(uid: uid, siteUID: siteUID)
        if site.accounts.accountsAPI && !site.accounts.allowRenameOnAccountsSite {
            throw LinkRequestError.renameNotAllowed(
                reason: "site \(site.apiKey) uses Gigya accounts (RaaS): a link renames the account's UID, and a siteUID that is another "
                    + "account's UID merges the two accounts; keep the Gigya UID on your side, or set gigya.allowRenameSites for this site")
        }
        guard let directory = site.directory else { throw LinkRequestError.linkingUnavailable }
        // Here first: a repeat of the same request is answered without asking Gigya again.
        if let existing = try await store.link(site: site.apiKey, siteUID: siteUID) {
            if existing.uid == uid && existing.via == via { return (existing, false) }
            throw LinkRequestError.siteUIDTaken(reason: "the siteUID is already linked here to another user or by another method")
        }
        if let other = try await store.links(site: site.apiKey, uid: uid).first(where: { $0.uid == uid }) {
            throw LinkRequestError.uidAlreadyLinked(siteUID: other.siteUID)
        }
        if !(try await store.links(site: site.apiKey, uid: siteUID).isEmpty) {
            throw LinkRequestError.siteUIDTaken(reason: "the siteUID is a UID of a link here")
        }
        do {
            try await gigyaCalls.run { try await Self.checkFreeAtGigya(siteUID, directory: directory) }
        } catch is InFlightLimit.Exhausted {
            throw LinkRequestError.gigyaBusy
        }
        let new = NewAccountLink(site: site.apiKey, uid: uid, siteUID: siteUID, via: via, requestedBy: actor.name, requestedByKeyID: actor.keyID)
        switch try await store.requestLink(new) {
        case .created(let link): return (link, true)
        case .existing(let link): return (link, false)
        case .siteUIDTaken: throw LinkRequestError.siteUIDTaken(reason: "the siteUID, or the UID, is already part of another link here")
        case .uidAlreadyLinked(let other): throw LinkRequestError.uidAlreadyLinked(siteUID: other.siteUID)
        case .siteUIDHoldsSessions: throw LinkRequestError.siteUIDHoldsSessions
        }
    }

    /// Refuses a siteUID Gigya already knows as a UID: setUID to it would merge two people's accounts (§11).
    static func checkFreeAtGigya(_ siteUID: String, directory: any GigyaAccountDirectory) async throws(LinkRequestError) {
        do {
            _ = try await directory.getUserInfo(uid: siteUID)
        } catch {
            if error.isUnknownUser { return }
            throw .gigyaUnavailable(summary: error.summary, retryable: error.isTransient)
        }
        throw .siteUIDTaken(reason: "Gigya already knows the siteUID as a UID; linking to it would merge two accounts")
    }

    /// The link of a site UID.
    public func link(site: String, siteUID: String) async throws -> AccountLink? {
        try await store.link(site: site, siteUID: siteUID)
    }

    /// A page of links of the given sites (nil: all), newest first.
    public func links(sites: [String]?, statuses: [LinkStatus]?, limit: Int, after cursor: LinkCursor?) async throws -> LinkPage {
        try await store.links(sites: sites, statuses: statuses, limit: limit, after: cursor)
    }

    /// Forgets a link locally (Gigya keeps whatever it holds), audited; nil when there was none.
    public func forget(site: String, siteUID: String, actor: AccessActor) async throws -> AccountLink? {
        try await store.forgetLink(site: site, siteUID: siteUID, audit: actor.entry("link.forget", site: site, uid: siteUID, provider: nil, detail: nil))
    }
}
