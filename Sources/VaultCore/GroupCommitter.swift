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
    /// When each unfinished write began, including writes abandoned at their deadline that never came back: a write
    /// that outlives its deadline by far means a database call that does not return.
    private var unfinishedWrites: [Int: ContinuousClock.Instant] = [:]
    private var nextWriteID = 0

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

    /// How long the oldest unfinished write (in flight, or abandoned at its deadline) has been running; nil when none.
    public var writeInFlightFor: Duration? {
        writeInFlightFor(ignoringOlderThan: nil)
    }

    /// As `writeInFlightFor`, leaving out writes running for longer than `limit`: past the database's statement timeout,
    /// PostgreSQL has ended whatever statement such a write sent, so one that never returned is lost on the client side
    /// (a connection that died under it), not a database that is stuck now.
    public func writeInFlightFor(ignoringOlderThan limit: Duration?) -> Duration? {
        let now = ContinuousClock.now
        return unfinishedWrites.values.map { now - $0 }.filter { age in limit.map { age <= $0 } ?? true }.max()
    }

    private func writeFinished(_ id: Int) {
        unfinishedWrites[id] = nil
    }

    /// Writes queued items batch after batch until the queue is empty.
    private func drain() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(maxBatch))
            queue.removeFirst(batch.count)
            onBatch(batch.count)
            let items = batch.map(\.item)
            let write = self.write
            let id = nextWriteID
            nextWriteID += 1
            unfinishedWrites[id] = .now
            // The write runs on its own so that its end is known even when the callers stopped waiting for it.
            let writing = Task { try await write(items) }
            Task {
                _ = try? await writing.value
                await self.writeFinished(id)
            }
            do {
                let outcomes = try await withDeadline(deadline) {
                    try await withTaskCancellationHandler { try await writing.value } onCancel: { writing.cancel() }
                }
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
        }
        flushing = false
    }
}

/// A write that answered inconsistently; every caller in it is told, none is acknowledged.
public enum GroupCommitBatchError: Error, Sendable {
    case outcomeCountMismatch(expected: Int, got: Int)
}
