import ArgumentParser
import Foundation
import VaultServer
import VaultStore

/// `session-vault keys`: API keys for the backends that read stored sessions.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys for the read API.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    /// Prints the new key once, as the last line; only its hash is stored.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key; the key is printed once, as the last line.")

        @OptionGroup var options: ServerOptions

        @Option(help: "A unique name for the key (who uses it).")
        var name: String

        @Option(help: "Comma-separated scopes: \(APIScope.allCases.map(\.rawValue).joined(separator: ", ")).")
        var scopes: String

        func run() async throws {
            let scopes: [APIScope]
            do {
                scopes = try APIScope.parseList(self.scopes)
            } catch {
                throw ValidationError(error.description)
            }
            let settings = try await options.load()
            try await VaultTool.withStore(settings: settings, logger: makeLogger("session-vault.keys", level: "warning")) { context in
                let (record, plaintext) = try await context.store.createKey(name: name, scopes: scopes.map(\.rawValue))
                print("created API key '\(record.name)' (id \(record.id.uuidString.lowercased()), scopes \(record.scopes.joined(separator: ",")))")
                print("store it now: it is shown only once and only its hash is kept")
                print(plaintext)
            }
        }
    }

    /// Lists keys with their scopes and state; never the keys themselves.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys (names, prefixes, scopes, state).")

        @OptionGroup var options: ServerOptions

        func run() async throws {
            let settings = try await options.load()
            try await VaultTool.withStore(settings: settings, logger: makeLogger("session-vault.keys", level: "warning")) { context in
                let formatter = ISO8601DateFormatter()
                for key in try await context.store.listKeys() {
                    let state = key.revokedAt.map { "revoked \(formatter.string(from: $0))" } ?? "active"
                    let used = key.lastUsedAt.map { formatter.string(from: $0) } ?? "never"
                    print("\(key.name)\t\(key.prefix)\t\(key.scopes.joined(separator: ","))\t\(state)\tlast used \(used)")
                }
            }
        }
    }

    /// Revokes a key by name or id; requests with it get 401 from then on.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key by name or id.")

        @OptionGroup var options: ServerOptions

        @Argument(help: "The key's name or id.")
        var key: String

        func run() async throws {
            let settings = try await options.load()
            try await VaultTool.withStore(settings: settings, logger: makeLogger("session-vault.keys", level: "warning")) { context in
                guard try await context.store.revokeKey(nameOrID: key) else {
                    print("no active API key named '\(key)'")
                    throw ExitCode(1)
                }
                print("revoked '\(key)'")
            }
        }
    }
}
