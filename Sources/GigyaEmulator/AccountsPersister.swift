import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Writes the accounts file after changes: at most once per `interval`, and once more on graceful shutdown.
///
/// The store's state is copied under its lock in O(1); encoding and the atomic write run on a dispatch queue of their own,
/// never under the store's lock and never on Swift's cooperative threads.
final class AccountsPersister: Service, Sendable {
    private let file: EmulatorAccountsFile
    private let interval: Duration
    private let logger: Logger
    /// The store to save; set once, right after the store is made (the store's change callback leads here).
    private let store = Mutex<EmulatorStore?>(nil)
    /// The version of the store the file holds.
    private let writtenVersion = Mutex<UInt64?>(nil)
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private let queue = DispatchQueue(label: "gigya-emulator.accounts-file")

    /// A persister for `file`, writing at most once per `interval`.
    init(file: EmulatorAccountsFile, interval: Duration, logger: Logger) {
        self.file = file
        self.interval = interval
        self.logger = logger
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Names the store to save, and the version the file already holds (the loaded one).
    func attach(_ store: EmulatorStore) {
        self.store.withLock { $0 = store }
        writtenVersion.withLock { $0 = store.persistentState().version }
    }

    /// Notes that the store changed; cheap, callable from anywhere.
    func storeChanged() {
        signal.yield()
    }

    /// Writes after changes until graceful shutdown, then writes whatever is still unsaved.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var lastWrite: ContinuousClock.Instant?
            for await _ in self.signals {
                if let lastWrite {
                    // Coalesce: the changes of the next `interval` go out in one write.
                    do {
                        try await Task.sleep(until: lastWrite + self.interval, clock: clock)
                    } catch {
                        return
                    }
                }
                await self.save()
                lastWrite = clock.now
            }
        }
        signal.finish()
        await save()
    }

    /// Encodes and writes the store on the persister's queue when it changed since the last write.
    private func save() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.saveNow()
                continuation.resume()
            }
        }
    }

    /// The blocking body of `save`.
    private func saveNow() {
        guard let store = store.withLock({ $0 }) else {
            return
        }
        let (users, siteUIDs, version) = store.persistentState()
        guard writtenVersion.withLock({ $0 }) != version else {
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            let data = try encoder.encode(EmulatorAccountsSnapshot(users: users, siteUIDs: siteUIDs))
            try file.write(Array(data))
            writtenVersion.withLock { $0 = version }
        } catch let error as EmulatorAccountsFileError {
            logger.error("accounts file not written; retried after the next change", metadata: ["error": "\(error)"])
        } catch {
            logger.error("accounts file not encoded", metadata: ["error": "\(String(describing: type(of: error)))"])
        }
    }
}
