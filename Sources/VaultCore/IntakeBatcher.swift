public import VaultStore

/// Group commit for the inbox: callbacks that arrive while a commit is in flight are written together in the next
/// transaction, so durable intake is not capped at one commit per request. A lone callback is committed at once.
public actor IntakeBatcher {
    private struct Waiting {
        let event: NewLoginEvent
        let continuation: CheckedContinuation<EnqueueOutcome, any Error>
    }

    private let inbox: any EventInbox
    private let maxBatch: Int
    private var queue: [Waiting] = []
    private var flushing = false
    private let metrics: VaultMetrics

    /// - Parameters:
    ///   - maxBatch: the most events one transaction carries; later arrivals wait for the next one.
    public init(inbox: any EventInbox, maxBatch: Int = 256, metrics: VaultMetrics) {
        precondition(maxBatch > 0, "maxBatch must be positive")
        self.inbox = inbox
        self.maxBatch = maxBatch
        self.metrics = metrics
    }

    /// Queues one event and returns once the transaction holding it has committed (or failed).
    public func submit(_ event: NewLoginEvent) async throws -> EnqueueOutcome {
        try await withCheckedThrowingContinuation { continuation in
            queue.append(Waiting(event: event, continuation: continuation))
            if !flushing {
                flushing = true
                Task { await self.drain() }
            }
        }
    }

    /// Commits queued events batch after batch until the queue is empty.
    private func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(maxBatch))
            queue.removeFirst(batch.count)
            metrics.intakeBatch(size: batch.count)
            do {
                let outcomes = try await inbox.enqueue(batch.map(\.event))
                guard outcomes.count == batch.count else {
                    let error = IntakeBatchError.outcomeCountMismatch(expected: batch.count, got: outcomes.count)
                    batch.forEach { $0.continuation.resume(throwing: error) }
                    continue
                }
                for (waiting, outcome) in zip(batch, outcomes) {
                    waiting.continuation.resume(returning: outcome)
                }
            } catch {
                batch.forEach { $0.continuation.resume(throwing: error) }
            }
        }
        flushing = false
    }
}

/// A batch the inbox answered inconsistently; every caller in it is told, none is acknowledged.
public enum IntakeBatchError: Error, Sendable {
    case outcomeCountMismatch(expected: Int, got: Int)
}
