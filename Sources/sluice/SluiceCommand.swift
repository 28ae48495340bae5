import ArgumentParser

/// `sluice`: the gateway server and its administration. Started by `main.swift`.
struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A self-hosted, OpenAI-compatible LLM gateway with keys, limits, credits and usage.",
        subcommands: [
            ServeCommand.self, MockUpstreamCommand.self, AccountsCommand.self, CreditsCommand.self, KeysCommand.self, UsageCommand.self,
            PolicyCommand.self, LimitsCommand.self,
        ]
    )
}
