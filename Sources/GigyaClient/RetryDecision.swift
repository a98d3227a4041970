package import GigyaKit

/// What one attempt produced, before any retry decision.
package enum AttemptOutcome: Sendable, Equatable {
    /// A Gigya JSON body, with the server's time (from `Date`, else the body's `time`) when it could be read.
    case response(GigyaResponseStatus, body: GigyaJSON, serverTime: Int64?)
    /// No usable body; `retryable` for transport failures, timeouts, HTTP 5xx and unparseable bodies.
    case failure(GigyaCallError, retryable: Bool)
}

/// The next move after an attempt.
package enum RetryStep: Sendable, Equatable {
    /// Stop and hand back this attempt's outcome.
    case finish
    /// Wait a jittered backoff, then try again.
    case backoff
    /// Adopt this clock offset (seconds to add to the local clock), then try again at once (docs/gigya-protocol.md §1.5).
    case correctClock(offsetSeconds: Int64)
    /// Adopt this API domain, then try again at once (docs/gigya-protocol.md §6).
    case switchDataCenter(apiDomain: String)
}

/// The retries one call has used so far.
package struct RetryLedger: Sendable, Equatable {
    /// Attempts that failed transiently (transport, 5xx, retryable codes).
    package var transientFailures = 0
    /// Whether the one 403002 clock correction was spent.
    package var clockCorrected = false
    /// Whether the one 301001 domain switch was spent.
    package var dataCenterSwitched = false

    /// A fresh ledger.
    package init() {}

    /// Decides the next move and records it: backoff within the policy's attempts, one clock correction, one domain switch.
    package mutating func next(
        after outcome: AttemptOutcome,
        policy: RetryPolicy,
        localNow: Int64,
        canSwitchDataCenter: Bool
    ) -> RetryStep {
        switch outcome {
        case .failure(_, let retryable):
            return retryable ? backoffIfAllowed(policy) : .finish
        case .response(let status, _, let serverTime):
            switch status.code.disposition {
            case .retryable:
                return backoffIfAllowed(policy)
            case .clockSkew:
                guard !clockCorrected, let serverTime else {
                    return .finish
                }
                clockCorrected = true
                return .correctClock(offsetSeconds: serverTime - localNow)
            case .wrongDataCenter:
                guard !dataCenterSwitched, canSwitchDataCenter, let domain = status.apiDomain, !domain.isEmpty else {
                    return .finish
                }
                dataCenterSwitched = true
                return .switchDataCenter(apiDomain: domain)
            case .success, .noSession, .permanent:
                return .finish
            }
        }
    }

    /// Counts a transient failure and backs off while attempts remain.
    private mutating func backoffIfAllowed(_ policy: RetryPolicy) -> RetryStep {
        transientFailures += 1
        return transientFailures < policy.maxAttempts ? .backoff : .finish
    }
}
