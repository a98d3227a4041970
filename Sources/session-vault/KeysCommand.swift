import ArgumentParser
import Foundation
import VaultCore
import VaultServer
import VaultStore

/// `session-vault keys`: access keys for the backends that read stored sessions.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke access keys for the read API.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    /// Prints the new key once, as the last line; only its hash is stored.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an access key; the key is printed once, as the last line.")

        @OptionGroup var options: ServerOptions

        @Option(help: "A unique name for the key (who uses it).")
        var name: String

        @Option(help: "Comma-separated scopes: \(AccessScope.allCases.map(\.rawValue).joined(separator: ", ")).")
        var scopes: String

        @Option(help: "Comma-separated site API keys the key may act on. One of --sites and --all-sites is required.")
        var sites: String?

        @Flag(help: "Grant every site, present and future, instead of listing them.")
        var allSites = false

        func run() async throws {
            let scopes: [AccessScope]
            do {
                scopes = try AccessScope.parseList(self.scopes)
            } catch {
                throw ValidationError(error.description)
            }
            // No default: a key that silently reached every site is what this flag exists to prevent.
            let grant: AccessKeySites
            switch (sites, allSites) {
            case (nil, true): grant = .all
            case (let list?, false): grant = .only(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            default: throw ValidationError("give exactly one of --sites API_KEY[,API_KEY…] and --all-sites")
            }
            try await options.withVault(label: "session-vault.keys") { vault, _ in
                let (record, plaintext) = try await vault.store.createKey(name: name, scopes: scopes.map(\.rawValue), sites: grant)
                print(
                    "created access key '\(record.name)' (id \(record.id.uuidString.lowercased()), scopes \(record.scopes.joined(separator: ",")), "
                        + "sites \(record.sites))"
                )
                print("store it now: it is shown only once and only its hash is kept")
                print(plaintext)
            }
        }
    }

    /// Lists keys with their scopes and state; never the keys themselves.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List access keys (names, prefixes, scopes, sites, state).")

        @OptionGroup var options: ServerOptions

        func run() async throws {
            try await options.withVault(label: "session-vault.keys") { vault, _ in
                let formatter = ISO8601DateFormatter()
                for key in try await vault.store.listKeys() {
                    let state = key.revokedAt.map { "revoked \(formatter.string(from: $0))" } ?? "active"
                    let used = key.lastUsedAt.map { formatter.string(from: $0) } ?? "never"
                    print("\(key.name)\t\(key.prefix)\t\(key.scopes.joined(separator: ","))\tsites \(key.sites)\t\(state)\tlast used \(used)")
                }
            }
        }
    }

    /// Revokes a key by name or id; requests with it get 401 from then on.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an access key by name or id.")

        @OptionGroup var options: ServerOptions

        @Argument(help: "The key's name or id.")
        var key: String

        func run() async throws {
            try await options.withVault(label: "session-vault.keys") { vault, _ in
                guard try await vault.store.revokeKey(nameOrID: key) else {
                    print("no active access key named '\(key)'")
                    throw ExitCode(1)
                }
                print("revoked '\(key)'")
            }
        }
    }
}
