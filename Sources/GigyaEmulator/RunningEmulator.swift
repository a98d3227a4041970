import ServiceLifecycle

/// An emulator started with `GigyaEmulator.start`; call `stop()` when done.
public final class RunningEmulator: Sendable {
    /// `http://HOST:PORT`.
    public let baseURL: String
    /// The bound port.
    public let port: Int
    /// The sites it serves.
    public let sites: [EmulatorSite]
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(baseURL: String, port: Int, sites: [EmulatorSite], group: ServiceGroup, task: Task<Void, any Error>) {
        self.baseURL = baseURL
        self.port = port
        self.sites = sites
        self.group = group
        self.task = task
    }

    /// Shuts down gracefully (server, webhook client) and waits until everything has stopped.
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
