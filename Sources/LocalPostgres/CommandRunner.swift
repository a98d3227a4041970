import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a command to completion (as another user when asked) and captures its combined output.
enum CommandRunner {
    /// The account a command runs as when we are root.
    struct User: Sendable {
        var name: String
        var uid: uid_t
        var gid: gid_t
    }

    /// Runs `executable arguments` and returns its output; non-zero exit throws `commandFailed` with the output.
    static func run(_ executable: String, _ arguments: [String], as user: User?) async throws -> String {
        let argv = wrap(executable, arguments, as: user)
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("session-vault-cmd-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        // posix_spawn + waitpid rather than Foundation's Process: on Linux, Process learns of the exit through a descriptor the
        // child inherits, and the postmaster that `pg_ctl start` leaves behind inherits it too, so the exit is never seen.
        let status = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: spawnAndWait(argv, outputPath: outputPath)) }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let commandLine = ([executable] + arguments).joined(separator: " ")
        guard status == 0 else { throw EmbeddedPostgresError.commandFailed(command: commandLine, status: status, output: output) }
        return output
    }

    /// Spawns argv with stdin from /dev/null and stdout+stderr into `outputPath` (or /dev/null), and blocks until it exits.
    /// Returns the exit status, or -1 when it could not be spawned or was killed by a signal.
    static func spawnAndWait(_ argv: [String], outputPath: String? = nil) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid = pid_t()
        guard posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, spelled out because the C macros are not imported into Swift.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }

    /// As root: `runuser -u postgres -- cmd …`, or `su postgres -s /bin/sh -c '…'` where runuser is missing.
    static func wrap(_ executable: String, _ arguments: [String], as user: User?) -> [String] {
        guard let user else { return [executable] + arguments }
        for runuser in ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"] where FileManager.default.isExecutableFile(atPath: runuser) {
            return [runuser, "-u", user.name, "--", executable] + arguments
        }
        let quoted = ([executable] + arguments).map(shellQuote).joined(separator: " ")
        return ["/bin/su", user.name, "-s", "/bin/sh", "-c", quoted]
    }

    /// Single-quotes a word for /bin/sh.
    static func shellQuote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
