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
            var timeout = timeval(tv_sec: Int(remaining), tv_usec: Int((remaining - Double(Int(remaining))) * 1_000_000))
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
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
                // Nothing sent: closed by the idle timeout.
                let idle = try RawConnection(port: port)
                #expect(await offPool { idle.closes(within: 40) })
                // A head, then a body that never finishes: closed by the read deadline, long before the idle timeout.
                let halfSent = try RawConnection(port: port)
                halfSent.send("POST /v1/login-callbacks HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"UID\"")
                #expect(await offPool { halfSent.closes(within: 4.5) })
                // A half-sent head is idle as far as HTTP goes.
                let halfHead = try RawConnection(port: port)
                halfHead.send("GET /health/live HTTP/1.1\r\nHost: t\r\n")
                #expect(await offPool { halfHead.closes(within: 40) })
            }
            // Two connections fill the cap; a third is not served until one closes.
            settings.http.maxConnections = 2
            try await Self.serve(settings, logger: harness.logger) { port in
                var holders = [try RawConnection(port: port), try RawConnection(port: port)]
                try await Task.sleep(for: .milliseconds(100))
                let waiting = try RawConnection(port: port)
                waiting.send("GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(await offPool { waiting.receive(within: 0.8) } == nil)
                holders.removeAll()
                #expect(await offPool { waiting.receive(within: 8) }?.hasPrefix("HTTP/1.1 200") == true)
            }
        }
    }

    /// Runs session-vault with `settings` on a free port for `body`, then stops it.
    private static func serve(_ settings: ServerSettings, logger: Logger, _ body: (Int) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try buildApplication(settings, logger: logger) { url, _ in
            continuation.yield(Int(url.split(separator: ":").last ?? "") ?? 0)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body(port)
        }
    }
}
