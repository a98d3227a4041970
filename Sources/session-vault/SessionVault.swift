import ArgumentParser

/// The one command-line entry point: every operation of session-vault is a subcommand of it.
@main
struct SessionVault: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session-vault",
        abstract: "A server-side companion for SAP Customer Data Cloud (Gigya) logins.",
        subcommands: [
            // Each subcommand is registered on its own line, in the order `--help` lists them.
            ServeCommand.self,
            MigrateCommand.self,
            KeysCommand.self,
            DataKeysCommand.self,
            GigyaCommand.self,
            EmulatorCommand.self,
            DemoCommand.self,
            AdminCommand.self,
            BenchCommand.self,
        ]
    )
}
