import SluiceCore
import Testing

@Suite("Config decoding")
struct ConfigDecodingTests {
    /// SPEC §2's example, with every scalar moved off its default so a decoder that ignored a
    /// key would be caught.
    static let full: ConfigValue = [
        "server": ["listen": "0.0.0.0:9090", "admin_key_env": "MY_ADMIN_KEY", "max_body_bytes": "1_048_576"],
        "storage": [
            "ledger": "sqlite:./sluice.db", "counters": "redis://127.0.0.1:6379/0",
            "on_counter_store_failure": "closed", "flush_interval_ms": 500,
        ],
        "providers": [
            "openai": ["kind": "openai", "base_url": "https://api.openai.com/v1/", "api_key_env": "OPENAI_API_KEY"],
            "local": ["kind": "openai", "base_url": "http://127.0.0.1:9001/v1"],
            "claude": ["kind": "anthropic", "base_url": "https://api.anthropic.com/v1", "api_key_env": "ANTHROPIC_API_KEY"],
        ],
        "models": [
            "gpt-4o": [
                "deployments": [["provider": "openai", "model": "gpt-4o-2024-08-06", "weight": 3], ["provider": "local"]],
                "price": ["input_per_mtok": "2.50", "output_per_mtok": "10.00"],
                "fallbacks": ["gpt-4o-mini"],
            ],
            "gpt-4o-mini": [
                "deployments": [["provider": "openai"]],
                "price": ["input_per_mtok": "0.15", "output_per_mtok": "0.60"],
            ],
        ],
        "retry": [
            "max_attempts": 4, "base_delay_ms": 100, "max_delay_ms": 2000, "max_retry_after_s": 10,
            "attempt_timeout_s": 120, "idle_timeout_s": 15, "cooldown": ["after_failures": 7, "seconds": 45],
        ],
        "limits": ["default_output_tokens": 512, "max_reserved_output_tokens": 2048],
        "presets": [
            "dev": ["rpm": 60, "daily_token_cap": 200000, "models": ["gpt-4o-mini"]],
            "prod": [
                "rpm": 3000, "tpm": 2000000, "daily_token_cap": 50000000, "max_concurrent": 64,
                "policies": ["100000;w=86400;u=cents"],
            ],
        ],
    ]

