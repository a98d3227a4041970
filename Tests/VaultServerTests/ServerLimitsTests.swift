#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Hummingbird
import Logging
import Testing
import VaultServer

/// A blocking TCP connection to 127.0.0.1 with receive timeouts, to behave as slow and idle clients do.
private final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    func send(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(descriptor, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
    }

    /// What arrives within `seconds`: bytes, `""` when the server closed the connection (an orderly close, or a reset when
    /// it closed with bytes still unread), nil when nothing came.
    func receive(within seconds: Double) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let remaining = max(0.01, deadline.timeIntervalSinceNow)
            // A `struct timeval` as (seconds, microseconds) in two words: its initializer comes from a shim module that
            // incremental builds sometimes do not see (MemberImportVisibility), and 64-bit targets lay both out the same.
            var timeout: (Int, Int) = (Int(remaining), Int((remaining - Double(Int(remaining))) * 1_000_000))
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<(Int, Int)>.size))
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 { return String(decoding: buffer.prefix(count), as: UTF8.self) }
            if count == 0 { return "" }
            switch errno {
            case ECONNRESET: return ""
            case EINTR where Date() < deadline: continue
            default: return nil
            }
        }
    }

    /// Whether the server closes the connection within `seconds` (any response bytes before the close are skipped).
    func closes(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard let received = receive(within: max(0.05, deadline.timeIntervalSinceNow)) else { return false }
            if received.isEmpty { return true }
        }
        return false
    }

    deinit {
        close(descriptor)
    }
}

/// Runs a blocking socket call on a thread of its own: blocking one of Swift's few cooperative threads for seconds
/// would stall every other test running beside this one.
private func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}

