public import Foundation
public import GigyaClient
import GigyaKit
public import Logging
public import VaultStore

/// What to reconcile and how.
public struct ReconcileRequest: Sendable {
    public var site: GigyaSite
    public var mode: ReconciliationMode
    /// With `.repair`: also purge orphans (sessions and links under UIDs Gigya no longer knows).
    public var purgeOrphans: Bool
    /// Continue the newest interrupted run of this site and mode instead of starting a new one.
    public var resume: Bool
    /// Who asked, for the run and the audit trail.
    public var startedBy: String

    public init(site: GigyaSite, mode: ReconciliationMode, purgeOrphans: Bool = false, resume: Bool = false, startedBy: String) {
        self.site = site
        self.mode = mode
        self.purgeOrphans = purgeOrphans
        self.resume = resume
        self.startedBy = startedBy
    }
}

/// How far a run is, for progress displays.
public struct ReconcileProgress: Sendable, Equatable {
    public var runID: UUID
    public var checked: Int
    public var total: Int
    public var elapsed: Duration
    /// Times Gigya's rate limit (403048) made the run wait.
    public var rateLimited: Int
    /// What the run is doing now.
    public var phase: String

    /// Items a second, over the run so far.
    public var rate: Double {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(checked) / seconds : 0
    }

    /// The time left at the current rate, when it can be told.
    public var remaining: Duration? {
        guard rate > 0, total >= checked else { return nil }
        return .seconds(Double(total - checked) / rate)
    }
}

/// Why a run could not be made.
public enum ReconcileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The site is not wired for Gigya lookups.
    case siteNotLinkable(String)
    /// Gigya failed in a way waiting does not cure.
    case gigya(String)

    public var description: String {
        switch self {
        case .siteNotLinkable(let site): "site \(site) has no Gigya client for lookups"
        case .gigya(let summary): "Gigya failed: \(summary)"
        }
    }
}

/// Compares the links session-vault made and the users it stores sessions for with what Gigya holds, puts each in a
/// category, and, when repairing, fixes what it can: re-sends pending and failed links, re-keys drift where Gigya is
/// right, purges orphans when asked. Every change is audited; every run and finding is stored; a run can be resumed.
public struct Reconciler: Sendable {
    public struct Settings: Sendable {
        /// Gigya lookups in flight at once on a site without the accounts API.
        public var concurrency: Int = 8
        /// Items checked and written per batch (a checkpoint after each).
        public var batchSize: Int = 200
        /// Accounts a search page holds (at most 1,000).
        public var searchPageSize: Int = 1000
        /// Waits for Gigya's rate limit (403048): the first, doubled each time up to the last, each randomised to 50–100 %.
        public var rateLimitBaseDelay: Duration = .milliseconds(500)
        public var rateLimitMaxDelay: Duration = .seconds(30)
        public var rateLimitMaxWaits: Int = 10
        /// How long a repair waits for a re-sent link to be linked or refused.
        public var linkWait: Duration = .seconds(30)

        public init() {}
    }

    private let store: any ReconciliationStore & LinkRepository & AccountLifecycleStore
    private let linkWorker: LinkWorker
    private let settings: Settings
    private let logger: Logger

    public init(store: any ReconciliationStore & LinkRepository & AccountLifecycleStore, linkWorker: LinkWorker, settings: Settings = Settings(), logger: Logger) {
        self.store = store
        self.linkWorker = linkWorker
        self.settings = settings
        self.logger = logger
    }

