import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import NIOFoundationCompat

#if canImport(Glibc)
import Glibc
#endif

/// Why the browser could not be driven; `missing` says how to install what is absent.
public enum BrowserError: Error, CustomStringConvertible {
    case missing(String)
    case driver(String)

    public var description: String {
        switch self {
        case .missing(let what):
            "\(what) is required for the admin page's browser tests: apt-get install chromium chromium-driver (.ci/run installs them)"
        case .driver(let reason): "WebDriver: \(reason)"
        }
    }
}

/// A headless Chromium driven over WebDriver (W3C) through a chromedriver this process starts on a free port.
public final class Browser: Sendable {
    private let driverPID: pid_t
    private let driverURL: String
    private let sessionID: String
    private let client: HTTPClient

    /// The directory screenshots are written to.
    public let artifacts: URL

    /// Starts chromedriver and a headless Chromium session; fails with install instructions when either is missing.
    public static func start(artifacts: String) async throws -> Browser {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first(where: FileManager.default.isExecutableFile)
        else { throw BrowserError.missing("Chromium (/usr/bin/chromium)") }
        guard let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first(where: FileManager.default.isExecutableFile) else {
            throw BrowserError.missing("chromedriver (/usr/bin/chromedriver)")
        }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("chromedriver-\(UUID().uuidString).log").path
        let pid = try spawn([driver, "--port=0"], output: log)
        var port: Int?
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), let range = text.range(of: "started successfully on port ") {
                port = Int(text[range.upperBound...].prefix { $0.isNumber })
                if port != nil { break }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let port else {
            kill(pid, SIGKILL)
            throw BrowserError.driver("chromedriver did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        let url = "http://127.0.0.1:\(port)"
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": chromium,
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"],
                    ],
                ]
            ]
        ]
        do {
            let answer = try await Self.send(client, .POST, "\(url)/session", capabilities)
            guard let sessionID = (answer as? [String: Any])?["sessionId"] as? String else {
                throw BrowserError.driver("no session id in \(answer)")
            }
            let directory = URL(fileURLWithPath: artifacts)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return Browser(driverPID: pid, driverURL: url, sessionID: sessionID, client: client, artifacts: directory)
        } catch {
            kill(pid, SIGTERM)
            try? await client.shutdown()
            throw error
        }
    }

    private init(driverPID: pid_t, driverURL: String, sessionID: String, client: HTTPClient, artifacts: URL) {
        self.driverPID = driverPID
        self.driverURL = driverURL
        self.sessionID = sessionID
        self.client = client
        self.artifacts = artifacts
    }

    /// Ends the session, stops chromedriver and reaps it.
    public func close() async {
        _ = try? await Self.send(client, .DELETE, "\(driverURL)/session/\(sessionID)", nil)
        kill(driverPID, SIGTERM)
        var reaped = false
        for _ in 0..<50 {
            var status: Int32 = 0
            if waitpid(driverPID, &status, WNOHANG) != 0 {
                reaped = true
                break
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !reaped {
            // chromedriver does not always exit on SIGTERM; it must not outlive the test.
            kill(driverPID, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(driverPID, &status, 0)
        }
        try? await client.shutdown()
    }

    // MARK: Navigation and the page

    public func open(_ url: String) async throws {
        _ = try await command(.POST, "url", ["url": url])
    }

    public func currentURL() async throws -> String {
        try await command(.GET, "url", nil) as? String ?? ""
    }

    public func source() async throws -> String {
        try await command(.GET, "source", nil) as? String ?? ""
    }

    public func title() async throws -> String {
        try await command(.GET, "title", nil) as? String ?? ""
    }

    /// The first element matching a CSS selector; throws when there is none.
    public func element(_ selector: String) async throws -> String {
        let answer = try await command(.POST, "element", ["using": "css selector", "value": selector])
        guard let object = answer as? [String: Any], let id = object.values.first as? String else {
            throw BrowserError.driver("no element \(selector)")
        }
        return id
    }

    public func click(_ selector: String) async throws {
        let id = try await element(selector)
        _ = try await command(.POST, "element/\(id)/click", [:])
    }

    public func type(_ text: String, into selector: String) async throws {
        let id = try await element(selector)
        _ = try await command(.POST, "element/\(id)/clear", [:])
        _ = try await command(.POST, "element/\(id)/value", ["text": text])
    }

    /// Presses keys on the focused element (WebDriver key codes, e.g. "\u{E007}" for Enter, "\u{E004}" for Tab).
    public func pressKeys(_ keys: String) async throws {
        let actions: [[String: Any]] = keys.unicodeScalars.flatMap { key -> [[String: Any]] in
            [["type": "keyDown", "value": String(key)], ["type": "keyUp", "value": String(key)]]
        }
        _ = try await command(.POST, "actions", ["actions": [["type": "key", "id": "keyboard", "actions": actions]]])
    }

    /// The text of the focused element's `id` attribute, or "" (for keyboard tests).
    public func activeElementID() async throws -> String {
        let answer = try await command(.GET, "element/active", nil)
        guard let object = answer as? [String: Any], let id = object.values.first as? String else { return "" }
        return try await command(.GET, "element/\(id)/attribute/id", nil) as? String ?? ""
    }

    /// The browser's cookies, as WebDriver reports them (`name`, `value`, `httpOnly`, `sameSite`, `secure`, `path`).
    public func cookies() async throws -> [[String: Any]] {
        try await command(.GET, "cookie", nil) as? [[String: Any]] ?? []
    }

    /// Saves a PNG of the viewport as `<name>.png` in `artifacts`; returns its path.
    @discardableResult
    public func screenshot(_ name: String) async throws -> String {
        guard let base64 = try await command(.GET, "screenshot", nil) as? String, let data = Data(base64Encoded: base64) else {
            throw BrowserError.driver("no screenshot")
        }
        let path = artifacts.appendingPathComponent("\(name).png")
        try data.write(to: path)
        return path.path
    }

    /// Waits (without reloading) until the current URL satisfies `condition`: a click that navigates may return before
    /// the new page has loaded. Returns the URL.
    @discardableResult
    public func waitForURL(timeout: Duration = .seconds(10), _ condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let url = try await currentURL()
            if condition(url) { return url }
            guard ContinuousClock.now < deadline else { throw BrowserError.driver("the browser stayed at \(url)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Reloads until `condition` holds on the page source, or throws after `timeout`.
    public func waitFor(timeout: Duration = .seconds(30), _ condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let page = try await source()
            if condition(page) { return page }
            guard ContinuousClock.now < deadline else { throw BrowserError.driver("the page never showed what was awaited") }
            try await Task.sleep(for: .milliseconds(300))
            _ = try await command(.POST, "refresh", [:])
        }
    }

    // MARK: The wire

    private func command(_ method: HTTPMethod, _ path: String, _ body: [String: Any]?) async throws -> Any {
        try await Self.send(client, method, "\(driverURL)/session/\(sessionID)/\(path)", body)
    }

    private static func send(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, _ body: [String: Any]?) async throws -> Any {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 32 * 1024 * 1024)
        let object = try JSONSerialization.jsonObject(with: Data(buffer: bytes), options: [.fragmentsAllowed]) as? [String: Any]
        let value = object?["value"] ?? NSNull()
        if response.status.code >= 400 {
            let message = (value as? [String: Any])?["message"] as? String ?? "HTTP \(response.status.code)"
            throw BrowserError.driver(message)
        }
        return value
    }

    /// Spawns argv with stdin from /dev/null and its output into `output`; returns the pid without waiting.
    private static func spawn(_ argv: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let result = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
        guard result == 0 else { throw BrowserError.driver("could not start \(argv[0]): errno \(result)") }
        return pid
    }
}