@Suite("HTTP server limits (issue 9)")
struct ServerLimitsTests {
    @Test("idle and half-sent connections are closed, and connections beyond the cap wait for a free slot")
    func slowClientsCannotHoldConnections() async throws {
        // Generous margins: the suite runs many tests at once on a small machine; what is checked is that the
        // connections are closed at all, and the half-sent one before the idle timeout.
        try await VaultHarness.with { harness in
            var settings = harness.vault.settings
            settings.port = 0
            settings.http.idleTimeout = .seconds(5)
            settings.http.readTimeout = .seconds(1)
            // Timeouts first, on a server without a tight cap, so a slot still being released cannot hold a connection back.
            try await Self.serve(settings, logger: harness.logger) { port in
                // Nothing sent: closed by the head deadline (10 s by default), well before the idle timeout of old.
                let idle = try RawConnection(port: port)
                #expect(await offPool { idle.closes(within: 40) })
                // A head, then a body that never finishes: closed by the read deadline, long before the idle timeout.
                let halfSent = try RawConnection(port: port)
                halfSent.send("POST /v1/login-callbacks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"UID\"")
                #expect(await offPool { halfSent.closes(within: 4.5) })
                // A half-sent head: closed by the head deadline too.
                let halfHead = try RawConnection(port: port)
                halfHead.send("GET /health/live HTTP/1.1\r\nHost: t\r\n")
                #expect(await offPool { halfHead.closes(within: 40) })
            }
            // Two connections busy with requests fill the cap (nothing idle to close): a third waits until one closes.
            settings.http.maxConnections = 2
            settings.http.readTimeout = .seconds(60)
            try await Self.serve(settings, logger: harness.logger) { port in
                var holders = [try RawConnection(port: port), try RawConnection(port: port)]
                for holder in holders { holder.send("POST /v1/login-callbacks HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{") }
                try await Task.sleep(for: .milliseconds(200))
                let waiting = try RawConnection(port: port)
                waiting.send("GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(await offPool { waiting.receive(within: 0.8) } == nil)
                holders.removeAll()
                #expect(await offPool { waiting.receive(within: 8) }?.hasPrefix("HTTP/1.1 200") == true)
            }
        }
    }

    @Test("a connection must send a whole head within the head deadline, from its start or from its next request's first byte; a kept-alive one waits")
    func headDeadline() async throws {
        try await VaultHarness.with { harness in
            var settings = harness.vault.settings
            settings.port = 0
            settings.http.headTimeout = .seconds(1)
            settings.http.idleTimeout = .seconds(120)
            try await Self.serve(settings, logger: harness.logger) { port in
                // Silent, and a head a few bytes at a time: both closed long before the idle timeout.
                let silent = try RawConnection(port: port)
                let dribbling = try RawConnection(port: port)
                dribbling.send("GET /health/li")
                #expect(await offPool { silent.closes(within: 30) })
                #expect(await offPool { dribbling.closes(within: 30) })
                // Kept alive after a request: idle, not a head in waiting, so it outlives several head deadlines...
                let kept = try RawConnection(port: port)
                kept.send("GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(await offPool { kept.receive(within: 10) }?.hasPrefix("HTTP/1.1 200") == true)
                try await Task.sleep(for: .seconds(4))
                kept.send("GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(await offPool { kept.receive(within: 10) }?.hasPrefix("HTTP/1.1 200") == true)
                // ...until the first byte of a next request that never completes its head.
                kept.send("GET /health")
                #expect(await offPool { kept.closes(within: 30) })
            }
        }
    }

    @Test("one address may hold only its share of connections; at the cap the connection idle longest is closed so a new client is served")
    func perPeerLimitAndEviction() async throws {
        try await VaultHarness.with { harness in
            var settings = harness.vault.settings
            settings.port = 0
            settings.http.headTimeout = .seconds(90)
            settings.http.idleTimeout = .seconds(120)
            settings.http.maxConnectionsPerPeer = 3
            try await Self.serve(settings, logger: harness.logger) { port, app in
                // Three silent ones: a fourth from the same address closes the oldest of them and is served.
                let silent = try RawConnection(port: port)
                try await Self.untilOpen(1, app)
                let others = try (0..<2).map { _ in try RawConnection(port: port) }
                try await Self.untilOpen(3, app)
                #expect(try await Self.served(port: port))
                #expect(await offPool { silent.closes(within: 20) })
                _ = others
            }
            try await Self.serve(settings, logger: harness.logger) { port, app in
                // Three busy ones (each in a request): a fourth from the same address is refused at once.
                var busy: [RawConnection] = []
                for count in 1...3 {
                    let connection = try RawConnection(port: port)
                    connection.send("POST /v1/login-callbacks HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
                    busy.append(connection)
                    try await Self.until(app, "\(count) busy") { $0.open == count && $0.idle == 0 }
                }
                let fourth = try RawConnection(port: port)
                #expect(await offPool { fourth.closes(within: 20) })
                busy.removeLast()
                try await Self.untilOpen(2, app)
                #expect(try await Self.served(port: port))
                _ = busy
            }
            // A flood of silent connections fills the cap; a normal client is still served, at the cost of the oldest.
            settings.http.maxConnectionsPerPeer = 1_000
            settings.http.maxConnections = 40
            try await Self.serve(settings, logger: harness.logger) { port, app in
                let first = try RawConnection(port: port)
                try await Self.untilOpen(1, app)
                let flood = try (0..<45).map { _ in try RawConnection(port: port) }
                let client = try RawConnection(port: port)
                client.send("GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(await offPool { client.receive(within: 20) }?.hasPrefix("HTTP/1.1 200") == true)
                #expect(await offPool { first.closes(within: 20) })
                _ = flood
            }
        }
    }

    @Test("the metrics listener has the same limits: a silent connection is closed by the head deadline")
    func metricsListenerHasTheSameLimits() async throws {
        try await VaultHarness.with { harness in
            var settings = harness.vault.settings
            settings.port = 0
            settings.metrics.port = try Self.freePort()
            settings.metrics.host = "127.0.0.1"
            settings.http.headTimeout = .seconds(1)
            settings.http.idleTimeout = .seconds(120)
            try await Self.serve(settings, logger: harness.logger) { _ in
                let metricsPort = try #require(settings.metrics.port)
                var silent: RawConnection?
                for _ in 0..<100 where silent == nil {
                    silent = try? RawConnection(port: metricsPort)
                    if silent == nil { try await Task.sleep(for: .milliseconds(100)) }
                }
                let connection = try #require(silent, "the metrics listener did not start")
                #expect(await offPool { connection.closes(within: 30) })
            }
        }
    }

    /// Whether a request on a new connection is answered 200 within a generous bound.
    private static func served(port: Int) async throws -> Bool {
        let client = try RawConnection(port: port)
        client.send("GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
        return await offPool { client.receive(within: 20) }?.hasPrefix("HTTP/1.1 200") == true
    }

    /// Waits until the server holds `open` connections (accepting and closing are asynchronous), up to a generous bound.
    private static func untilOpen(_ open: Int, _ app: VaultApplication) async throws {
        try await until(app, "\(open) open") { $0.open == open }
    }

    /// Waits until the main listener's connection counts satisfy `condition`, up to a generous bound.
    private static func until(
        _ app: VaultApplication, _ what: String, _ condition: ((open: Int, idle: Int)) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while !condition(app.connectionCounts), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(condition(app.connectionCounts), "never \(what): \(app.connectionCounts)")
    }

    /// A port nobody listens on now.
    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs session-vault with `settings` on a free port for `body`, then stops it.
    private static func serve(_ settings: ServerSettings, logger: Logger, _ body: (Int) async throws -> Void) async throws {
        try await serve(settings, logger: logger) { port, _ in try await body(port) }
    }

    /// Runs session-vault with `settings` on a free port for `body`, with the application, then stops it.
    private static func serve(_ settings: ServerSettings, logger: Logger, _ body: (Int, VaultApplication) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try buildApplication(settings, logger: logger) { url, _ in
            continuation.yield(Int(url.split(separator: ":").last ?? "") ?? 0)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body(port, app)
        }
    }
}
