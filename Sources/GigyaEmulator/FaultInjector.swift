import Synchronization

/// A fault asked for with `POST /_emulator/faults`: what to do to the next calls of a method.
public struct EmulatorFault: Sendable, Codable, Equatable {
    /// Assigned by the emulator, for listing.
    public var id: Int?
    /// The REST method it applies to (`socialize.getSessionInfo`), or `*` for every method.
    public var method: String
    /// Added delay before the call is handled (or failed).
    public var latencyMs: Int?
    /// A Gigya error code to answer with.
    public var errorCode: Int?
    /// An HTTP status (500-599) to answer with.
    public var httpStatus: Int?
    /// Close the TCP connection without any HTTP response.
    public var dropConnection: Bool?
    /// Apply to this many calls, then disappear; nil means until cleared.
    public var count: Int?
    /// Apply to this fraction (0…1) of calls; nil means every call.
    public var fraction: Double?

    /// Creates a fault.
    public init(
        method: String,
        latencyMs: Int? = nil,
        errorCode: Int? = nil,
        httpStatus: Int? = nil,
        dropConnection: Bool? = nil,
        count: Int? = nil,
        fraction: Double? = nil
    ) {
        self.method = method
        self.latencyMs = latencyMs
        self.errorCode = errorCode
        self.httpStatus = httpStatus
        self.dropConnection = dropConnection
        self.count = count
        self.fraction = fraction
    }

    /// Why the fault cannot be installed, or nil.
    var problem: String? {
        if method.isEmpty {
            return "method is empty"
        }
        if let latencyMs, latencyMs < 0 || latencyMs > 600_000 {
            return "latencyMs must be 0...600000"
        }
        if let httpStatus, !(500...599).contains(httpStatus) {
            return "httpStatus must be 500...599"
        }
        if let errorCode, errorCode <= 0 {
            return "errorCode must be positive"
        }
        if let count, count < 1 {
            return "count must be at least 1"
        }
        if let fraction, !(0...1).contains(fraction) {
            return "fraction must be 0...1"
        }
        if latencyMs == nil, errorCode == nil, httpStatus == nil, dropConnection != true {
            return "a fault needs latencyMs, errorCode, httpStatus or dropConnection"
        }
        return nil
    }
}

/// What the faults decided for one call.
struct FaultOutcome: Sendable {
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

/// The active faults; several may apply to one call.
final class FaultInjector: Sendable {
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
    func outcome(for method: String) -> FaultOutcome {
        state.withLock { state in
            var outcome = FaultOutcome()
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