    /// Runs (or resumes) a reconciliation; `progress` is awaited after every batch. Cancellation marks the run interrupted
    /// (resumable) and rethrows.
    public func run(_ request: ReconcileRequest, progress: @escaping @Sendable (ReconcileProgress) async -> Void = { _ in }) async throws -> ReconciliationRun {
        guard let directory = request.site.directory else { throw ReconcileError.siteNotLinkable(request.site.apiKey) }
        let apiKey = request.site.apiKey
        let total = try await store.reconciliationTotal(site: apiKey)
        var run: ReconciliationRun
        var request = request
        if request.resume, let resumable = try await store.resumableRun(site: apiKey, mode: request.mode, staleAfter: .seconds(60)) {
            run = resumable
            // A resumed run goes on as it was started.
            request.purgeOrphans = resumable.purgeOrphans
            try await store.markRun(id: run.id, status: .running, total: total, error: nil)
            logger.notice("resuming reconciliation", metadata: ["run": "\(run.id)", "checkpoint": "\(run.checkpoint ?? "-")"])
        } else {
            run = try await store.createRun(
                site: apiKey, mode: request.mode, purgeOrphans: request.purgeOrphans, startedBy: request.startedBy, total: total)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let tracker = ProgressTracker(runID: run.id, checked: run.checked, total: total)
        let report: @Sendable (String) async -> Void = { phase in
            await progress(await tracker.snapshot(elapsed: clock.now - started, phase: phase))
        }
        let gigya = GigyaLookup(directory: directory, settings: settings, tracker: tracker, logger: logger)
        do {
            await report("reading Gigya")
            let view: GigyaView
            if request.site.accounts.accountsAPI {
                view = try await gigya.snapshot(pageSize: settings.searchPageSize) { await report("reading Gigya (\($0) accounts)") }
            } else {
                view = GigyaView(accounts: nil)
            }
            let work = RunWork(
                request: request, run: run, view: view, gigya: gigya, store: store, linkWorker: linkWorker, settings: settings, tracker: tracker,
                logger: logger)
            try await work.checkLinks(report: report)
            try await work.checkUsers(report: report)
            try await store.markRun(id: run.id, status: .completed, total: nil, error: nil)
        } catch {
            // Recorded outside this (possibly cancelled) task, so an interrupted run is stored as resumable.
            let interrupted = error is CancellationError || Task.isCancelled
            let runID = run.id
            await Task { [store] in
                try? await store.markRun(
                    id: runID, status: interrupted ? .interrupted : .failed, total: nil, error: interrupted ? "interrupted" : "\(error)")
            }.value
            if interrupted { throw CancellationError() }
            throw error
        }
        await report("done")
        run = try await store.run(id: run.id) ?? run
        return run
    }
}

/// Counters shared by a run's tasks.
actor ProgressTracker {
    let runID: UUID
    private(set) var checked: Int
    let total: Int
    private(set) var rateLimited = 0

    init(runID: UUID, checked: Int, total: Int) {
        self.runID = runID
        self.checked = checked
        self.total = total
    }

    func advance(by count: Int) -> Int {
        checked += count
        return checked
    }

    func noteRateLimited() {
        rateLimited += 1
    }

    func snapshot(elapsed: Duration, phase: String) -> ReconcileProgress {
        ReconcileProgress(runID: runID, checked: checked, total: total, elapsed: elapsed, rateLimited: rateLimited, phase: phase)
    }
}

/// What Gigya holds, as far as a run needs it: on an accounts site a snapshot of every account's UID and identities;
/// elsewhere nothing up front (each UID is looked up).
struct GigyaView: Sendable {
    struct Accounts: Sendable {
        var known: Set<String> = []
        var owners: [GigyaAccountPage.Identity: String] = [:]
    }

    let accounts: Accounts?
}

/// Gigya calls with the rate limit's back-off.
struct GigyaLookup: Sendable {
    let directory: any GigyaAccountDirectory
    let settings: Reconciler.Settings
    let tracker: ProgressTracker
    let logger: Logger

    /// Every account of the site, page by page with one cursor (each page asked for within five minutes of the last).
    func snapshot(pageSize: Int, onPage: @Sendable (Int) async -> Void) async throws -> GigyaView {
        var accounts = GigyaView.Accounts()
        var request = GigyaAccountSearch.allAccounts(pageSize: pageSize)
        var read = 0
        while true {
            try Task.checkCancellation()
            let current = request
            let page = try await withBackoff { () async throws(GigyaCallError) in try await directory.searchAccounts(current) }
            for account in page.accounts {
                accounts.known.insert(account.uid)
                for identity in account.identities { accounts.owners[identity] = account.uid }
            }
            read += page.accounts.count
            await onPage(read)
            guard let cursor = page.nextCursorID, !page.accounts.isEmpty else { break }
            request = .next(cursorID: cursor)
        }
        return GigyaView(accounts: accounts)
    }

    /// Whether Gigya knows `uid` now (getUserInfo; "unknown user" is no).
    func knows(_ uid: String) async throws -> Bool {
        do {
            _ = try await withBackoff { () async throws(GigyaCallError) in try await directory.getUserInfo(uid: uid) }
            return true
        } catch let error as GigyaCallError where error.isUnknownUser {
            return false
        }
    }

    /// Runs `call`, waiting and retrying while Gigya answers 403048 (rate limit), up to `rateLimitMaxWaits` times.
    func withBackoff<T: Sendable>(_ call: @Sendable () async throws(GigyaCallError) -> T) async throws -> T {
        var waits = 0
        while true {
            do {
                return try await call()
            } catch where error.gigyaCode == 403_048 && waits < settings.rateLimitMaxWaits {
                waits += 1
                await tracker.noteRateLimited()
                let ceiling = min(settings.rateLimitBaseDelay * (1 << min(waits - 1, 20)), settings.rateLimitMaxDelay)
                let delay = ceiling * Double.random(in: 0.5...1)
                logger.notice("Gigya's rate limit: waiting", metadata: ["delay": "\(delay)", "waits": "\(waits)"])
                try await Task.sleep(for: delay)
            } catch {
                // "Unknown user" is an answer the caller reads; anything else ends the run (it can be resumed).
                if error.isUnknownUser { throw error }
                throw ReconcileError.gigya(error.summary)
            }
        }
    }
}
