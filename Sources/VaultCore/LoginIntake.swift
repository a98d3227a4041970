public import Crypto
public import Foundation
public import GigyaKit
public import VaultStore

/// A login result as a browser got it from Gigya's Web SDK and a web app posted it on.
public struct LoginResult: Sendable, Equatable {
    public var uid: String
    public var uidSignature: String
    public var signatureTimestamp: String
    public var provider: String
    public var apiKey: String?
    /// A Gigya id_token, posted instead of `uidSignature` and `signatureTimestamp` (docs/gigya-protocol.md §10).
    public var idToken: String?

    public init(uid: String, uidSignature: String, signatureTimestamp: String, provider: String, apiKey: String? = nil, idToken: String? = nil) {
        self.uid = uid
        self.uidSignature = uidSignature
        self.signatureTimestamp = signatureTimestamp
        self.provider = provider
        self.apiKey = apiKey
        self.idToken = idToken
    }
}

/// What intake answers for an accepted login result.
public struct IntakeReceipt: Sendable, Equatable {
    public let eventID: UUID
    public let status: LoginEventStatus
    /// True when the same login result had been accepted before: nothing new was stored.
    public let duplicate: Bool
}

/// Why a login result was refused; nothing is stored for any of these.
public enum IntakeError: Error, Sendable, Equatable {
    /// A required field is absent or empty.
    case missingField(String)
    /// A field is present but unusable (too long, wrong characters).
    case invalidField(String, reason: String)
    /// The request's `apiKey` names no configured site, or names none while several are configured.
    case site(SiteResolutionError)
    /// The site does not accept login callbacks for this provider.
    case providerNotAllowed
    /// This login result has already made `limit` events (one per provider); nothing more is stored for it.
    case tooManyEvents(limit: Int)
    /// The signature check failed; the failure says why.
    case signature(SignatureFailure)
    /// The id_token was refused (malformed or failing a check); the refusal says which.
    case idToken(IDTokenRefusal)
    /// The site does not accept this kind of login result (`gigya.loginVerification`).
    case notAccepted(LoginKind)
}

/// Why a verified login result could not be acknowledged: the store side failed. The answer says whether it may
/// have been stored; posting the same login result again is always safe (a duplicate gets the same event id).
public enum IntakeUnavailable: Error, Sendable, Equatable {
    /// Too many callbacks are waiting for a commit; nothing was stored.
    case overloaded
    /// The write failed before anything could commit; nothing was stored.
    case notStored
    /// The write failed or timed out while it may have been committing: the callback may have been stored.
    case outcomeUnknown
    /// An id_token could not be checked: Gigya's keys are not cached and cannot be fetched; nothing was stored.
    case keysUnavailable
}

/// How intake paces its writes and waits.
public struct IntakeSettings: Sendable {
    /// The most login callbacks one intake transaction carries (group commit); 1 means a commit per request.
    public var maxBatch: Int
    /// The most callbacks waiting for a commit; beyond it callbacks are refused at once (503 with Retry-After).
    public var maxQueued: Int
    /// How long one intake transaction may take before its callbacks are answered `outcomeUnknown`.
    public var writeDeadline: Duration
    /// How long any other database call of intake (reading an event) may take.
    public var readDeadline: Duration
    /// The most `Prefer: wait` requests waiting at once.
    public var maxWaiters: Int
    /// Seconds a replay key outlives the signature window.
    public var replayMarginSeconds: Int64
    /// The most events one login result may yield, whatever providers are posted with it.
    public var maxEventsPerLogin: Int

    public init(
        maxBatch: Int = 256,
        maxQueued: Int = 4096,
        writeDeadline: Duration = .seconds(10),
        readDeadline: Duration = .seconds(5),
        maxWaiters: Int = 1024,
        replayMarginSeconds: Int64 = 60,
        maxEventsPerLogin: Int = 4
    ) {
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
        self.writeDeadline = writeDeadline
        self.readDeadline = readDeadline
        self.maxWaiters = maxWaiters
        self.replayMarginSeconds = replayMarginSeconds
        self.maxEventsPerLogin = maxEventsPerLogin
    }
}

/// Verifies login results and hands accepted ones to the durable inbox; the first step of the one-way flow.
public struct LoginIntake: Sendable {
    /// Longest accepted UID; Gigya UIDs are 32 hex characters and site UIDs at most 252 ASCII characters.
    public static let maxUIDLength = 256
    /// Longest accepted provider name (`facebook`, `oidc-<name>`, `saml-<name>`).
    public static let maxProviderLength = 64

