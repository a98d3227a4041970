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

    public init(uid: String, uidSignature: String, signatureTimestamp: String, provider: String, apiKey: String? = nil) {
        self.uid = uid
        self.uidSignature = uidSignature
        self.signatureTimestamp = signatureTimestamp
        self.provider = provider
        self.apiKey = apiKey
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
}

/// Verifies login results and hands accepted ones to the durable inbox; the first step of the one-way flow.
public struct LoginIntake: Sendable {
    /// Longest accepted UID; Gigya UIDs are 32 hex characters and site UIDs at most 252 ASCII characters.
    public static let maxUIDLength = 256
    /// Longest accepted provider name (`facebook`, `oidc-<name>`, `saml-<name>`).
    public static let maxProviderLength = 64

    private let sites: SiteDirectory
    private let batcher: IntakeBatcher
    private let inbox: any EventInbox
    private let replayMarginSeconds: Int64
    private let maxEventsPerLogin: Int
    private let metrics: VaultMetrics

    public init(
        sites: SiteDirectory, batcher: IntakeBatcher, inbox: any EventInbox, metrics: VaultMetrics, maxEventsPerLogin: Int = 4,
        replayMarginSeconds: Int64 = 60
    ) {
        self.sites = sites
        self.batcher = batcher
        self.inbox = inbox
        self.metrics = metrics
        self.maxEventsPerLogin = maxEventsPerLogin
        self.replayMarginSeconds = replayMarginSeconds
    }

    /// Verifies the login result and, when it holds, records it durably; returns only after the inbox row is committed.
    public func accept(_ result: LoginResult) async throws -> IntakeReceipt {
        do {
            return try await acceptVerified(result)
        } catch let error as IntakeError {
            metrics.callbackRejected(error)
            throw error
        }
    }

    private func acceptVerified(_ result: LoginResult) async throws -> IntakeReceipt {
        try Self.validateShape(result)
        let site: GigyaSite
        do {
            site = try sites.resolve(apiKey: result.apiKey)
        } catch {
            throw IntakeError.site(error)
        }
        guard site.providers.allows(result.provider) else { throw IntakeError.providerNotAllowed }
        let timestamp: Int64
        do {
            timestamp = try site.verifier.verifyUser(uid: result.uid, timestamp: result.signatureTimestamp, signature: result.uidSignature)
        } catch {
            throw IntakeError.signature(error)
        }
        // The replay key lives as long as the window could accept the login result.
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(timestamp + site.verifier.windowSeconds + replayMarginSeconds))
        let event = NewLoginEvent(
            site: site.apiKey,
            uid: result.uid,
            provider: result.provider,
            signatureTimestamp: timestamp,
            replayKey: Self.replayKey(site: site.apiKey, result: result),
            replayExpiresAt: expiresAt,
            loginKey: Self.loginKey(site: site.apiKey, result: result),
            maxEventsPerLogin: maxEventsPerLogin
        )
        switch try await batcher.submit(event) {
        case .accepted(let eventID):
            metrics.callbackAccepted()
            return IntakeReceipt(eventID: eventID, status: .pending, duplicate: false)
        case .duplicate(let eventID):
            metrics.callbackDuplicate()
            let existing = try await inbox.event(id: eventID)
            return IntakeReceipt(eventID: eventID, status: existing?.status ?? .pending, duplicate: true)
        case .overBudget:
            throw IntakeError.tooManyEvents(limit: maxEventsPerLogin)
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

    /// A provider name as the read API receives it in a path: the same rules as a login callback's `provider`.
    public static func validateProvider(_ provider: String) throws(IntakeError) {
        if provider.isEmpty { throw .missingField("provider") }
        if provider.utf8.count > maxProviderLength {
            throw .invalidField("provider", reason: "longer than \(maxProviderLength) characters")
        }
        let allowed = provider.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
        if !allowed { throw .invalidField("provider", reason: "only letters, digits, '-', '_' and '.' are allowed") }
    }

    /// Rejects malformed input before any cryptography runs, naming the field.
    static func validateShape(_ result: LoginResult) throws(IntakeError) {
        if result.uid.isEmpty { throw .missingField("UID") }
        if result.uidSignature.isEmpty { throw .missingField("UIDSignature") }
        if result.signatureTimestamp.isEmpty { throw .missingField("signatureTimestamp") }
        if result.provider.isEmpty { throw .missingField("provider") }
        try validateUID(result.uid)
        try validateProvider(result.provider)
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

    /// Waits up to `timeout` for the event to reach `stored` or `failed`, returning its latest state.
    public func awaitOutcome(eventID: UUID, timeout: Duration, pollInterval: Duration = .milliseconds(50)) async throws -> LoginEvent? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let event = try await inbox.event(id: eventID)
            guard let event, event.status == .pending || event.status == .processing else { return event }
            if ContinuousClock.now >= deadline { return event }
            try await Task.sleep(for: pollInterval)
        }
    }
}
