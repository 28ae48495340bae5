import Foundation
import SluiceCore
import SluiceServer
import Testing

/// `sluice.yaml` read from disk: one fixture per kind of configuration mistake, each with the
/// exact lines the user sees.
@Suite("Config file")
struct ConfigFileTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/config")

    static func path(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// The problems loading fixture `name` reports; empty when it loads.
    static func problems(_ name: String, environment: [String: String] = [:]) -> [String] {
        do {
            _ = try ConfigFile.load(path: path(name), environment: environment)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    static let priceProblem = "must be a price in USD per million tokens with at most 3 decimals, such as 2.50, not"

    @Test("each kind of mistake has a fixture reporting its path and message", arguments: [
        ("unknown-top-level-key.yaml", ["servers: unknown key (expected one of: limits, models, presets, providers, retry, server, storage)"]),
        ("unknown-nested-key.yaml", ["server.port: unknown key (expected one of: admin_key_env, listen, max_body_bytes)"]),
        ("missing-price.yaml", ["models.gpt-4o.price: missing"]),
        ("unknown-provider.yaml", ["models.gpt-4o.deployments[0].provider: unknown provider \"opnai\""]),
        ("bad-number.yaml", ["server.max_body_bytes: must be a whole number, not \"32MB\""]),
        ("out-of-range-number.yaml", ["retry.max_attempts: must be between 1 and 100, not 0"]),
        ("bad-listen-address.yaml", ["server.listen: must be HOST:PORT, such as 127.0.0.1:8080, not \"localhost\""]),
        ("bad-ledger-url.yaml", ["storage.ledger: must be sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE, not \"mysql://root@db/sluice\""]),
        ("bad-counters.yaml", ["storage.counters: must be memory or redis://HOST:PORT/DB, not \"memcached://127.0.0.1:11211\""]),
        ("bad-on-counter-store-failure.yaml", ["storage.on_counter_store_failure: must be one of local, open, closed, not \"fail\""]),
        ("price-four-decimals.yaml", ["models.gpt-4o.price.input_per_mtok: \(priceProblem) \"2.5001\""]),
        ("unknown-fallback.yaml", ["models.gpt-4o.fallbacks[0]: unknown model \"gpt-4o-mini\""]),
        ("preset-unknown-model.yaml", ["presets.dev.models[1]: unknown model \"gpt-4o-mini\""]),
        ("several-problems.yaml", [
            "extra: unknown key (expected one of: limits, models, presets, providers, retry, server, storage)",
            "server.listen: must be HOST:PORT, such as 127.0.0.1:8080, not \"nowhere\"",
            "server.max_body_bytes: must be a whole number, not \"lots\"",
            "storage.counters: must be memory or redis://HOST:PORT/DB, not \"etcd://x\"",
            "models.gpt-4o.deployments[0].provider: unknown provider \"opnai\"",
            "models.gpt-4o.price: missing",
            "models.gpt-4o-mini.price.input_per_mtok: \(priceProblem) \"0.1505\"",
            "presets.dev.colour: unknown key (expected one of: daily_token_cap, max_concurrent, models, policies, rpm, tpm)",
            "presets.dev.models[0]: unknown model \"gpt-5\"",
        ]),
    ])
    func reportsProblem(fixture: String, expected: [String]) {
        #expect(Self.problems(fixture) == expected)
    }

    @Test("a repeated key is refused when the YAML is read, naming the key")
    func duplicateKey() throws {
        let problems = Self.problems("duplicate-key.yaml")
        #expect(problems.count == 1)
        let problem = try #require(problems.first)
        #expect(problem.hasPrefix(Self.path("duplicate-key.yaml") + ": is not valid YAML: "))
        #expect(problem.contains("'gpt-4o'"))
    }

    @Test("broken YAML is one problem naming the file, not a crash")
    func invalidYAML() {
        let problems = Self.problems("invalid-yaml.yaml")
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix(Self.path("invalid-yaml.yaml") + ": is not valid YAML: ") == true)
    }

    @Test("a file that does not exist is one problem naming it")
    func missingFile() {
        #expect(Self.problems("no-such-file.yaml") == ["\(Self.path("no-such-file.yaml")): cannot read the file (does it exist?)"])
    }

    @Test("SPEC §2's example loads with exact prices and defaulted deployments")
    func specExample() throws {
        let config = try ConfigFile.load(path: Self.path("valid-spec.yaml"), environment: [:])
        #expect(config.server.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(config.server.maxBodyBytes == 33_554_432)
        #expect(config.storage.ledger == .sqlite(path: Self.path("sluice.db")))
        #expect(config.storage.counters == .memory)
        #expect(config.providers["openai"] == ProviderConfig(kind: .openai, baseURL: "https://api.openai.com/v1", apiKeyEnv: "OPENAI_API_KEY"))
        #expect(config.providers["local"]?.apiKeyEnv == nil)
        #expect(config.modelNames == ["gpt-4o", "gpt-4o-mini"])
        #expect(config.models["gpt-4o"]?.price == Price(inputPerToken: 2500, outputPerToken: 10_000))
        #expect(config.models["gpt-4o"]?.fallbacks == ["gpt-4o-mini"])
        #expect(config.models["gpt-4o-mini"]?.price == Price(inputPerToken: 150, outputPerToken: 600))
        #expect(config.models["gpt-4o-mini"]?.deployments == [Deployment(provider: "openai", model: "gpt-4o-mini", weight: 1)])
        #expect(config.retry == RetryConfig())
        #expect(config.retry.cooldownAfterFailures == 5 && config.retry.cooldownSeconds == 30)
        #expect(config.limits.maxReservedOutputTokens == 4096)
        #expect(config.presets["dev"] == PresetConfig(rpm: 60, dailyTokenCap: 200_000, models: ["gpt-4o-mini"]))
        #expect(config.presets["prod"] == PresetConfig(rpm: 3000, tpm: 2_000_000, dailyTokenCap: 50_000_000, maxConcurrent: 64,
                                                       policies: ["100000;w=86400;u=cents"]))
    }

    @Test("the example's provider key must be in the environment")
    func specExampleSecrets() throws {
        let config = try ConfigFile.load(path: Self.path("valid-spec.yaml"), environment: [:])
        #expect(try config.providerSecrets(environment: ["OPENAI_API_KEY": "sk-x"]) == ["openai": Secret("sk-x")])
        #expect(throws: ConfigError.self) { try config.providerSecrets(environment: [:]) }
    }

    @Test("a relative sqlite path resolves against the config file's folder")
    func relativeLedger() throws {
        let config = try ConfigFile.load(path: Self.path("relative-ledger.yaml"), environment: [:])
        #expect(config.storage.ledger == .sqlite(path: Self.fixtures.appendingPathComponent("data/ledger.db").path))
    }

    @Test("environment overrides apply on top of the file")
    func overrides() throws {
        let config = try ConfigFile.load(path: Self.path("valid-spec.yaml"),
                                         environment: ["SLUICE_SERVER_LISTEN": "0.0.0.0:9999", "SLUICE_STORAGE_COUNTERS": "redis://r:6379/1"])
        #expect(config.server.listen == ListenAddress(host: "0.0.0.0", port: 9999))
        #expect(config.storage.counters == .redis(url: "redis://r:6379/1"))
        #expect(Self.problems("valid-spec.yaml", environment: ["SLUICE_SERVER_BOGUS": "1"])
            == ["SLUICE_SERVER_BOGUS: unknown setting server.bogus (expected one of: admin_key_env, listen, max_body_bytes)"])
    }

    @Test("without a file every default applies and overrides still work")
    func noFile() throws {
        let config = try ConfigFile.load(path: nil, environment: ["SLUICE_SERVER_LISTEN": "127.0.0.1:7000"])
        #expect(config.server.listen.port == 7000)
        #expect(config.models.isEmpty)
        #expect(config.storage.counters == .memory)
    }

    @Test("YAML scalars keep their text: numbers stay exact, null and empty read as absent", arguments: [
        ("a: 0.075", ConfigValue.map([.init(key: "a", value: .scalar("0.075"))])),
        ("a: 10.00", .map([.init(key: "a", value: .scalar("10.00"))])),
        ("a:", .map([.init(key: "a", value: .null)])),
        ("a: ~", .map([.init(key: "a", value: .null)])),
        ("a: 'null'", .map([.init(key: "a", value: .scalar("null"))])),
        ("a: [1, x]", .map([.init(key: "a", value: .list([.scalar("1"), .scalar("x")]))])),
        ("", .null),
    ])
    func parseScalars(yaml: String, tree: ConfigValue) throws {
        #expect(try ConfigFile.parse(yaml: yaml) == tree)
    }
}