    private let sites: SiteDirectory
    private let committer: GroupCommitter<NewLoginEvent, EnqueueOutcome>
    private let inbox: any EventInbox
    let settings: IntakeSettings
    private let signals: FinishedEventSignals
    let metrics: VaultMetrics
    /// Which kinds each site accepts, and the id_token verifiers and keys.
    let idTokens: IDTokenLogins

    public init(
        sites: SiteDirectory, inbox: any EventInbox, settings: IntakeSettings, signals: FinishedEventSignals, metrics: VaultMetrics,
        idTokens: IDTokenLogins = .signaturesOnly
    ) {
        self.sites = sites
        self.idTokens = idTokens
        self.inbox = inbox
        self.settings = settings
        self.signals = signals
        self.metrics = metrics
        self.committer = GroupCommitter(
            maxBatch: settings.maxBatch, maxQueued: settings.maxQueued, deadline: settings.writeDeadline,
            onBatch: { metrics.intakeBatch(size: $0) }, write: { try await inbox.enqueue($0) }
        )
    }

    /// Verifies the login result and, when it holds, records it durably; returns only after the inbox row is committed.
    /// Throws `IntakeError` for a refused login result (nothing stored) and `IntakeUnavailable` when the store failed.
    public func accept(_ result: LoginResult) async throws -> IntakeReceipt {
        do {
            return try await acceptVerified(result)
        } catch let error as IntakeError {
            metrics.callbackRejected(error)
            throw error
        }
    }

    /// How long the intake transaction in flight has been running; readiness turns false when it is stuck.
    public var writeInFlightFor: Duration? {
        get async { await committer.writeInFlightFor }
    }

    /// As `writeInFlightFor`, leaving out writes running for longer than `limit` (see `GroupCommitter`).
    public func writeInFlightFor(ignoringOlderThan limit: Duration) async -> Duration? {
        await committer.writeInFlightFor(ignoringOlderThan: limit)
    }

    private func acceptVerified(_ result: LoginResult) async throws -> IntakeReceipt {
        let result = try Self.validateShape(result)
        let site: GigyaSite
        do {
            site = try sites.resolve(apiKey: result.apiKey)
        } catch {
            throw IntakeError.site(error)
        }
        guard site.providers.allows(result.provider) else { throw IntakeError.providerNotAllowed }
        let event: NewLoginEvent
        switch try loginKind(of: result, site: site) {
        case .idToken: event = try await idTokenEvent(result, site: site)
        case .signature: event = try signatureEvent(result, site: site)
        }
        switch try await commit(event) {
        case .accepted(let eventID):
            metrics.callbackAccepted()
            return IntakeReceipt(eventID: eventID, status: .pending, duplicate: false)
        case .duplicate(let eventID):
            metrics.callbackDuplicate()
            let existing = (try? await withDeadline(settings.readDeadline) { try await inbox.event(id: eventID) }) ?? nil
            return IntakeReceipt(eventID: eventID, status: existing?.status ?? .pending, duplicate: true)
        case .overBudget:
            throw IntakeError.tooManyEvents(limit: settings.maxEventsPerLogin)
        }
    }

