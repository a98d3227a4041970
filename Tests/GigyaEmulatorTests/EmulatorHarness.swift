import AsyncHTTPClient
import Foundation
import Glibc
import GigyaEmulator
import GigyaKit
import GigyaVectors
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// The vectors' site: apiKey 3_TESTAPIKEY and the official test secret (docs/gigya-protocol.md §8).
let testSecret = OfficialSDKVectors.testSecret
let testSite = EmulatorSite(apiKey: "3_TESTAPIKEY", partnerSecret: testSecret, dataCenter: "us1", userKeys: ["AUSERKEY123": testSecret])

/// An HTTP answer: status, raw body and the body parsed as a JSON object.
struct HTTPAnswer {
    let status: Int
    let body: [UInt8]

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    /// The Gigya `errorCode` of the body.
    var errorCode: Int? {
        json["errorCode"] as? Int
    }
}

/// Runs `body` against a fresh emulator on port 0 and stops it afterwards.
func withEmulator<T>(
    sites: [EmulatorSite] = [testSite],
    clock: any WallClock = ManualWallClock(1_700_000_000),
    webhookURL: String? = nil,
    webhookRetryDelays: [Duration] = [.milliseconds(50), .milliseconds(50)],
    // With a fraction of a second on purpose: the delivery tests then also prove fractions survive into the HTTP timeout.
    // Long enough that a delivery on a loaded machine is not timed out and retried (which would count twice).
    webhookTimeout: Duration = .milliseconds(5_500),
    webhookBatchWindow: Duration = .milliseconds(50),
    duplicateDeliveries: Bool = false,
    trustForwardedProto: Bool = false,
    accountsFile: String? = nil,
    _ body: (RunningEmulator) async throws -> T
) async throws -> T {
    let configuration = EmulatorConfiguration(
        sites: sites,
        webhookURL: webhookURL,
        clock: clock,
        webhookRetryDelays: webhookRetryDelays,
        webhookTimeout: webhookTimeout,
        webhookBatchWindow: webhookBatchWindow,
        duplicateDeliveries: duplicateDeliveries,
        trustForwardedProto: trustForwardedProto,
        accountsFile: accountsFile,
        logger: Logger(label: "emulator-test") { _ in SwiftLogNoOpLogHandler() }
    )
    let emulator = try await GigyaEmulator.start(configuration: configuration)
    do {
        let result = try await body(emulator)
        await emulator.stop()
        return result
    } catch {
        await emulator.stop()
        throw error
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Int = 5, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() {
            return true
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Runs blocking work (file system calls) on a thread of its own, so it never occupies Swift's cooperative pool.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}

/// Sends one request with AsyncHTTPClient.
func send(
    _ method: HTTPMethod = .POST,
    _ url: String,
    body: String? = nil,
    contentType: String = "application/x-www-form-urlencoded",
    headers: [(String, String)] = []
) async throws -> HTTPAnswer {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers {
        request.headers.replaceOrAdd(name: name, value: value)
    }
    if let body {
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(string: body))
    }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    let bytes = try await response.body.collect(upTo: 1 << 20)
    return HTTPAnswer(status: Int(response.status.code), body: Array(bytes.readableBytesView))
}

/// Signs a call as the official SDKs do (GigyaKit's signer) for the emulator's own URL and sends it.
func signedCall(
    _ emulator: RunningEmulator,
    _ method: String,
    _ params: [String: String],
    timestamp: Int64 = 1_700_000_000,
    nonce: String = UUID().uuidString,
    secret: String = testSecret,
    apiKey: String = "3_TESTAPIKEY",
    userKey: String? = nil
) async throws -> HTTPAnswer {
    let signer = RequestSigner(apiKey: apiKey, secret: try GigyaSecret(base64: secret), userKey: userKey)
    let signed = signer.sign(method: method, params: params, url: emulator.baseURL + "/" + method, timestamp: timestamp, nonce: nonce)
    return try await send(.POST, signed.url, body: signed.formBody)
}

/// Sends raw bytes over a plain TCP socket and returns everything the server wrote before closing (on its own thread,
/// so blocking reads never occupy the cooperative pool).
func rawExchange(port: Int, request: String) async -> (bytes: [UInt8], connected: Bool) {
    await withCheckedContinuation { continuation in
        let thread = Thread {
            continuation.resume(returning: blockingExchange(port: port, request: request))
        }
        thread.start()
    }
}

/// The blocking half of `rawExchange`.
private func blockingExchange(port: Int, request: String) -> (bytes: [UInt8], connected: Bool) {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketFD >= 0 else {
        return ([], false)
    }
    defer { close(socketFD) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        return ([], false)
    }
    let bytes = Array(request.utf8)
    _ = bytes.withUnsafeBytes { Glibc.send(socketFD, $0.baseAddress, $0.count, 0) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, $0.count, 0) }
        if count <= 0 {
            break
        }
        received += buffer[0..<count]
    }
    return (received, true)
}
