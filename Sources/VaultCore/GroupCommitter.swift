/// Why a group commit gave no outcome for an item.
public enum GroupCommitError: Error, Sendable, Equatable {
    /// Too many items are already waiting; nothing was queued.
    case overloaded(queued: Int)
    /// The write did not finish within its deadline: it may still commit.
    case deadlineExceeded(Duration)
}

/// Group commit: items that arrive while a write is in flight go together into the next write, so throughput is not
/// capped at one transaction per item; a lone item is written at once. The queue is bounded and every write has a
/// deadline, so callers never wait forever on a database that stopped answering.
public actor GroupCommitter<Item: Sendable, Outcome: Sendable> {
    private struct Waiting {
        let item: Item
        let continuation: CheckedContinuation<Outcome, any Error>
    }

    private let write: @Sendable ([Item]) async throws -> [Outcome]
    private let maxBatch: Int
    private let maxQueued: Int
    private let deadline: Duration
    private let onBatch: @Sendable (Int) -> Void
    private var queue: [Waiting] = []
    private var flushing = false
    /// When the write in flight began, to tell a slow database from a stuck one.
    private var writeStarted: ContinuousClock.Instant?

    /// - Parameters:
    ///   - maxBatch: the most items one write carries; later arrivals wait for the next one.
    ///   - maxQueued: the most items waiting for a write; beyond it `submit` throws `.overloaded` at once.
    ///   - deadline: how long one write may take before its items get `.deadlineExceeded`.
    ///   - onBatch: told the size of every write, for metrics.
    public init(
        maxBatch: Int,
        maxQueued: Int,
        deadline: Duration,
        onBatch: @escaping @Sendable (Int) -> Void = { _ in },
        write: @escaping @Sendable ([Item]) async throws -> [Outcome]
    ) {
        precondition(maxBatch > 0 && maxQueued > 0, "maxBatch and maxQueued must be positive")
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
        self.deadline = deadline
        self.onBatch = onBatch
        self.write = write
    }

    /// Queues one item and returns its outcome once the write holding it has finished.
    public func submit(_ item: Item) async throws -> Outcome {
        guard queue.count < maxQueued else { throw GroupCommitError.overloaded(queued: queue.count) }
        return try await withCheckedThrowingContinuation { continuation in
            queue.append(Waiting(item: item, continuation: continuation))
            if !flushing {
                flushing = true
                Task { await self.drain() }
            }
        }
    }

    /// How long the write in flight has been running, or nil when none is.
    public var writeInFlightFor: Duration? {
        writeStarted.map { ContinuousClock.now - $0 }
    }

    /// Writes queued items batch after batch until the queue is empty.
    private func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(maxBatch))
            queue.removeFirst(batch.count)
            onBatch(batch.count)
            writeStarted = .now
            let items = batch.map(\.item)
            let write = self.write
            do {
                let outcomes = try await withDeadline(deadline) { try await write(items) }
                guard outcomes.count == batch.count else {
                    let error = GroupCommitBatchError.outcomeCountMismatch(expected: batch.count, got: outcomes.count)
                    batch.forEach { $0.continuation.resume(throwing: error) }
                    continue
                }
                for (waiting, outcome) in zip(batch, outcomes) {
                    waiting.continuation.resume(returning: outcome)
                }
            } catch let error as DeadlineExceeded {
                batch.forEach { $0.continuation.resume(throwing: GroupCommitError.deadlineExceeded(error.after)) }
            } catch {
                batch.forEach { $0.continuation.resume(throwing: error) }
            }
            writeStarted = nil
        }
        flushing = false
    }
}

/// A write that answered inconsistently; every caller in it is told, none is acknowledged.
public enum GroupCommitBatchError: Error, Sendable {
    case outcomeCountMismatch(expected: Int, got: Int)
}
