import GigyaKit
import Testing

@testable import GigyaClient

/// The retry state machine on its own: what each outcome leads to, and that every correction is spent once.
@Suite struct RetryDecisionTests {
    /// A Gigya answer with a code.
    func answer(_ code: GigyaErrorCode, apiDomain: String? = nil, serverTime: Int64? = nil) -> AttemptOutcome {
        var status = GigyaResponseStatus(code: code)
        status.apiDomain = apiDomain
        return .response(status, body: .object([:]), serverTime: serverTime)
    }

    @Test func retryableCodesBackOffUntilTheAttemptsRunOut() {
        var ledger = RetryLedger()
        let policy = RetryPolicy(maxAttempts: 3)
        let outcome = answer(.generalServerErrorRetry)
        #expect(ledger.next(after: outcome, policy: policy, localNow: 0, canSwitchDataCenter: true) == .backoff)
        #expect(ledger.next(after: outcome, policy: policy, localNow: 0, canSwitchDataCenter: true) == .backoff)
        #expect(ledger.next(after: outcome, policy: policy, localNow: 0, canSwitchDataCenter: true) == .finish)
    }

    @Test func transientFailuresRetryAndPermanentOnesDoNot() {
        var ledger = RetryLedger()
        let policy = RetryPolicy(maxAttempts: 2)
        #expect(ledger.next(after: .failure(.timeout, retryable: true), policy: policy, localNow: 0, canSwitchDataCenter: true) == .backoff)
        var other = RetryLedger()
        let notGigya = AttemptOutcome.failure(.invalidResponse("HTTP 404"), retryable: false)
        #expect(other.next(after: notGigya, policy: policy, localNow: 0, canSwitchDataCenter: true) == .finish)
        var none = RetryLedger()
        #expect(none.next(after: .failure(.timeout, retryable: true), policy: .none, localNow: 0, canSwitchDataCenter: true) == .finish)
    }

    @Test(arguments: [GigyaErrorCode.ok, .invalidRequestSignature, .uidNotFound, .noValidSession, .accountsLinked])
    func successAndPermanentCodesFinishAtOnce(_ code: GigyaErrorCode) {
        var ledger = RetryLedger()
        #expect(ledger.next(after: answer(code), policy: RetryPolicy(), localNow: 0, canSwitchDataCenter: true) == .finish)
    }

    @Test func clockSkewCorrectsOnceFromTheServerTime() {
        var ledger = RetryLedger()
        let skewed = answer(.requestHasExpired, serverTime: 1_700_000_600)
        let first = ledger.next(after: skewed, policy: .none, localNow: 1_700_000_000, canSwitchDataCenter: true)
        #expect(first == .correctClock(offsetSeconds: 600))
        #expect(ledger.next(after: skewed, policy: .none, localNow: 1_700_000_000, canSwitchDataCenter: true) == .finish)
        var blind = RetryLedger()
        let noTime = answer(.requestHasExpired)
        #expect(blind.next(after: noTime, policy: .none, localNow: 0, canSwitchDataCenter: true) == .finish)
    }

    @Test func wrongDataCentreSwitchesOnceToTheReturnedDomain() {
        var ledger = RetryLedger()
        let moved = answer(.invalidDataCenter, apiDomain: "eu1.gigya.com")
        #expect(ledger.next(after: moved, policy: .none, localNow: 0, canSwitchDataCenter: true) == .switchDataCenter(apiDomain: "eu1.gigya.com"))
        #expect(ledger.next(after: moved, policy: .none, localNow: 0, canSwitchDataCenter: true) == .finish)
        var pinned = RetryLedger()
        #expect(pinned.next(after: moved, policy: .none, localNow: 0, canSwitchDataCenter: false) == .finish)
        var blind = RetryLedger()
        #expect(blind.next(after: answer(.invalidDataCenter), policy: .none, localNow: 0, canSwitchDataCenter: true) == .finish)
    }

    @Test func backoffIsExponentialCappedAndFullyJittered() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        #expect(policy.ceiling(afterFailedAttempts: 1) == .milliseconds(100))
        #expect(policy.ceiling(afterFailedAttempts: 2) == .milliseconds(200))
        #expect(policy.ceiling(afterFailedAttempts: 4) == .milliseconds(800))
        #expect(policy.ceiling(afterFailedAttempts: 9) == .seconds(2))
        var generator = SystemRandomNumberGenerator()
        let delays = (0..<500).map { _ in policy.delay(afterFailedAttempts: 3, using: &generator) }
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= .milliseconds(400) })
        #expect(delays.contains { $0 < .milliseconds(200) } && delays.contains { $0 > .milliseconds(200) })
        #expect(RetryPolicy.none.delay(afterFailedAttempts: 1, using: &generator) == .zero)
    }
}
