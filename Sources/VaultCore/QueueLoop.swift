import GigyaClient
import Logging
import ServiceLifecycle

/// The loop of the low-volume queue workers (links, account events): claim a batch of due jobs under a lease, process
/// them concurrently, repeat; wait `idlePoll` when there was nothing, back off when claiming fails; stop claiming on
/// graceful shutdown and let the batch in hand finish.
enum QueueLoop {
    static func run<Job: Sendable>(
        settings: WorkerSettings,
        batch: Int,
        logger: Logger,
        queue: String,
        claim: @escaping @Sendable (Int) async throws -> [Job],
        process: @escaping @Sendable (Job) async -> Void
    ) async {
        var failedClaims = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let jobs: [Job]
            do {
                jobs = try await withDeadline(settings.storeDeadline) { try await claim(batch) }
                failedClaims = 0
            } catch {
                failedClaims += 1
                var random = SystemRandomNumberGenerator()
                let delay = settings.retry.delay(afterFailedAttempts: failedClaims, using: &random)
                logger.warning("claiming from the \(queue) queue failed", metadata: ["error": "\(String(reflecting: error))", "delay": "\(delay)"])
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: min(delay, .seconds(5))) }
                continue
            }
            guard !jobs.isEmpty else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.idlePoll) }
                continue
            }
            await withDiscardingTaskGroup { group in
                for job in jobs {
                    group.addTask { await process(job) }
                }
            }
        }
    }
}
