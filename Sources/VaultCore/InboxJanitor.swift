public import Foundation
public import Logging
public import ServiceLifecycle
public import VaultStore

/// Keeps the inbox the size of its live traffic: deletes replay keys whose login results can no longer pass the time
/// window, and finished (stored, failed or cancelled) events older than the retention period, in batches; and deletes
/// the history that has its own retention (tombstones, audit rows, reconciliation runs). Runs in every instance;
/// concurrent purges are harmless.
public struct InboxJanitor: Service {
    /// How long each kind of history is kept.
    public struct Retention: Sendable {
        /// Finished login and account events, and the tombstones of deletions (a tombstone also stays while an unfinished
        /// event older than it remains).
        public var events: Duration
        /// Audit rows.
        public var audit: Duration
        /// Reconciliation runs and their findings (the newest run of each site and mode is always kept).
        public var reconciliationRuns: Duration

        public init(events: Duration = .seconds(7 * 86_400), audit: Duration = .seconds(400 * 86_400), reconciliationRuns: Duration = .seconds(90 * 86_400)) {
            self.events = events
            self.audit = audit
            self.reconciliationRuns = reconciliationRuns
        }

        func period(of history: RetainedHistory) -> Duration {
            switch history {
            case .tombstones: events
            case .auditRows: audit
            case .reconciliationRuns: reconciliationRuns
            }
        }
    }

    private let inbox: any EventInbox
    /// Gigya's account events, purged after the same retention (Gigya re-delivers for about an hour: ids seen within the
    /// retention are still recognised as duplicates).
    private let accountEvents: (any AccountEventRepository)?
    /// Tombstones, audit rows and reconciliation runs.
    private let history: (any RetentionStore)?
    private let interval: Duration
    private let retention: Retention
    private let batchSize: Int
    private let logger: Logger

    /// - Parameters:
    ///   - retention: how long finished events are kept (for `GET /v1/login-callbacks/{id}` and investigations).
    ///   - batchSize: rows deleted per statement, so a large purge never holds many row locks at once.
    public init(
        inbox: any EventInbox, accountEvents: (any AccountEventRepository)? = nil, history: (any RetentionStore)? = nil,
        interval: Duration = .seconds(300), retention: Duration = .seconds(7 * 86_400), batchSize: Int = 1000, logger: Logger
    ) {
        self.init(
            inbox: inbox, accountEvents: accountEvents, history: history, interval: interval, retention: Retention(events: retention),
            batchSize: batchSize, logger: logger)
    }

    public init(
        inbox: any EventInbox, accountEvents: (any AccountEventRepository)? = nil, history: (any RetentionStore)? = nil,
        interval: Duration = .seconds(300), retention: Retention, batchSize: Int = 1000, logger: Logger
    ) {
        self.inbox = inbox
        self.accountEvents = accountEvents
        self.history = history
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
        public var history: [RetainedHistory: Int] = [:]
    }

    /// One purge of every replay key expired by `now` and of everything older than its retention; failures are logged
    /// and retried at the next interval.
    @discardableResult
    public func purgeOnce(now: Date = Date()) async -> Purged {
        var purged = Purged(replayKeys: 0, finishedEvents: 0)
        func cutoff(_ period: Duration) -> Date { now.addingTimeInterval(-Double(period.components.seconds)) }
        do {
            purged.replayKeys = try await inbox.purgeExpiredReplayKeys(before: now)
            let events = cutoff(retention.events)
            purged.finishedEvents = try await inBatches { try await inbox.purgeFinishedEvents(before: events, limit: $0) }
            if let accountEvents {
                purged.accountEvents = try await inBatches { try await accountEvents.purgeFinishedAccountEvents(before: events, limit: $0) }
            }
            if let history {
                for kind in RetainedHistory.allCases {
                    let before = cutoff(retention.period(of: kind))
                    purged.history[kind] = try await inBatches { try await history.purge(kind, before: before, limit: $0) }
                }
            }
            if purged.replayKeys > 0 || purged.finishedEvents > 0 || purged.accountEvents > 0 || purged.history.values.contains(where: { $0 > 0 }) {
                logger.debug(
                    "purged old history",
                    metadata: [
                        "replayKeys": "\(purged.replayKeys)", "finishedEvents": "\(purged.finishedEvents)", "accountEvents": "\(purged.accountEvents)",
                        "history": "\(purged.history.map { "\($0.key.rawValue)=\($0.value)" }.sorted().joined(separator: ","))",
                    ])
            }
        } catch {
            logger.warning("purging old history failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        return purged
    }

    /// Runs `purge` with the batch size until a batch comes back short (or shutdown begins); the total deleted.
    private func inBatches(_ purge: (Int) async throws -> Int) async throws -> Int {
        var total = 0
        while !Task.isShuttingDownGracefully {
            let deleted = try await purge(batchSize)
            total += deleted
            if deleted < batchSize { break }
        }
        return total
    }
}
