import AsyncHTTPClient
import GigyaKit
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Batches account events into signed notifications and delivers them (docs/gigya-protocol.md §7, §12); a `Service` that
/// owns its HTTP client, so it is shut down with the app.
///
/// Each site has one queue and one worker: events queued within `batchWindow` of the oldest waiting one go out together,
/// at most 100 a notification, and a site's notifications are delivered one after the other (retries included), so
/// events reach the receiver in order. The target URL can change at any time; with none, a notification is logged as
/// undeliverable instead of being dropped silently.
final class WebhookDispatcher: Service, Sendable {
    /// How notifications are batched and delivered.
    struct Settings: Sendable {
        /// Waits between attempts; their count is the number of retries after the first attempt.
        var retryDelays: [Duration]
        /// How long one attempt may take.
        var timeout: Duration
        /// How long the oldest queued event waits for others to join its notification.
        var batchWindow: Duration
        /// Deliver every notification a second time, as a duplicate with a fresh nonce and the same event ids.
        var duplicateDeliveries: Bool
    }

    /// Gigya's limit for version 2.0 (docs/gigya-protocol.md §12).
    static let maximumEventsPerNotification = 100
    /// The delivery log keeps the latest notifications only, so a long benchmark does not grow it without bound.
    static let maximumLogEntries = 1000

    /// One notification: what the log shows, and the body it is sent with.
    private struct Entry {
        let id: Int
        let apiKey: String
        var payload: WebhookPayload
        var body: [UInt8]
        /// Every nonce it was sent with (a retry re-signed after its JWT expired has a new one).
        var nonces: [String]
        var delivery: EmulatorWebhookDelivery
    }

    /// A site's waiting work, in order.
    private enum Pending {
        /// An event waiting for its notification, and when it was queued.
        case event(WebhookPayload.Event, queuedAt: ContinuousClock.Instant)
        /// A notification already made (a redelivery), by entry id.
        case notification(Int)
    }

    /// The mutable state.
    private struct State {
        var url: String?
        var pending: [String: [Pending]] = [:]
        var entries: [Entry] = []
        var nextID = 1

        /// Appends a log entry, dropping the oldest beyond the limit.
        mutating func append(_ entry: Entry) {
            entries.append(entry)
            if entries.count > WebhookDispatcher.maximumLogEntries {
                entries.removeFirst(entries.count - WebhookDispatcher.maximumLogEntries)
            }
        }

        /// The index of the entry with this id.
        func index(of id: Int) -> Int? {
            entries.lastIndex { $0.id == id }
        }
    }

