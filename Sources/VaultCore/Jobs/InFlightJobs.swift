import ServiceLifecycle
import Synchronization

/// The jobs a worker has in flight: bounded by `capacity`; the claimer waits for a free slot.
final class InFlightJobs<ID: Hashable & Sendable>: Sendable {
    private struct State {
        var ids: Set<ID> = []
        var closed = false
        var slotWaiter: CheckedContinuation<Void, Never>?
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    func insert(_ id: ID) {
        state.withLock { _ = $0.ids.insert(id) }
    }

    func remove(_ id: ID) {
        let waiter = state.withLock { state in
            state.ids.remove(id)
            defer { state.slotWaiter = nil }
            return state.slotWaiter
        }
        waiter?.resume()
    }

    /// No more claims: the renewer stops once the last job in flight is done.
    func close() {
        state.withLock { $0.closed = true }
    }

    /// The ids in flight and whether the worker has stopped claiming.
    func snapshot() -> (ids: [ID], closed: Bool) {
        state.withLock { (Array($0.ids), $0.closed) }
    }

    /// Returns the number of free slots once there is at least one (0 when the task is cancelled or shutting down).
    func waitForFreeSlots() async -> Int {
        while true {
            let free = state.withLock { capacity - $0.ids.count }
            if free > 0 { return free }
            if Task.isCancelled || Task.isShuttingDownGracefully { return 0 }
            // One claimer waits; `remove` wakes it. Graceful shutdown lets jobs in flight finish, which frees slots.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.ids.count < capacity { return true }
                    state.slotWaiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}
