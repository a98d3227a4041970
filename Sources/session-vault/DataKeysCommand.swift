import ArgumentParser
import VaultServer
import VaultStore

/// `session-vault data-keys`: the keys that seal stored tokens.
struct DataKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data-keys",
        abstract: "Generate data keys, report rows per key and re-encrypt under the primary key.",
        subcommands: [Generate.self, Status.self, Rotate.self]
    )

    /// Prints a new key in the ring's `id:BASE64` form, to put first in DATA_KEYS.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a new 256-bit data key as ID:BASE64.")

        @Option(help: "The key id to record on every row it seals.")
        var id: String

        func run() throws {
            let (_, base64) = DataKey.generate(id: id)
            print("\(id):\(base64)")
        }
    }

    /// How many sealed rows each key id holds.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report stored rows per data key id.")

        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await options.withVault(label: "session-vault.data-keys") { vault, _ in
                let rows = try await vault.store.rowsPerKey()
                for (id, count) in rows.sorted(by: { $0.key < $1.key }) { print("\(id)\t\(count)") }
                let unknown = try await vault.store.unknownKeyIDs()
                if !unknown.isEmpty {
                    print("missing from the ring: \(unknown.joined(separator: ", "))")
                    throw ExitCode(1)
                }
            }
        }
    }

    /// Re-seals every row not under the primary key, in batches; safe to interrupt and run again.
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-encrypt stored tokens under the primary (first) data key.")

        @OptionGroup var options: ServerOptions

        @Option(help: "Rows re-encrypted per transaction.")
        var batchSize = 500

        func run() async throws {
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
            try await options.withVault(label: "session-vault.data-keys") { vault, _ in
                let report = try await vault.store.rotateDataKeys(batchSize: batchSize)
                print("re-encrypted \(report.rowsReencrypted) row(s)")
                for (id, count) in report.rowsPerKey.sorted(by: { $0.key < $1.key }) { print("\(id)\t\(count)") }
                for row in report.unopenable { print("not re-encrypted, does not open under its key: \(row)") }
                let unknown = try await vault.store.unknownKeyIDs()
                if !unknown.isEmpty {
                    print("not re-encrypted, sealed under keys missing from the ring: \(unknown.joined(separator: ", "))")
                }
                if !unknown.isEmpty || !report.unopenable.isEmpty { throw ExitCode(1) }
            }
        }
    }
}
