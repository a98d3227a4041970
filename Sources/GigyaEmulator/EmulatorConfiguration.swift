public import GigyaKit
public import Logging

/// Everything the emulator needs to run.
public struct EmulatorConfiguration: Sendable {
    /// The sites it serves.
    public var sites: [EmulatorSite]
    /// Where account notifications are POSTed at start, if anywhere; `RunningEmulator.setWebhookURL` and
    /// `POST /_emulator/webhooks/target` change it while running.
    public var webhookURL: String?
    /// The clock for request timestamps, login signatures and expirations.
    public var clock: any WallClock
    /// The allowed |now − timestamp| of a signed request (Gigya: about two minutes, docs/gigya-protocol.md §1.5, §9.2).
    public var requestWindowSeconds: Int64
    /// Waits between webhook delivery attempts; their count is the number of retries after the first attempt.
    public var webhookRetryDelays: [Duration]
    /// How long one webhook attempt may take (Gigya waits 10 s, docs/gigya-protocol.md §7).
    public var webhookTimeout: Duration
    /// How long the oldest queued account event waits for others to share its notification (at most 100 a notification).
    public var webhookBatchWindow: Duration
    /// Deliver every notification twice (the second a duplicate with a fresh nonce and the same event ids), as Gigya's
    /// at-least-once delivery may: for testing that a receiver de-duplicates on event ids.
    public var duplicateDeliveries: Bool
    /// Whether `X-Forwarded-Proto` decides the scheme of the signed URL (only behind a TLS-terminating proxy you trust).
    public var trustForwardedProto: Bool
    /// A JSON file holding the accounts: loaded at start (a missing file means none), rewritten atomically after changes
    /// and on shutdown. Nil keeps the accounts in memory only.
    public var accountsFile: String?
    /// When set, every `/_emulator` control route (which can mint tokens, read plaintext provider tokens and forge
    /// account events) answers 401 unless the request has `Authorization: Bearer <controlToken>`. Nil leaves them open,
    /// for an emulator only its own test process can reach.
    public var controlToken: String?
    /// The logger; secrets, signatures and tokens are never logged.
    public var logger: Logger

    /// Creates a configuration; everything but the sites has a default.
    public init(
        sites: [EmulatorSite],
        webhookURL: String? = nil,
        clock: any WallClock = SystemWallClock(),
        requestWindowSeconds: Int64 = 120,
        webhookRetryDelays: [Duration] = [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(32), .seconds(64)],
        webhookTimeout: Duration = .seconds(10),
        webhookBatchWindow: Duration = .milliseconds(50),
        duplicateDeliveries: Bool = false,
        trustForwardedProto: Bool = false,
        accountsFile: String? = nil,
        controlToken: String? = nil,
        logger: Logger = Logger(label: "gigya-emulator")
    ) {
        self.sites = sites
        self.webhookURL = webhookURL
        self.clock = clock
        self.requestWindowSeconds = requestWindowSeconds
        self.webhookRetryDelays = webhookRetryDelays
        self.webhookTimeout = webhookTimeout
        self.webhookBatchWindow = webhookBatchWindow
        self.duplicateDeliveries = duplicateDeliveries
        self.trustForwardedProto = trustForwardedProto
        self.accountsFile = accountsFile
        self.controlToken = controlToken
        self.logger = logger
    }
}
