import PrivateFiles
import Foundation
public import Logging
public import PostgresNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the embedded PostgreSQL could not be started or stopped; carries the command's output (no secrets involved).
public enum EmbeddedPostgresError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `initdb`/`pg_ctl` are neither on PATH nor under /usr/lib/postgresql/*/bin; the directories searched.
    case binariesNotFound(searched: [String])
    /// A command exited non-zero.
    case commandFailed(command: String, status: Int32, output: String)
    /// Running as root but there is no `postgres` user to run the server as.
    case noPostgresUser
    /// The server started but did not accept connections in time.
    case notAcceptingConnections(port: Int, lastError: String)

    public var description: String {
        switch self {
        case .binariesNotFound(let searched):
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install them with `apt-get install postgresql` (Debian/Ubuntu) "
                + "or `brew install postgresql@15`; or set DATABASE_URL. Searched: \(searched.joined(separator: ", "))"
        case .commandFailed(let command, let status, let output):
            "`\(command)` exited with status \(status):\n\(output)"
        case .noPostgresUser:
            "PostgreSQL refuses to run as root and there is no `postgres` user to run it as; create one or set DATABASE_URL"
        case .notAcceptingConnections(let port, let lastError):
            "PostgreSQL on 127.0.0.1:\(port) did not accept connections: \(lastError)"
        }
    }
}

/// A running embedded server: where to connect (loopback only, no TLS; a password when the server was made with one).
public struct EmbeddedPostgresInstance: Sendable, Equatable {
    public var host: String = "127.0.0.1"
    public var port: Int
    public var user: String = "postgres"
    public var database: String = "postgres"
    /// The `postgres` user's password, or nil for a server that trusts every local connection (the tests' throwaway one).
    public var password: String?
    /// The data directory the server runs on.
    public var dataDirectory: String

    public init(port: Int, dataDirectory: String, password: String? = nil) {
        self.port = port
        self.dataDirectory = dataDirectory
        self.password = password
    }

    /// `postgres://postgres[:PASSWORD]@127.0.0.1:PORT/DATABASE` for subprocesses and DATABASE_URL.
    public func url(database: String? = nil) -> String {
        let credentials = password.map { "\(user):\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? user
        return "postgres://\(credentials)@\(host):\(port)/\(database ?? self.database)"
    }

    /// A client configuration for this server (TLS disabled: loopback only).
    public func clientConfiguration(database: String? = nil) -> PostgresClient.Configuration {
        PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database ?? self.database, tls: .disable)
    }
}

/// A private PostgreSQL for the zero-config mode and the tests: `initdb` once, `pg_ctl start`, reuse if already running.
public struct EmbeddedPostgres: Sendable {
    public let dataDirectory: String
    let port: Int?
    let logger: Logger
    let fsync: Bool
    let maxConnections: Int?
    let password: String?
    let searchPath: [String]?

    /// - Parameters:
    ///   - port: nil picks a free port (or reuses the port of a server already running on the directory).
    ///   - fsync: false only for throwaway test servers.
    ///   - maxConnections: PostgreSQL's `max_connections`; nil keeps its default (100). A test server running many
    ///     applications, each with its own pool, needs more.
    ///   - password: when set, a new data directory is made with password (SCRAM) authentication for every connection, so
    ///     no other local user can use the server; nil trusts local connections (throwaway test servers only).
    ///   - searchPath: directories to look for `initdb`/`pg_ctl` in; nil means PATH then /usr/lib/postgresql/*/bin.
    public init(
        dataDirectory: String, port: Int? = nil, logger: Logger, fsync: Bool = true, maxConnections: Int? = nil, password: String? = nil,
        searchPath: [String]? = nil
    ) {
        self.dataDirectory = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        self.port = port
        self.logger = logger
        self.fsync = fsync
        self.maxConnections = maxConnections
        self.password = password
        self.searchPath = searchPath
    }

    /// Where the server log goes: next to the data directory, so a fresh `initdb` never finds it inside.
    public var logFile: String { URL(fileURLWithPath: dataDirectory).deletingLastPathComponent().appendingPathComponent("postgres.log").path }

    /// Initialises the directory if needed, starts the server (or reuses the one running there), waits until it accepts connections.
    public func start() async throws -> EmbeddedPostgresInstance {
        let binaries = try locateBinaries()
        let runAs = try Self.runAsUser()
        if let running = runningServerPort() {
            logger.info("reusing the PostgreSQL already running on this data directory", metadata: ["port": "\(running)"])
            let instance = EmbeddedPostgresInstance(port: running, dataDirectory: dataDirectory, password: password)
            try await waitUntilAccepting(instance)
            return instance
        }
        try prepareDirectories(owner: runAs)
        if !FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            logger.info("initialising PostgreSQL data directory", metadata: ["path": "\(dataDirectory)"])
            try await initialise(initdb: binaries.initdb, runAs: runAs)
        }
        // A port chosen here is free when probed but may be taken before the postmaster binds it (another server
        // starting at the same moment): then try another one. A port the caller named is tried once.
        var attempt = 1
        var chosenPort: Int
        while true {
            if let port { chosenPort = port } else { chosenPort = try await Self.freePort() }
            var options = ["-c listen_addresses=127.0.0.1", "-c port=\(chosenPort)", "-c unix_socket_directories=\(socketDirectory)"]
            if !fsync { options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"] }
            if let maxConnections { options += ["-c max_connections=\(maxConnections)"] }
            do {
                _ = try await CommandRunner.run(
                    binaries.pgCtl, ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", options.joined(separator: " "), "start"], as: runAs)
                break
            } catch {
                guard port == nil, attempt < 5, portWasTaken() else { throw error }
                logger.notice("the chosen port was taken before PostgreSQL bound it; trying another", metadata: ["port": "\(chosenPort)"])
                attempt += 1
            }
        }
        let instance = EmbeddedPostgresInstance(port: chosenPort, dataDirectory: dataDirectory, password: password)
        try await waitUntilAccepting(instance)
        logger.info("PostgreSQL started", metadata: ["port": "\(chosenPort)", "dataDirectory": "\(dataDirectory)"])
        return instance
    }

    /// `initdb`: password (SCRAM) authentication when a password is set, handed over in a file only the server's user can
    /// read and removed afterwards; trust otherwise.
    private func initialise(initdb: String, runAs: CommandRunner.User?) async throws {
        var arguments = ["-D", dataDirectory, "-U", "postgres", "--encoding=UTF8", "--no-locale"]
        guard let password else {
            _ = try await CommandRunner.run(initdb, arguments + ["-A", "trust"], as: runAs)
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("session-vault-pw-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o711])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/pwfile"
        try PrivateFile.write(password + "\n", to: file)
        if let runAs { _ = chown(file, runAs.uid, runAs.gid) }
        arguments += ["-A", "scram-sha-256", "--pwfile=\(file)"]
        _ = try await CommandRunner.run(initdb, arguments, as: runAs)
    }

    /// Stops the server running on the data directory (fast shutdown); does nothing if none runs.
    public func stop() async throws {
        guard runningServerPort() != nil else { return }
        let binaries = try locateBinaries()
        _ = try await CommandRunner.run(binaries.pgCtl, ["-D", dataDirectory, "-m", "fast", "-w", "stop"], as: try Self.runAsUser())
    }

    /// Stops the server on `dataDirectory` at once (`pg_ctl stop -m immediate`), synchronously: for `atexit` hooks,
    /// where nothing asynchronous can run any more. Best effort; returns whether pg_ctl reported success.
    @discardableResult
    public static func stopImmediately(dataDirectory: String, searchPath: [String]? = nil) -> Bool {
        let pgCtl: String
        let user: CommandRunner.User?
        do {
            pgCtl = try locateBinaries(searchPath: searchPath).pgCtl
            user = try runAsUser()
        } catch {
            return false
        }
        let argv = CommandRunner.wrap(pgCtl, ["-D", dataDirectory, "-m", "immediate", "-w", "stop"], as: user)
        return CommandRunner.spawnAndWait(argv) == 0
    }

    /// The socket goes into the data directory when its path fits the 107-byte limit of a Unix socket path, else /tmp.
    var socketDirectory: String { dataDirectory.utf8.count <= 80 ? dataDirectory : "/tmp" }

    /// Paths of the two binaries this type runs.
    struct Binaries: Sendable {
        var initdb: String
        var pgCtl: String
    }

    /// Finds `initdb` and `pg_ctl` in one directory: the injected search path, else PATH then the newest /usr/lib/postgresql/*/bin.
    func locateBinaries() throws(EmbeddedPostgresError) -> Binaries {
        try Self.locateBinaries(searchPath: searchPath)
    }

    /// `locateBinaries()` for a given search path, for the synchronous clean-up hook.
    static func locateBinaries(searchPath: [String]?) throws(EmbeddedPostgresError) -> Binaries {
        let directories = searchPath ?? defaultSearchPath()
        for directory in directories {
            let initdb = directory + "/initdb"
            let pgCtl = directory + "/pg_ctl"
            if FileManager.default.isExecutableFile(atPath: initdb), FileManager.default.isExecutableFile(atPath: pgCtl) {
                return Binaries(initdb: initdb, pgCtl: pgCtl)
            }
        }
        throw .binariesNotFound(searched: directories)
    }

    /// PATH entries, then /usr/lib/postgresql/<version>/bin from the highest version down.
    static func defaultSearchPath() -> [String] {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .sorted { (Double($0) ?? 0) > (Double($1) ?? 0) }
            .map { "/usr/lib/postgresql/\($0)/bin" }
        return path + versions
    }

    /// The user to run PostgreSQL as: `postgres` when we are root (PostgreSQL refuses root), else nobody else.
    static func runAsUser() throws(EmbeddedPostgresError) -> CommandRunner.User? {
        guard geteuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else { throw .noPostgresUser }
        return CommandRunner.User(name: "postgres", uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Creates the data directory (0700) and the log file, owned by the server's user.
    func prepareDirectories(owner: CommandRunner.User?) throws {
        let fileManager = FileManager.default
        let parent = URL(fileURLWithPath: dataDirectory).deletingLastPathComponent().path
        try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
        if !fileManager.fileExists(atPath: dataDirectory) {
            try fileManager.createDirectory(atPath: dataDirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        }
        if !fileManager.fileExists(atPath: logFile) {
            _ = fileManager.createFile(atPath: logFile, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        if let owner {
            for path in [dataDirectory, logFile] where chown(path, owner.uid, owner.gid) != 0 {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
    }

    /// Whether the last start failed because its TCP port was in use (read from the server log's tail).
    func portWasTaken() -> Bool {
        guard let log = try? String(contentsOfFile: logFile, encoding: .utf8) else { return false }
        let tail = log.suffix(4096)
        return tail.contains("Address already in use") || tail.contains("could not create any TCP/IP sockets")
    }

    /// The port of a live postmaster on this data directory (postmaster.pid: line 1 pid, line 4 port), if any.
    func runningServerPort() -> Int? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, let pid = pid_t(lines[0].trimmingCharacters(in: .whitespaces)),
            let port = Int(lines[3].trimmingCharacters(in: .whitespaces))
        else { return nil }
        // kill(pid, 0) probes existence; EPERM means it exists but belongs to another user (the postgres user).
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }
        return port
    }

    /// Binds 127.0.0.1:0, reads the port the kernel chose, and releases it.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    /// `pg_ctl -w` already waited; this confirms a real connection works (up to ~10 s) before returning.
    func waitUntilAccepting(_ instance: EmbeddedPostgresInstance) async throws {
        var lastError = ""
        for _ in 0..<50 {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: PostgresConnection.Configuration(
                        host: instance.host, port: instance.port, username: instance.user, password: instance.password, database: instance.database, tls: .disable),
                    id: 1, logger: logger)
                try await connection.query("SELECT 1", logger: logger)
                try await connection.close()
                return
            } catch {
                lastError = String(reflecting: error)
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        throw EmbeddedPostgresError.notAcceptingConnections(port: instance.port, lastError: lastError)
    }
}
