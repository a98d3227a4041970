import Foundation
public import Logging
public import PostgresNIO

/// Why the store could not complete an operation, beyond PostgreSQL's own errors.
public enum VaultStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A replay key reported as taken had vanished by the time its event was looked up (purged concurrently); retry the batch.
    case replayKeyVanished
    /// The connection failed while COMMIT was under way: the transaction may or may not have committed.
    case commitOutcomeUnknown
    /// The caller passed a value the store cannot use.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .replayKeyVanished: "a conflicting replay key was purged while the batch was written; retry"
        case .commitOutcomeUnknown: "the database connection failed during COMMIT; the transaction may have committed"
        case .invalidArgument(let reason): "invalid argument: \(reason)"
        }
    }
}

/// The PostgreSQL implementation of every VaultStore repository; tokens are sealed with `keyRing` before they leave memory.
public struct PostgresVaultStore: EventInbox, SessionRepository, AccessKeyRepository, AuditLog, DataKeyRotator, LinkRepository,
    AccountEventRepository, AccountLifecycleStore
{
    let client: PostgresClient
    let keyRing: DataKeyRing
    let logger: Logger

    public init(client: PostgresClient, keyRing: DataKeyRing, logger: Logger) {
        self.client = client
        self.keyRing = keyRing
        self.logger = logger
    }

    /// Runs `body` in one transaction and rethrows the body's own error, which PostgresNIO wraps in `PostgresTransactionError`,
    /// so callers see `SealError`, `PSQLError` and friends directly. A failure of the COMMIT itself that is not the server's
    /// refusal (the connection died around it) is `VaultStoreError.commitOutcomeUnknown`: the work may have committed.
    func inTransaction<Result: Sendable>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await client.withTransaction(logger: logger, isolation: isolation, body)
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError { throw closureError }
            if let commitError = error.commitError, (commitError as? PSQLError)?.code != .server { throw VaultStoreError.commitOutcomeUnknown }
            throw error
        }
    }

    /// True when a trivial query answers within two seconds.
    public func isReachable() async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    let rows = try await client.query("SELECT 1", logger: logger)
                    return try await rows.collect().count == 1
                } catch {
                    return false
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}

extension Duration {
    /// The duration in (fractional) seconds, for `interval` arithmetic in SQL.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
