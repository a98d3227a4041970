import Foundation
import GigyaKit
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The shared engine behind every route: sites, state, faults, webhooks and the request checks.
final class EmulatorCore: Sendable {
    /// How often, at most, the accounts file is rewritten while changes keep coming.
    static let accountsWriteInterval = Duration.milliseconds(200)

    let sites: [String: SiteKeys]
    let apiKeys: [String]
    let store: EmulatorStore
    let faults = FaultInjector()
    let jwtKeys: EmulatorJWTKeyRing
    let ledger = CallLedger()
    let webhooks: WebhookDispatcher
    /// Writes the accounts file, when one is configured.
    let persister: AccountsPersister?
    let cursors = SearchCursors()
    let clock: any WallClock
    let window: Int64
    let trustForwardedProto: Bool
    /// What `/_emulator` routes want as a bearer token, if anything.
    let controlToken: String?
    let logger: Logger

    /// Decodes the sites' secrets and loads the accounts file, if any.
    ///
    /// Throws `EmulatorSiteError` for a site that cannot be served and `EmulatorAccountsFileError` for an accounts file
    /// that exists but cannot be read or understood.
    init(configuration: EmulatorConfiguration) throws {
        try GigyaEmulator.validate(configuration.sites)
        var sites: [String: SiteKeys] = [:]
        for site in configuration.sites {
            guard let secret = try? GigyaSecret(base64: site.partnerSecret), let cipher = try? TokenCipher(secret: secret) else {
                throw EmulatorSiteError.invalidSecret(apiKey: site.apiKey, userKey: nil)
            }
            let userKeys = site.userKeys.compactMapValues { try? GigyaSecret(base64: $0) }
            sites[site.apiKey] = SiteKeys(site: site, partnerSecret: secret, cipher: cipher, userKeys: userKeys)
        }
        self.sites = sites
        self.apiKeys = configuration.sites.map(\.apiKey)
        self.clock = configuration.clock
        self.window = configuration.requestWindowSeconds
        self.trustForwardedProto = configuration.trustForwardedProto
        self.controlToken = configuration.controlToken
        self.logger = configuration.logger
        if let path = configuration.accountsFile {
            let file = EmulatorAccountsFile(path: path)
            let snapshot = try file.load()
            let persister = AccountsPersister(file: file, interval: Self.accountsWriteInterval, logger: configuration.logger)
            let store = EmulatorStore(restoring: snapshot) { [weak persister] in
                persister?.storeChanged()
            }
            persister.attach(store)
            self.store = store
            self.persister = persister
            configuration.logger.info("accounts file loaded", metadata: ["path": "\(path)", "accounts": "\(snapshot?.users.count ?? 0)"])
        } else {
            self.store = EmulatorStore()
            self.persister = nil
        }
        let jwtKeys = EmulatorJWTKeyRing()
        self.jwtKeys = jwtKeys
        self.webhooks = WebhookDispatcher(
            url: configuration.webhookURL,
            signer: WebhookSigner(sites: sites, keys: jwtKeys),
            clock: configuration.clock,
            settings: .init(
                retryDelays: configuration.webhookRetryDelays,
                timeout: configuration.webhookTimeout,
                batchWindow: configuration.webhookBatchWindow,
                duplicateDeliveries: configuration.duplicateDeliveries
            ),
            logger: configuration.logger
        )
    }

    /// The services the application runs beside its server: webhook delivery, and the accounts file's writer.
    var services: [any Service] {
        [webhooks] + (persister.map { [$0] } ?? [])
    }

    /// Answers `POST|GET /<namespace>.<method>`: parse, faults, request checks, then the method.
    func handleREST(_ request: Request, method: String, channel: any Channel) async throws -> Response {
        var request = request
        var params: [String: String] = [:]
        var malformed = false
        if let query = request.uri.query, !query.isEmpty {
            if let decoded = FormEncoding.decode(query) {
                params = decoded
            } else {
                malformed = true
            }
        }
        if request.method == .post {
            let body = try await request.collectBody(upTo: 1 << 20)
            if body.readableBytes > 0 {
                // The form body wins over a query string holding the same key.
                if let decoded = FormEncoding.decode(String(buffer: body)) {
                    params.merge(decoded) { _, body in body }
                } else {
                    malformed = true
                }
            }
        }
        let httpStatusCodes = params["httpStatusCodes"]?.lowercased() == "true"
        let context = params["context"]
        /// Renders a reply for this call, and counts it.
        func respond(_ reply: GigyaReply, forcedStatus: Int? = nil) -> Response {
            ledger.record(method: method, ok: reply.code == .ok && forcedStatus == nil)
            return reply.response(httpStatusCodes: httpStatusCodes, clock: clock, context: context, forcedStatus: forcedStatus)
        }

        let outcome = faults.outcome(for: method)
        if outcome.latencyMs > 0 {
            try await Task.sleep(for: .milliseconds(outcome.latencyMs))
        }
        switch outcome.failure {
        case .drop:
            // A real dropped connection: close the socket before any byte of a response is written.
            try? await channel.close(mode: .all)
            throw DroppedConnection()
        case .httpStatus(let status, let code):
            return respond(.error(GigyaErrorCode(rawValue: code), "injected fault"), forcedStatus: status)
        case .gigyaError(let code):
            return respond(.error(GigyaErrorCode(rawValue: code), "injected fault"))
        case nil:
            break
        }

        if malformed {
            return respond(.error(.invalidRequestFormat, "the parameters are not valid UTF-8 form encoding"))
        }
        guard let emulated = EmulatedMethod(rawValue: method) else {
            return respond(.error(.invalidRequestFormat, "the emulator does not implement \(method)"))
        }
        if let format = params["format"], format.lowercased() != "json" {
            return respond(.error(.invalidRequestFormat, "format=\(format) is not supported by the emulator; use json"))
        }
        guard emulated.needsAuthentication else {
            return respond(getJWTPublicKey(request, params: params))
        }
        let call: AuthenticatedCall
        switch authenticate(request, params: params, method: emulated) {
        case .success(let authenticated):
            call = authenticated
        case .failure(let refusal):
            logger.debug("request refused", metadata: ["method": "\(method)", "errorCode": "\(refusal.code.rawValue)"])
            return respond(refusal.reply)
        }
        let reply: GigyaReply
        switch emulated {
        case .getSessionInfo: reply = getSessionInfo(call)
        case .setUID: reply = setSiteUID(call, register: false)
        case .notifyRegistration: reply = setSiteUID(call, register: true)
        case .getUserInfo: reply = getUserInfo(call)
        case .getAccountInfo: reply = getAccountInfo(call)
        case .setAccountInfo: reply = setAccountInfo(call)
        case .getJWT: reply = getJWT(call)
        case .getJWTPublicKey: reply = getJWTPublicKey(request, params: params)
        case .search: reply = search(call)
        }
        return respond(reply)
    }

    /// Thrown after a fault closed the connection, so nothing is written.
    struct DroppedConnection: Error {}
}