    /// Verifies a login result's `UIDSignature` and makes its event.
    private func signatureEvent(_ result: LoginResult, site: GigyaSite) throws(IntakeError) -> NewLoginEvent {
        let timestamp: Int64
        do {
            timestamp = try site.verifier.verifyUser(uid: result.uid, timestamp: result.signatureTimestamp, signature: result.uidSignature)
        } catch {
            throw IntakeError.signature(error)
        }
        // The replay key lives as long as the window could accept the login result.
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(timestamp + site.verifier.windowSeconds + settings.replayMarginSeconds))
        return NewLoginEvent(
            site: site.apiKey,
            uid: result.uid,
            provider: result.provider,
            signatureTimestamp: timestamp,
            replayKey: Self.replayKey(site: site.apiKey, result: result),
            replayExpiresAt: expiresAt,
            loginKey: Self.loginKey(site: site.apiKey, result: result),
            maxEventsPerLogin: settings.maxEventsPerLogin
        )
    }

    /// Group-commits one event, turning store failures into what the caller may tell its client.
    private func commit(_ event: NewLoginEvent) async throws -> EnqueueOutcome {
        do {
            return try await committer.submit(event)
        } catch GroupCommitError.overloaded {
            metrics.callbackUnavailable("overloaded")
            throw IntakeUnavailable.overloaded
        } catch GroupCommitError.deadlineExceeded, VaultStoreError.commitOutcomeUnknown {
            metrics.callbackUnavailable("outcome_unknown")
            throw IntakeUnavailable.outcomeUnknown
        } catch {
            metrics.callbackUnavailable("not_stored")
            throw IntakeUnavailable.notStored
        }
    }

    /// A UID as the read API receives it in a path: the same rules as a login callback's `UID`.
    public static func validateUID(_ uid: String) throws(IntakeError) {
        if uid.isEmpty { throw .missingField("UID") }
        if uid.utf8.count > maxUIDLength {
            throw .invalidField("UID", reason: "longer than \(maxUIDLength) bytes")
        }
        if uid.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw .invalidField("UID", reason: "contains control characters")
        }
    }

    /// A provider name checked with the rules of a login callback's `provider`, in its one spelling: lower case, as
    /// Gigya names its providers, so "Facebook" and "facebook" are one provider at intake, in the store and in paths.
    public static func canonicalProvider(_ provider: String) throws(IntakeError) -> String {
        if provider.isEmpty { throw .missingField("provider") }
        if provider.utf8.count > maxProviderLength {
            throw .invalidField("provider", reason: "longer than \(maxProviderLength) characters")
        }
        let allowed = provider.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
        if !allowed { throw .invalidField("provider", reason: "only letters, digits, '-', '_' and '.' are allowed") }
        // ASCII only by now, so this lower-cases A-Z and nothing else.
        return provider.lowercased()
    }

    /// Rejects malformed input before any cryptography runs, naming the field; the result with its provider in its one
    /// spelling.
    static func validateShape(_ result: LoginResult) throws(IntakeError) -> LoginResult {
        if result.uid.isEmpty { throw .missingField("UID") }
        if let token = result.idToken, !token.isEmpty {
            try validateIDTokenShape(token)
        } else {
            if result.uidSignature.isEmpty { throw .missingField("UIDSignature") }
            if result.signatureTimestamp.isEmpty { throw .missingField("signatureTimestamp") }
        }
        if result.provider.isEmpty { throw .missingField("provider") }
        try validateUID(result.uid)
        var result = result
        result.provider = try canonicalProvider(result.provider)
        return result
    }

    /// The replay key: a digest of what makes a login result unique, so the signature itself is never stored.
    /// The provider is part of it because Gigya signs only `timestamp_UID`: one user logging in with two providers
    /// within a second gets two login results with the same signature, and both must be processed.
    static func replayKey(site: String, result: LoginResult) -> [UInt8] {
        var hasher = SHA256()
        for part in ["login-result-v1", site, result.uid, result.signatureTimestamp, result.uidSignature, result.provider] {
            var length = UInt32(part.utf8.count).bigEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(data: Array(part.utf8))
        }
        return Array(hasher.finalize())
    }

    /// The budget key: the replay key's digest without the provider, so every provider posted with one login result
    /// counts against the same `maxEventsPerLogin`.
    static func loginKey(site: String, result: LoginResult) -> [UInt8] {
        var hasher = SHA256()
        for part in ["login-result-budget-v1", site, result.uid, result.signatureTimestamp, result.uidSignature] {
            var length = UInt32(part.utf8.count).bigEndian
            withUnsafeBytes(of: &length) { hasher.update(bufferPointer: $0) }
            hasher.update(data: Array(part.utf8))
        }
        return Array(hasher.finalize())
    }

    /// Waits up to `timeout` for the event to reach `stored` or `failed`, returning its latest state and whether it
    /// waited at all (false when the most waiters were already waiting: the answer is then the current state).
    /// The database is read when the event is announced (or once a second should announcements be lost), not polled.
    public func awaitOutcome(eventID: UUID, timeout: Duration) async throws -> (event: LoginEvent?, waited: Bool) {
        let read = { [inbox, settings] in try await withDeadline(settings.readDeadline) { try await inbox.event(id: eventID) } }
        guard let subscription = signals.subscribe(eventID) else { return (try await read(), false) }
        defer { subscription.cancel() }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let event = try await read()
            guard let event, event.status == .pending || event.status == .processing else { return (event, true) }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return (event, true) }
            await subscription.next(timeout: min(remaining, .seconds(1)))
        }
    }
}
