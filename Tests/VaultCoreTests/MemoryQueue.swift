import Foundation
import Logging
import Synchronization
import VaultCore

/// A job of the in-memory queue.
struct MemoryJob: LeasedJob {
    let jobID: Int
    let attempts: Int
    let lastFailure: (code: Int?, message: String?)
}

/// A leased queue in memory, with the claim, lease and finish rules of the PostgreSQL queues: a job is due when it is
/// pending and its next attempt has come, or when its lease has run out; a claim counts an attempt; only the lease owner
/// may renew or finish.
final class MemoryQueue: LeasedQueue, Sendable {
    /// Where one job stands.
    struct Row: Sendable {
        var status = "pending"
        var attempts = 0
        var owner: String?
        var leaseEnds = ContinuousClock.now
        var nextAttempt = ContinuousClock.now
        var lastMessage: String?
        var finalMessage: String?
        var renewals = 0
        var retryDelays: [Duration] = []
    }

    let name = "memory"
    private let rows: Mutex<[Int: Row]>
    /// Claims that fail before any job is claimed, as a database outage would.
    private let failingClaims = Mutex(0)
    private let claimCount = Mutex(0)

    init(jobs: Int, attempts: Int = 0, lastMessage: String? = nil) {
        rows = Mutex(Dictionary(uniqueKeysWithValues: (0..<jobs).map { ($0 + 1, Row(attempts: attempts, lastMessage: lastMessage)) }))
    }

    func claim(worker: String, limit: Int, lease: Duration) async throws -> [MemoryJob] {
        claimCount.withLock { $0 += 1 }
        if failingClaims.withLock({ count in defer { count = max(0, count - 1) }; return count > 0 }) {
            throw MemoryQueueError.unavailable
        }
        let now = ContinuousClock.now
        return rows.withLock { rows in
            var claimed: [MemoryJob] = []
            for id in rows.keys.sorted() where claimed.count < limit {
                var row = rows[id]!
                let due = (row.status == "pending" && row.nextAttempt <= now) || (row.status == "processing" && row.leaseEnds <= now)
                guard due else { continue }
                row.status = "processing"
                row.owner = worker
                row.leaseEnds = now + lease
                row.attempts += 1
                rows[id] = row
                claimed.append(MemoryJob(jobID: id, attempts: row.attempts, lastFailure: (nil, row.lastMessage)))
            }
            return claimed
        }
    }

    func renew(_ ids: [Int], worker: String, lease: Duration) async throws -> Set<Int> {
        rows.withLock { rows in
            var held: Set<Int> = []
            for id in ids where rows[id]?.status == "processing" && rows[id]?.owner == worker {
                rows[id]!.leaseEnds = .now + lease
                rows[id]!.renewals += 1
                held.insert(id)
            }
            return held
        }
    }

    func finish(_ outcomes: [(id: Int, outcome: JobOutcome<String>)], worker: String) async throws -> [Bool] {
        rows.withLock { rows in
            outcomes.map { id, outcome in
                guard rows[id]?.status == "processing", rows[id]?.owner == worker else { return false }
                rows[id]!.owner = nil
                switch outcome {
                case .done(let text):
                    rows[id]!.status = "done"
                    rows[id]!.finalMessage = text
                case .failed(_, let message):
                    rows[id]!.status = "failed"
                    rows[id]!.finalMessage = message
                case .retry(let delay, _, let message):
                    rows[id]!.status = "pending"
                    rows[id]!.lastMessage = message
                    rows[id]!.nextAttempt = .now + delay
                    rows[id]!.retryDelays.append(delay)
                }
                return true
            }
        }
    }

    /// One job's row.
    func row(_ id: Int) -> Row { rows.withLock { $0[id]! } }

    /// How many jobs have each status.
    func statuses() -> [String: Int] {
        rows.withLock { rows in rows.values.reduce(into: [:]) { $0[$1.status, default: 0] += 1 } }
    }

    /// Makes the next `count` claims fail.
    func failNextClaims(_ count: Int) { failingClaims.withLock { $0 = count } }

    /// Claims made so far.
    var claims: Int { claimCount.withLock { $0 } }

    /// Another worker takes the job's lease, as after this one's lease ran out.
    func steal(_ id: Int) { rows.withLock { $0[id]!.owner = "another-worker" } }

    /// Makes the job due now (its back-off skipped), to drive retries without waiting.
    func makeDue(_ id: Int) { rows.withLock { $0[id]!.nextAttempt = .now } }
}

enum MemoryQueueError: Error {
    case unavailable
}
