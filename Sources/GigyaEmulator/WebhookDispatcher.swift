import AsyncHTTPClient
import Foundation
import GigyaKit
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Delivers signed webhook notifications (docs/gigya-protocol.md §7) and owns the HTTP client; a `Service`, so it is shut down with the app.
final class WebhookDispatcher: Service, Sendable {
    /// A notification waiting to be delivered.
    struct Notification: Sendable {
        /// The event id, also the delivery log key.
        let eventID: String
        /// The raw body; the HMAC covers exactly these bytes.
        let body: [UInt8]
        /// The `X-Gigya-Sig-Hmac-Sha1` value.
        let signature: String
    }

    private let url: String
    private let retryDelays: [Duration]
    private let timeout: Duration
    private let logger: Logger
    private let queue: AsyncStream<Notification>
    private let continuation: AsyncStream<Notification>.Continuation
    private let deliveries = Mutex<[EmulatorWebhookDelivery]>([])

    /// Creates a dispatcher for one target URL.
    init(url: String, retryDelays: [Duration], timeout: Duration, logger: Logger) {
        self.url = url
        self.retryDelays = retryDelays
        self.timeout = timeout
        self.logger = logger
        (queue, continuation) = AsyncStream.makeStream(of: Notification.self)
    }

    /// Builds, signs and queues an `accountDeleted` notification in the v2.0 shape of docs/gigya-protocol.md §7.
    func enqueueAccountDeleted(uid: String, apiKey: String, secret: GigyaSecret, now: Int64) {
        let eventID = UUID().uuidString.lowercased()
        let payload = WebhookPayload(
            events: [
                .init(
                    type: "accountDeleted", id: eventID, timestamp: now, callId: GigyaEmulator.randomHex(16), version: "2.0",
                    apiKey: apiKey, data: .init(accountType: "full", uid: uid)
                )
            ],
            nonce: UUID().uuidString.lowercased(),
            timestamp: now
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body: [UInt8]
        do {
            body = Array(try encoder.encode(payload))
        } catch {
            // Never sign and send an empty body as if it were a notification.
            logger.error("could not encode the accountDeleted notification", metadata: ["error": "\(String(reflecting: error))"])
            return
        }
        deliveries.withLock {
            $0.append(.init(eventID: eventID, type: "accountDeleted", uid: uid, attempts: 0, lastStatus: nil, delivered: false, gaveUp: false))
        }
        continuation.yield(Notification(eventID: eventID, body: body, signature: secret.signature(forBytes: body)))
    }

    /// The delivery log.
    func log() -> [EmulatorWebhookDelivery] {
        deliveries.withLock { $0 }
    }

    /// Delivers queued notifications until graceful shutdown, then shuts the HTTP client down.
    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        // Graceful shutdown cancels the loop and any delivery still waiting for a retry.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await notification in self.queue {
                    group.addTask {
                        await self.deliver(notification, client: client)
                    }
                }
            }
        }
        continuation.finish()
        try await client.shutdown()
    }

    /// POSTs one notification, retrying after non-2xx answers and transport errors with the configured delays.
    private func deliver(_ notification: Notification, client: HTTPClient) async {
        for attempt in 0...retryDelays.count {
            if attempt > 0 {
                do {
                    try await Task.sleep(for: retryDelays[attempt - 1])
                } catch {
                    return
                }
            }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "X-Gigya-Sig-Hmac-Sha1", value: notification.signature)
            request.body = .bytes(ByteBuffer(bytes: notification.body))
            var status: Int?
            do {
                let response = try await client.execute(request, timeout: TimeAmount(timeout))
                status = Int(response.status.code)
                _ = try? await response.body.collect(upTo: 64 * 1024)
            } catch {
                logger.debug("webhook attempt failed", metadata: ["event": "\(notification.eventID)", "error": "\(type(of: error))"])
            }
            let delivered = status.map { (200..<300).contains($0) } ?? false
            let gaveUp = !delivered && attempt == retryDelays.count
            deliveries.withLock { log in
                guard let index = log.firstIndex(where: { $0.eventID == notification.eventID }) else {
                    return
                }
                log[index].attempts = attempt + 1
                log[index].lastStatus = status
                log[index].delivered = delivered
                log[index].gaveUp = gaveUp
            }
            if delivered {
                logger.info("webhook delivered", metadata: ["event": "\(notification.eventID)", "attempts": "\(attempt + 1)"])
                return
            }
        }
        logger.warning("webhook abandoned after every retry", metadata: ["event": "\(notification.eventID)"])
    }
}

/// The notification body (docs/gigya-protocol.md §7).
private struct WebhookPayload: Encodable {
    /// One event.
    struct Event: Encodable {
        /// The account event's data.
        struct EventData: Encodable {
            let accountType: String
            let uid: String
        }

        let type: String
        let id: String
        let timestamp: Int64
        let callId: String
        let version: String
        let apiKey: String
        let data: EventData
    }

    let events: [Event]
    let nonce: String
    let timestamp: Int64
}
