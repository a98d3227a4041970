import ServiceLifecycle

/// An emulator started with `GigyaEmulator.start`; call `stop()` when done.
public final class RunningEmulator: Sendable {
    /// `http://HOST:PORT`.
    public let baseURL: String
    /// The bound port.
    public let port: Int
    /// The sites it serves.
    public let sites: [EmulatorSite]
    private let core: EmulatorCore
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(baseURL: String, port: Int, sites: [EmulatorSite], core: EmulatorCore, group: ServiceGroup, task: Task<Void, any Error>) {
        self.baseURL = baseURL
        self.port = port
        self.sites = sites
        self.core = core
        self.group = group
        self.task = task
    }

    /// The bearer token its control routes want, if it was started with one.
    public var controlToken: String? {
        core.controlToken
    }

    /// Where account notifications are POSTed now (nil: nowhere; they are logged as undeliverable).
    public var webhookURL: String? {
        core.webhooks.url
    }

    /// Changes where account notifications are POSTed, from the next attempt on; nil stops delivery. For receivers that
    /// learn their port only after the emulator started. `POST /_emulator/webhooks/target` does the same over HTTP.
    public func setWebhookURL(_ url: String?) {
        core.webhooks.setURL(url)
    }

    /// Shuts down gracefully (server, webhook client, a last write of the accounts file) and waits until everything has stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

/// Why `start` failed without an underlying error.
public enum EmulatorStartError: Error, Sendable {
    /// The server ended before it reported its port.
    case stoppedBeforeListening
}

extension RunningEmulator {
    /// A control client for this emulator over the shared HTTP client.
    public var control: EmulatorControlClient {
        EmulatorControlClient(self)
    }
}
