public import Logging
import ServiceLifecycle
import Synchronization
public import VaultStore

/// Why the server refused to start.
public enum StartupError: Error, Sendable, CustomStringConvertible {
    case pendingMigrations([Int])
    case inconsistentSchema(String)
    case missingDataKeys([String])
    case databaseUnreachable(String, waited: Duration)

    public var description: String {
        switch self {
        case .databaseUnreachable(let target, let waited):
            "could not reach PostgreSQL at \(target) within \(waited.components.seconds) s; check DATABASE_URL and that the server is up (the log has the connection errors)"
        case .pendingMigrations(let versions):
            "the database schema has pending migrations \(versions); run `session-vault migrate` or start with --migrate"
        case .inconsistentSchema(let reason):
            "the database schema does not match sql/: \(reason)"
        case .missingDataKeys(let ids):
            "stored tokens are sealed under data key(s) \(ids.joined(separator: ", ")) that are not in DATA_KEYS; add them to the ring"
        }
    }
}

extension Vault {
    /// Checks the schema (migrating first when the settings allow) and that every stored key id is in the ring; gives up
    /// with `databaseUnreachable` when the database does not answer within `deadline`.
    public func checkStartup(deadline: Duration = .seconds(30), logger: Logger) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await checkSchemaAndKeys(migrate: settings.migrateOnStart, logger: logger) }
            group.addTask {
                try await Task.sleep(for: deadline)
                throw StartupError.databaseUnreachable(databaseTarget, waited: deadline)
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func checkSchemaAndKeys(migrate: Bool, logger: Logger) async throws {
        switch try await migrator.status() {
        case .upToDate:
            break
        case .pending(let migrations):
            guard migrate else { throw StartupError.pendingMigrations(migrations.map(\.version)) }
            let applied = try await migrator.migrate(dryRun: false)
            logger.notice("applied migrations", metadata: ["versions": "\(applied.map(\.version))"])
        case .inconsistent(let reason):
            throw StartupError.inconsistentSchema(reason)
        }
        let unknown = try await store.unknownKeyIDs()
        guard unknown.isEmpty else { throw StartupError.missingDataKeys(unknown) }
        // Sessions stored before provider names were lower-cased move to the lower-case name (re-sealed); nothing to do
        // costs one empty index scan. A row that does not open stays, logged, as it would for `data-keys rotate`.
        _ = try await store.normalizeProviderNames()
    }
}

/// Opens once, when the startup checks have passed; services that touch the data wait for it.
final class StartupGate: Sendable {
    private struct State {
        var open = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Lets every waiter, present and future, through.
    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once the gate is open, or early when the calling task is cancelled; says whether it opened.
    func wait() async -> Bool {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.open || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        return state.withLock { $0.open }
    }
}

/// Runs a service only after the startup checks have passed, so no worker ever claims from an unchecked schema or seals
/// under an unknown key. A failed check stops the application, which cancels the waiting service.
struct AfterStartupChecks: Service {
    let gate: StartupGate
    let service: any Service

    func run() async throws {
        let opened = try await cancelWhenGracefulShutdown { await gate.wait() }
        guard opened, !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        try await service.run()
    }
}
