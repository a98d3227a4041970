import Synchronization

/// An operation that did not finish within its deadline; it was cancelled and its outcome is unknown.
public struct DeadlineExceeded: Error, Sendable, Equatable, CustomStringConvertible {
    /// The deadline that passed.
    public let after: Duration

    public var description: String { "no answer within \(after)" }
}

/// Runs `operation` and returns its result, or throws `DeadlineExceeded` once `duration` has passed, whatever the
/// operation does: it is cancelled then, but never waited for, so a call that ignores cancellation (a database call on
/// a dead connection) cannot hang its caller. Cancelling the caller cancels the operation and throws at once.
public func withDeadline<T: Sendable>(_ duration: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let gate = ResumeOnce<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            gate.install(continuation)
            let work = Task {
                do {
                    gate.resume(with: .success(try await operation()))
                } catch {
                    gate.resume(with: .failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: duration)
                if gate.resume(with: .failure(DeadlineExceeded(after: duration))) { work.cancel() }
            }
            gate.onFinish { work.cancel(); timer.cancel() }
        }
    } onCancel: {
        gate.resume(with: .failure(CancellationError()))
    }
}

/// Resumes a continuation exactly once, from whichever of the work, the timer or cancellation comes first.
private final class ResumeOnce<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Hands over the continuation; resumes it at once if the outcome (e.g. cancellation) came first.
    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let early: Result<T, any Error>? = state.withLock { state in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Runs `cleanup` once the outcome is known (at once if it already is).
    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state in
            if state.done { return true }
            state.cleanup = cleanup
            return false
        }
        if runNow { cleanup() }
    }

    /// Resumes with `result` if nothing did before; says whether this call did.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        let (continuation, cleanup, first): (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?, Bool) = state.withLock { state in
            guard !state.done else { return (nil, nil, false) }
            state.done = true
            if state.continuation == nil { state.early = result }
            defer { state.continuation = nil; state.cleanup = nil }
            return (state.continuation, state.cleanup, true)
        }
        continuation?.resume(with: result)
        cleanup?()
        return first
    }
}
