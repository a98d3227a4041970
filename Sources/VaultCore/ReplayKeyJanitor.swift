public import Foundation
public import Logging
public import ServiceLifecycle
public import VaultStore

/// Deletes replay keys whose login results can no longer pass the time window, so the table stays the size of the
/// window's traffic. Runs in every instance; concurrent purges are harmless.
public struct ReplayKeyJanitor: Service {
    private let inbox: any EventInbox
    private let interval: Duration
    private let logger: Logger

    public init(inbox: any EventInbox, interval: Duration = .seconds(300), logger: Logger) {
        self.inbox = inbox
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await purgeOnce()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One purge of every key expired by now; failures are logged and retried at the next interval.
    @discardableResult
    public func purgeOnce(now: Date = Date()) async -> Int {
        do {
            let purged = try await inbox.purgeExpiredReplayKeys(before: now)
            if purged > 0 { logger.debug("purged expired replay keys", metadata: ["count": "\(purged)"]) }
            return purged
        } catch {
            logger.warning("purging expired replay keys failed", metadata: ["error": "\(String(reflecting: error))"])
            return 0
        }
    }
}
