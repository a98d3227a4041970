public import AsyncHTTPClient
import Foundation
public import GigyaEmulator
import LocalPostgres
import PrivateFiles

/// The layout of zero-config mode's state directory (`./.session-vault/` by default); no other file knows it.
public struct StateDirectory: Sendable {
    /// The directory itself.
    public let path: String

    public init(_ path: String) {
        self.path = path
    }

    /// The private PostgreSQL's data directory (its log goes beside it, as `postgres.log`).
    public var postgresData: String { "\(path)/postgres" }
    /// The private PostgreSQL's password (mode 0600): the server takes password connections only, so no other local
    /// user can use it.
    public var postgresPassword: String { "\(path)/postgres-password" }
    /// The generated data-key ring, `id:BASE64` (mode 0600).
    public var dataKeys: String { "\(path)/data-keys" }
    /// The emulator's demo site with its partner secret (mode 0600), so tokens stay readable across restarts.
    public var emulatorSite: String { "\(path)/emulator-site.json" }
    /// The emulator's accounts, sessions and site UIDs (mode 0600), so demo logins survive a restart.
    public var emulatorAccounts: String { "\(path)/emulator-accounts.json" }
    /// What `demo login` reads (mode 0600).
    public var demoState: String { "\(path)/demo.json" }
    /// The bearer token the emulator's control routes want (mode 0600), new at every start.
    public var emulatorControlToken: String { "\(path)/emulator-control-token" }

    /// Whether a zero-config database was ever created here.
    public var hasDatabase: Bool { FileManager.default.fileExists(atPath: postgresData) }

    /// Creates the directory with mode 0711 when it does not exist: PostgreSQL runs as its own user when we are root and
    /// must traverse into its data directory; nobody else may list the directory, and every file holding a secret in it
    /// is 0600. A directory that exists already is the user's: its permissions are left as they are.
    func create() throws {
        let fileManager = FileManager.default
        guard !fileManager.fileExists(atPath: path) else { return }
        try fileManager.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        // The umask may have narrowed the mode asked for; this directory is ours, made just now.
        try fileManager.setAttributes([.posixPermissions: 0o711], ofItemAtPath: path)
    }

    /// The private PostgreSQL's password: the saved one, else a new random one saved with mode 0600.
    func postgresPasswordCreatingIfNeeded() throws -> String {
        if let saved = savedPostgresPassword() { return saved }
        var generator = SystemRandomNumberGenerator()
        let password = (0..<32).map { _ in String(UInt8.random(in: 0...15, using: &generator), radix: 16) }.joined()
        try writePrivate(password + "\n", to: postgresPassword)
        return password
    }

    /// The saved PostgreSQL password, if any (older state directories have none: their server trusts local connections).
    func savedPostgresPassword() -> String? {
        guard let text = try? String(contentsOfFile: postgresPassword, encoding: .utf8) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The saved data-key ring, if one was generated before.
    func savedDataKeys() -> String? {
        guard let text = try? String(contentsOfFile: dataKeys, encoding: .utf8) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Reads `demo.json` if a zero-config server wrote one, with the emulator's control token beside it.
    public func loadDemoState() -> DemoState? {
        guard let data = FileManager.default.contents(atPath: demoState), var state = try? JSONDecoder().decode(DemoState.self, from: data)
        else { return nil }
        state.emulatorToken = try? Self.readToken(emulatorControlToken)
        return state
    }

    /// A new random emulator control token, saved with mode 0600 before the emulator starts.
    func newEmulatorControlToken() throws -> String {
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(UInt8.random(in: 0...15, using: &generator), radix: 16) }.joined()
        try writePrivate(token + "\n", to: emulatorControlToken)
        return token
    }

    /// Reads a token file (the emulator's control token, say); surrounding whitespace is not part of it.
    public static func readToken(_ path: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path]) }
        return text
    }

    /// Writes `demo.json` for people and `demo login`: pretty, sorted, `/` unescaped, mode 0600.
    func writeDemoState(_ state: DemoState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try writePrivate(String(decoding: try encoder.encode(state), as: UTF8.self) + "\n", to: demoState)
    }

    /// Replaces `path` with `text`, created with mode 0600 from the first byte.
    func writePrivate(_ text: String, to path: String) throws {
        try PrivateFile.write(text, to: path)
    }
}

/// What `demo login` reads to find the server, the emulator and a demo access key.
public struct DemoState: Codable, Sendable {
    public var serverURL: String
    public var emulatorURL: String
    /// The demo site's Gigya API key.
    public var siteAPIKey: String
    /// session-vault's own access key, with every scope.
    public var accessKey: String
    /// The emulator's control token, read from its own 0600 file (`emulator-control-token`), never written here.
    public var emulatorToken: String?

    enum CodingKeys: String, CodingKey {
        case serverURL, emulatorURL, siteAPIKey, accessKey
    }

    /// A control client for the zero-config emulator, with its token.
    public func emulatorControl(httpClient: HTTPClient, timeout: Duration = .seconds(30)) -> EmulatorControlClient {
        EmulatorControlClient(baseURL: emulatorURL, token: emulatorToken, httpClient: httpClient, timeout: timeout)
    }
}
