import Synchronization

/// The active faults; several may apply to one call.
final class FaultInjector: Sendable {
    /// What the faults decided for one call.
    struct Outcome: Sendable {
        /// Total delay of the faults that fired.
        var latencyMs = 0
        /// The first failure among the faults that fired, in installation order.
        var failure: Failure?

        /// A way to fail a call.
        enum Failure: Sendable, Equatable {
            /// Close the connection without answering.
            case drop
            /// Answer with this HTTP status and a Gigya body carrying `errorCode`.
            case httpStatus(Int, errorCode: Int)
            /// Answer with this Gigya error code, as Gigya would.
            case gigyaError(Int)
        }
    }

    /// Active faults in installation order, and the next id.
    private let state = Mutex<(faults: [EmulatorFault], nextID: Int)>(([], 1))

    /// Installs faults and returns every active one.
    func add(_ faults: [EmulatorFault]) -> [EmulatorFault] {
        state.withLock { state in
            for var fault in faults {
                fault.id = state.nextID
                state.nextID += 1
                state.faults.append(fault)
            }
            return state.faults
        }
    }

    /// Every active fault.
    func list() -> [EmulatorFault] {
        state.withLock { $0.faults }
    }

    /// Removes every fault.
    func clear() {
        state.withLock { $0.faults.removeAll() }
    }

    /// Decides which faults fire for a call of `method`, consuming their counts.
    func outcome(for method: String) -> Outcome {
        state.withLock { state in
            var outcome = Outcome()
            guard !state.faults.isEmpty else {
                return outcome
            }
            var index = 0
            while index < state.faults.count {
                var fault = state.faults[index]
                guard fault.method == "*" || fault.method == method else {
                    index += 1
                    continue
                }
                if let fraction = fault.fraction, Double.random(in: 0..<1) >= fraction {
                    index += 1
                    continue
                }
                outcome.latencyMs += fault.latencyMs ?? 0
                if outcome.failure == nil {
                    if fault.dropConnection == true {
                        outcome.failure = .drop
                    } else if let status = fault.httpStatus {
                        // A 5xx carries a General Server Error body unless a code was asked for.
                        outcome.failure = .httpStatus(status, errorCode: fault.errorCode ?? 500_001)
                    } else if let code = fault.errorCode {
                        outcome.failure = .gigyaError(code)
                    }
                }
                if let count = fault.count {
                    if count <= 1 {
                        state.faults.remove(at: index)
                        continue
                    }
                    fault.count = count - 1
                    state.faults[index] = fault
                }
                index += 1
            }
            return outcome
        }
    }
}
