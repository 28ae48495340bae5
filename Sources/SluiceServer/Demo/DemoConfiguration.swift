import SluiceCore

/// The configuration `serve --demo` runs with: the built-in mock provider serving three models,
/// presets to try, and the ledger at `./sluice.db`.
public enum DemoConfiguration {
    /// The demo configuration with the mock provider at `127.0.0.1:mockPort`.
    public static func make(mockPort: Int, workingDirectory: String) -> SluiceConfig {
        var config = SluiceConfig()
        config.storage.ledger = .sqlite(path: workingDirectory + "/sluice.db")
        config.providers["mock"] = ProviderConfig(kind: .openai, baseURL: "http://127.0.0.1:\(mockPort)/v1")
        func price(_ input: Int64, _ output: Int64) -> Price { Price(inputPerToken: input, outputPerToken: output) }
        config.models = [
            "gpt-4o": ModelConfig(deployments: [Deployment(provider: "mock", model: "gpt-4o")], price: price(2500, 10000), fallbacks: ["gpt-4o-mini"]),
            "gpt-4o-mini": ModelConfig(deployments: [Deployment(provider: "mock", model: "gpt-4o-mini")], price: price(150, 600)),
            "text-embedding-3-small": ModelConfig(deployments: [Deployment(provider: "mock", model: "text-embedding-3-small")], price: price(20, 0)),
        ]
        config.modelNames = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"]
        config.presets = [
            "demo": PresetConfig(rpm: 600, tpm: 1_000_000, dailyTokenCap: 10_000_000, maxConcurrent: 32),
            "dev": PresetConfig(rpm: 60, dailyTokenCap: 200_000, models: ["gpt-4o-mini", "text-embedding-3-small"]),
            "prod": PresetConfig(rpm: 3000, tpm: 2_000_000, dailyTokenCap: 50_000_000, maxConcurrent: 64, policies: ["100000;w=86400;u=cents"]),
        ]
        return config
    }

    /// The account and preset the demo key is made for.
    public static let account = "demo"
    public static let preset = "demo"
    public static let keyName = "demo"
    /// Credits the demo account starts with, in dollars.
    public static let startingCredits = NanoDollars(10 * NanoDollars.perDollar)
}
