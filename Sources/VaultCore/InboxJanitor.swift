public import Foundation
public import Logging
public import ServiceLifecycle
public import VaultStore

/// Keeps the inbox the size of its live traffic: deletes replay keys whose login results can no longer pass the time
/// window, and finished (stored or failed) events older than the retention period, in batches. Runs in every instance;
/// concurrent purges are harmless.
public struct InboxJanitor: Service {
    private let inbox: any EventInbox
    /// Gigya's account events, purged after the same retention (Gigya re-delivers for about an hour: ids seen within the
    /// retention are still recognised as duplicates).
    private let accountEvents: (any AccountEventRepository)?
    private let interval: Duration
    private let retention: Duration
    private let batchSize: Int
    private let logger: Logger

    /// - Parameters:
    ///   - retention: how long finished events are kept (for `GET /v1/login-callbacks/{id}` and investigations).
    ///   - batchSize: events deleted per statement, so a large purge never holds many row locks at once.
    public init(
        inbox: any EventInbox, accountEvents: (any AccountEventRepository)? = nil, interval: Duration = .seconds(300),
        retention: Duration = .seconds(7 * 86_400), batchSize: Int = 1000, logger: Logger
    ) {
        self.inbox = inbox
        self.accountEvents = accountEvents
        self.interval = interval
        self.retention = retention
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await purgeOnce()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// What one purge deleted.
    public struct Purged: Sendable, Equatable {
        public var replayKeys: Int
        public var finishedEvents: Int
        public var accountEvents = 0
    }

    /// One purge of every replay key expired by `now` and every event finished before `now - retention`; failures are
    /// logged and retried at the next interval.
    @discardableResult
    public func purgeOnce(now: Date = Date()) async -> Purged {
        var purged = Purged(replayKeys: 0, finishedEvents: 0)
        do {
            purged.replayKeys = try await inbox.purgeExpiredReplayKeys(before: now)
            let cutoff = now.addingTimeInterval(-Double(retention.components.seconds))
            while !Task.isShuttingDownGracefully {
                let deleted = try await inbox.purgeFinishedEvents(before: cutoff, limit: batchSize)
                purged.finishedEvents += deleted
                if deleted < batchSize { break }
            }
            while let accountEvents, !Task.isShuttingDownGracefully {
                let deleted = try await accountEvents.purgeFinishedAccountEvents(before: cutoff, limit: batchSize)
                purged.accountEvents += deleted
                if deleted < batchSize { break }
            }
            if purged.replayKeys > 0 || purged.finishedEvents > 0 {
                logger.debug("purged the inbox", metadata: ["replayKeys": "\(purged.replayKeys)", "finishedEvents": "\(purged.finishedEvents)"])
            }
        } catch {
            logger.warning("purging the inbox failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        return purged
    }
}