    private let state: Mutex<State>
    private let signer: WebhookSigner
    private let clock: any WallClock
    private let settings: Settings
    private let logger: Logger
    /// One wake-up signal per site, for its worker.
    private let wakeups: [String: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)]

    /// A dispatcher for the signer's sites, delivering to `url` until told otherwise.
    init(url: String?, signer: WebhookSigner, clock: any WallClock, settings: Settings, logger: Logger) {
        self.state = Mutex(State(url: url))
        self.signer = signer
        self.clock = clock
        self.settings = settings
        self.logger = logger
        var wakeups: [String: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)] = [:]
        for apiKey in signer.sites.keys {
            wakeups[apiKey] = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        }
        self.wakeups = wakeups
    }

    /// Where notifications go now.
    var url: String? {
        state.withLock { $0.url }
    }

    /// Changes where notifications go, from the next attempt on; nil stops delivery.
    func setURL(_ url: String?) {
        state.withLock { $0.url = url }
    }

    /// Queues an account event for the site's next notification and returns it as the log will show it.
    @discardableResult
    func enqueue(type: String, apiKey: String, uid: String, newUid: String? = nil) -> EmulatorWebhookEvent {
        let event = WebhookPayload.Event(type: type, apiKey: apiKey, uid: uid, newUid: newUid, now: clock.now())
        state.withLock { $0.pending[apiKey, default: []].append(.event(event, queuedAt: .now)) }
        wakeups[apiKey]?.continuation.yield()
        return event.summary
    }

    /// The delivery log, oldest first.
    func log() -> [EmulatorWebhookDelivery] {
        state.withLock { $0.entries.map(\.delivery) }
    }

    /// Queues a second delivery of a notification (by any nonce it was sent with; the latest one when nil) with the same
    /// event ids: a fresh nonce and timestamp, or with `sameBody` the very same body. Nil when there is no such notification.
    func redeliver(nonce: String?, sameBody: Bool) -> EmulatorWebhookDelivery? {
        guard let (id, apiKey, delivery) = duplicate(nonce: nonce, entryID: nil, sameBody: sameBody) else {
            return nil
        }
        state.withLock { $0.pending[apiKey, default: []].append(.notification(id)) }
        wakeups[apiKey]?.continuation.yield()
        return delivery
    }

    /// Makes a duplicate log entry of a notification found by nonce or id; the caller delivers it.
    private func duplicate(nonce: String?, entryID: Int?, sameBody: Bool) -> (id: Int, apiKey: String, delivery: EmulatorWebhookDelivery)? {
        let source = state.withLock { state -> Entry? in
            if let entryID {
                return state.index(of: entryID).map { state.entries[$0] }
            }
            guard let nonce else {
                return state.entries.last
            }
            return state.entries.last { $0.nonces.contains(nonce) }
        }
        guard let source else {
            return nil
        }
        var payload = source.payload
        var body = source.body
        if !sameBody {
            payload = WebhookPayload(events: source.payload.events, now: clock.now())
            guard let encoded = encode(payload) else {
                return nil
            }
            body = encoded
        }
        return state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            let delivery = EmulatorWebhookDelivery(
                nonce: payload.nonce, apiKey: source.apiKey, timestamp: payload.timestamp, events: payload.events.map(\.summary), duplicate: true
            )
            state.append(Entry(id: id, apiKey: source.apiKey, payload: payload, body: body, nonces: [payload.nonce], delivery: delivery))
            return (id, source.apiKey, delivery)
        }
    }

    /// Delivers each site's notifications until graceful shutdown, then shuts the HTTP client down.
    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        // Graceful shutdown cancels the workers and any delivery still waiting for a retry.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for apiKey in self.wakeups.keys {
                    group.addTask {
                        await self.work(apiKey: apiKey, client: client)
                    }
                }
            }
        }
        for wakeup in wakeups.values {
            wakeup.continuation.finish()
        }
        try await client.shutdown()
    }

    /// One site's worker: takes notifications in order and delivers each (and its duplicate, if configured) to the end.
    private func work(apiKey: String, client: HTTPClient) async {
        guard let wakeup = wakeups[apiKey] else {
            return
        }
        for await _ in wakeup.stream {
            while let id = await nextNotification(apiKey: apiKey) {
                let original = await deliver(entryID: id, client: client)
                if settings.duplicateDeliveries, original, let copy = duplicate(nonce: nil, entryID: id, sameBody: false) {
                    await deliver(entryID: copy.id, client: client)
                }
            }
        }
    }

    /// The site's next notification: a queued redelivery, or the waiting events (at most 100) once the oldest has waited
    /// out the batch window. Nil when nothing waits, or on cancellation.
    private func nextNotification(apiKey: String) async -> Int? {
        guard let head = state.withLock({ $0.pending[apiKey]?.first }) else {
            return nil
        }
        if case .event(_, let queuedAt) = head {
            do {
                try await Task.sleep(until: queuedAt + settings.batchWindow, clock: .continuous)
            } catch {
                return nil
            }
        }
        let taken = state.withLock { state -> Pending? in
            guard let first = state.pending[apiKey]?.first else {
                return nil
            }
            if case .notification = first {
                state.pending[apiKey]!.removeFirst()
                return first
            }
            return nil
        }
        if case .notification(let id)? = taken {
            return id
        }
        let events = state.withLock { state -> [WebhookPayload.Event] in
            // Read through the subscript, never into a local copy, so the removal below does not copy the queue.
            var events: [WebhookPayload.Event] = []
            while events.count < Self.maximumEventsPerNotification, events.count < state.pending[apiKey]?.count ?? 0,
                case .event(let event, _) = state.pending[apiKey]![events.count]
            {
                events.append(event)
            }
            state.pending[apiKey]?.removeFirst(events.count)
            return events
        }
        guard !events.isEmpty else {
            return nil
        }
        let payload = WebhookPayload(events: events, now: clock.now())
        guard let body = encode(payload) else {
            return nil
        }
        return state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            let delivery = EmulatorWebhookDelivery(
                nonce: payload.nonce, apiKey: apiKey, timestamp: payload.timestamp, events: events.map(\.summary)
            )
            state.append(Entry(id: id, apiKey: apiKey, payload: payload, body: body, nonces: [payload.nonce], delivery: delivery))
            return id
        }
    }

    /// POSTs one notification, retrying after non-2xx answers and transport errors with the configured delays; true when
    /// it was delivered.
    @discardableResult
    private func deliver(entryID: Int, client: HTTPClient) async -> Bool {
        for attempt in 0...settings.retryDelays.count {
            if attempt > 0 {
                do {
                    try await Task.sleep(for: settings.retryDelays[attempt - 1])
                } catch {
                    return false
                }
            }
            guard let prepared = prepareAttempt(entryID: entryID) else {
                return false
            }
            var request = HTTPClientRequest(url: prepared.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "X-Gigya-Sig-Hmac-Sha1", value: prepared.hmac)
            request.headers.add(name: "X-Gigya-Sig-JWT", value: prepared.jwt)
            request.body = .bytes(ByteBuffer(bytes: prepared.body))
            var status: Int?
            do {
                let response = try await client.execute(request, timeout: TimeAmount(settings.timeout))
                status = Int(response.status.code)
                _ = try? await response.body.collect(upTo: 64 * 1024)
            } catch {
                logger.debug("webhook attempt failed", metadata: ["nonce": "\(prepared.nonce)", "error": "\(type(of: error))"])
            }
            let delivered = status.map { (200..<300).contains($0) } ?? false
            let gaveUp = !delivered && attempt == settings.retryDelays.count
            state.withLock { state in
                guard let index = state.index(of: entryID) else {
                    return
                }
                state.entries[index].delivery.attempts += 1
                state.entries[index].delivery.lastStatus = status
                state.entries[index].delivery.delivered = delivered
                state.entries[index].delivery.gaveUp = gaveUp
            }
            if delivered {
                logger.info("webhook delivered", metadata: ["nonce": "\(prepared.nonce)", "attempts": "\(attempt + 1)"])
                return true
            }
        }
        logger.warning("webhook abandoned after every retry", metadata: ["entry": "\(entryID)"])
        return false
    }

    /// What one attempt sends.
    private struct Attempt {
        let url: String
        let nonce: String
        let body: [UInt8]
        let hmac: String
        let jwt: String
    }

    /// The URL, body and signatures of the next attempt; nil (and the entry marked undeliverable) when no URL is set.
    ///
    /// A retry sends the same body unless its JWT (`exp = timestamp + 60` on the emulator clock) has expired: then the
    /// body gets a fresh nonce and timestamp, the event ids staying the same.
    private func prepareAttempt(entryID: Int) -> Attempt? {
        let current = state.withLock { state -> (url: String?, entry: Entry)? in
            state.index(of: entryID).map { (state.url, state.entries[$0]) }
        }
        guard let current, let site = signer.sites[current.entry.apiKey] else {
            return nil
        }
        guard let url = current.url else {
            state.withLock { state in
                if let index = state.index(of: entryID) {
                    state.entries[index].delivery.undeliverable = true
                }
            }
            logger.info("webhook not attempted: no target URL", metadata: ["nonce": "\(current.entry.payload.nonce)"])
            return nil
        }
        var payload = current.entry.payload
        var body = current.entry.body
        let now = clock.now()
        if now >= payload.timestamp + WebhookSigner.jwtLifetime {
            payload = WebhookPayload(events: payload.events, now: now)
            guard let encoded = encode(payload) else {
                return nil
            }
            body = encoded
            state.withLock { state in
                guard let index = state.index(of: entryID) else {
                    return
                }
                state.entries[index].payload = payload
                state.entries[index].body = body
                state.entries[index].nonces.append(payload.nonce)
                state.entries[index].delivery.nonce = payload.nonce
                state.entries[index].delivery.timestamp = payload.timestamp
            }
        }
        guard let jwt = signer.jwt(body, site: site, jti: payload.nonce, issuedAt: payload.timestamp) else {
            logger.error("webhook JWT signing failed", metadata: ["nonce": "\(payload.nonce)"])
            return nil
        }
        return Attempt(url: url, nonce: payload.nonce, body: body, hmac: signer.hmac(body, site: site), jwt: jwt)
    }

    /// The body bytes of a payload; nil (logged) if encoding fails, so an empty body is never signed and sent.
    private func encode(_ payload: WebhookPayload) -> [UInt8]? {
        do {
            return try payload.encoded()
        } catch {
            logger.error("could not encode a webhook notification", metadata: ["error": "\(String(reflecting: error))"])
            return nil
        }
    }
}