    @Test("a full configuration decodes every section to the values written")
    func fullConfiguration() throws {
        let config = try SluiceConfig.decode(Self.full, baseDirectory: "/etc/sluice")

        #expect(config.server.listen == ListenAddress(host: "0.0.0.0", port: 9090))
        #expect(config.server.adminKeyEnv == "MY_ADMIN_KEY")
        #expect(config.server.maxBodyBytes == 1_048_576)

        #expect(config.storage.ledger == .sqlite(path: "/etc/sluice/sluice.db"))
        #expect(config.storage.counters == .redis(url: "redis://127.0.0.1:6379/0"))
        #expect(config.storage.onCounterStoreFailure == .closed)
        #expect(config.storage.flushIntervalMs == 500)

        #expect(config.providers["openai"] == ProviderConfig(kind: .openai, baseURL: "https://api.openai.com/v1", apiKeyEnv: "OPENAI_API_KEY"))
        #expect(config.providers["local"] == ProviderConfig(kind: .openai, baseURL: "http://127.0.0.1:9001/v1"))
        #expect(config.providers["claude"]?.kind == .anthropic)

        #expect(config.modelNames == ["gpt-4o", "gpt-4o-mini"])
        #expect(config.models["gpt-4o"] == ModelConfig(
            deployments: [Deployment(provider: "openai", model: "gpt-4o-2024-08-06", weight: 3), Deployment(provider: "local", model: "gpt-4o", weight: 1)],
            price: Price(inputPerToken: 2500, outputPerToken: 10000),
            fallbacks: ["gpt-4o-mini"]))
        #expect(config.models["gpt-4o-mini"] == ModelConfig(
            deployments: [Deployment(provider: "openai", model: "gpt-4o-mini", weight: 1)],
            price: Price(inputPerToken: 150, outputPerToken: 600)))

        var retry = RetryConfig()
        retry.maxAttempts = 4
        retry.baseDelayMs = 100
        retry.maxDelayMs = 2000
        retry.maxRetryAfterSeconds = 10
        retry.attemptTimeoutSeconds = 120
        retry.idleTimeoutSeconds = 15
        retry.cooldownAfterFailures = 7
        retry.cooldownSeconds = 45
        #expect(config.retry == retry)

        #expect(config.limits.defaultOutputTokens == 512)
        #expect(config.limits.maxReservedOutputTokens == 2048)

        #expect(config.presets["dev"] == PresetConfig(rpm: 60, dailyTokenCap: 200_000, models: ["gpt-4o-mini"]))
        #expect(config.presets["prod"] == PresetConfig(rpm: 3000, tpm: 2_000_000, dailyTokenCap: 50_000_000, maxConcurrent: 64,
                                                       policies: ["100000;w=86400;u=cents"]))
        #expect(config.presets["dev"]?.allows("gpt-4o-mini") == true)
        #expect(config.presets["dev"]?.allows("gpt-4o") == false)
        #expect(config.presets["prod"]?.allows("gpt-4o") == true)
    }

    @Test("no file at all gives every default of SPEC §2")
    func emptyTreeDefaults() throws {
        let config = try SluiceConfig.decode(.null, baseDirectory: "/etc/sluice")
        #expect(config.server == ServerConfig())
        #expect(config.server.listen.description == "127.0.0.1:8080")
        #expect(config.server.adminKeyEnv == "SLUICE_ADMIN_KEY")
        #expect(config.server.maxBodyBytes == 33_554_432)
        #expect(config.storage.ledger == .sqlite(path: "./sluice.db"))
        #expect(config.storage.counters == .memory)
        #expect(config.storage.onCounterStoreFailure == .local)
        #expect(config.storage.flushIntervalMs == 200)
        #expect(config.providers.isEmpty && config.models.isEmpty && config.modelNames.isEmpty && config.presets.isEmpty)
        #expect(config.retry == RetryConfig())
        #expect([config.retry.maxAttempts, config.retry.baseDelayMs, config.retry.maxDelayMs, config.retry.maxRetryAfterSeconds,
                 config.retry.attemptTimeoutSeconds, config.retry.idleTimeoutSeconds, config.retry.cooldownAfterFailures,
                 config.retry.cooldownSeconds] == [3, 250, 8000, 30, 600, 60, 5, 30])
        #expect(config.limits.defaultOutputTokens == 256)
        #expect(config.limits.maxReservedOutputTokens == 4096)
    }

    @Test("absent sections keep their defaults while present ones are read")
    func partialSections() throws {
        let tree: ConfigValue = ["server": ["listen": "[::1]:8443"], "limits": ["default_output_tokens": 100]]
        let config = try SluiceConfig.decode(tree, baseDirectory: "/")
        #expect(config.server.listen == ListenAddress(host: "::1", port: 8443))
        #expect(config.server.listen.description == "[::1]:8443")
        #expect(config.server.maxBodyBytes == 33_554_432)
        #expect(config.storage == StorageConfig())
        #expect(config.limits.defaultOutputTokens == 100)
        #expect(config.limits.maxReservedOutputTokens == 4096)
    }

    @Test("a preset without models allows every model; an empty list allows none")
    func presetModelAllowList() throws {
        let tree: ConfigValue = [
            "providers": minimalProviders, "models": ["m": model()],
            "presets": ["open": ["rpm": 1], "shut": ["models": []]],
        ]
        let config = try SluiceConfig.decode(tree, baseDirectory: "/")
        #expect(config.presets["open"]?.models == nil)
        #expect(config.presets["open"]?.allows("m") == true)
        #expect(config.presets["shut"]?.models == [])
        #expect(config.presets["shut"]?.allows("m") == false)
    }

    @Test("provider kind defaults to openai and trailing slashes leave base_url")
    func providerDefaults() throws {
        let tree: ConfigValue = ["providers": ["p": ["base_url": "http://h:1/v1//", "api_version": "2024-06-01", "deployment": "d1"]]]
        let config = try SluiceConfig.decode(tree, baseDirectory: "/")
        #expect(config.providers["p"] == ProviderConfig(kind: .openai, baseURL: "http://h:1/v1", apiVersion: "2024-06-01", deployment: "d1"))
    }

    @Test("ledger locations: relative sqlite paths resolve against the config folder", arguments: [
        ("sqlite:./sluice.db", "/etc/sluice", LedgerLocation.sqlite(path: "/etc/sluice/sluice.db")),
        ("sqlite:data/ledger.db", "/etc/sluice/", .sqlite(path: "/etc/sluice/data/ledger.db")),
        ("sqlite:/var/lib/sluice.db", "/etc/sluice", .sqlite(path: "/var/lib/sluice.db")),
        ("sqlite:///var/lib/sluice.db", "/etc/sluice", .sqlite(path: "/var/lib/sluice.db")),
        ("sqlite::memory:", "/etc/sluice", .sqlite(path: ":memory:")),
        ("postgres://u:p@db:5432/sluice", "/etc/sluice", .postgres(url: "postgres://u:p@db:5432/sluice")),
        ("postgresql://db/sluice", "/etc/sluice", .postgres(url: "postgresql://db/sluice")),
    ])
    func ledgerLocations(text: String, base: String, expected: LedgerLocation) throws {
        let config = try SluiceConfig.decode(["storage": ["ledger": .scalar(text)]], baseDirectory: base)
        #expect(config.storage.ledger == expected)
    }

    @Test("a postgres ledger never prints its password")
    func ledgerDescriptionRedactsPassword() {
        #expect(LedgerLocation.postgres(url: "postgres://sluice:hunter2@db:5432/x").description == "postgres://sluice:*****@db:5432/x")
        #expect(LedgerLocation.postgres(url: "postgres://db:5432/x").description == "postgres://db:5432/x")
        #expect(LedgerLocation.sqlite(path: "/a/b.db").description == "sqlite:/a/b.db")
    }

    @Test("listen addresses parse HOST:PORT and bracketed IPv6", arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080), ("0.0.0.0:0", "0.0.0.0", 0), ("localhost:65535", "localhost", 65535), ("[::]:80", "::", 80),
    ])
    func listenAddresses(text: String, host: String, port: Int) {
        #expect(ListenAddress(parsing: text) == ListenAddress(host: host, port: port))
    }

    @Test("listen addresses without a host or a valid port are refused", arguments: ["8080", ":8080", "localhost", "host:65536", "host:-1", "host:http", "[]:80"])
    func badListenAddresses(text: String) {
        #expect(ListenAddress(parsing: text) == nil)
    }
}
