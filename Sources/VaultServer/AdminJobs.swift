import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VaultCore
import VaultStore

/// Reconciliations started from the admin page: at most one per site at a time, run in the background, cancelled (and
/// so marked interrupted, resumable) on graceful shutdown.
final class AdminJobs: Service, Sendable {
    private let reconciler: Reconciler
    private let logger: Logger
    private let running = Mutex<[String: Task<Void, Never>]>([:])

    init(reconciler: Reconciler, logger: Logger) {
        self.reconciler = reconciler
        self.logger = logger
    }

    /// Starts a run unless one of the site is running here; false when one is.
    func start(_ request: ReconcileRequest) -> Bool {
        let site = request.site.apiKey
        return running.withLock { running in
            if let task = running[site], !task.isCancelled { return false }
            running[site] = Task { [reconciler, logger] in
                do {
                    _ = try await reconciler.run(request)
                } catch {
                    logger.warning("a reconciliation started from the admin page ended early", metadata: ["error": "\(String(reflecting: error))"])
                }
                self.finished(site: site)
            }
            return true
        }
    }

    /// Whether a run of the site is in progress here.
    func isRunning(site: String) -> Bool {
        running.withLock { $0[site] != nil }
    }

    private func finished(site: String) {
        _ = running.withLock { $0.removeValue(forKey: site) }
    }

    func run() async throws {
        try? await gracefulShutdown()
        let tasks = running.withLock { Array($0.values) }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}
