import SluiceCore
import Testing

/// One case per kind of configuration mistake, each with the exact `path: message` the user sees.
@Suite("Config validation")
struct ConfigValidationTests {
    static func withModels(_ models: ConfigValue, presets: ConfigValue = .null) -> ConfigValue {
        ["providers": minimalProviders, "models": models, "presets": presets]
    }

    static let cases: [(name: String, tree: ConfigValue, problems: [String])] = [
        ("unknown top-level key", ["server": ["listen": "127.0.0.1:1"], "servers": ["listen": "x"]],
         ["servers: unknown key (expected one of: limits, models, presets, providers, retry, server, storage)"]),
        ("unknown nested key", ["server": ["port": 8080]],
         ["server.port: unknown key (expected one of: admin_key_env, listen, max_body_bytes)"]),
        ("unknown key in a deployment", withModels(["gpt-4o": ["deployments": [["provider": "openai", "region": "eu"]], "price": ["input_per_mtok": "1", "output_per_mtok": "1"]]]),
         ["models.gpt-4o.deployments[0].region: unknown key (expected one of: model, provider, weight)"]),
        ("missing price", withModels(["gpt-4o": ["deployments": [["provider": "openai"]]]]),
         ["models.gpt-4o.price: missing"]),
        ("missing half of a price", withModels(["gpt-4o": ["deployments": [["provider": "openai"]], "price": ["input_per_mtok": "1"]]]),
         ["models.gpt-4o.price.output_per_mtok: missing"]),
        ("missing deployments", withModels(["gpt-4o": ["price": ["input_per_mtok": "1", "output_per_mtok": "1"]]]),
         ["models.gpt-4o.deployments: missing"]),
        ("empty deployments", withModels(["gpt-4o": ["deployments": [], "price": ["input_per_mtok": "1", "output_per_mtok": "1"]]]),
         ["models.gpt-4o.deployments: must list at least one deployment"]),
        ("unknown provider", withModels(["gpt-4o": model(provider: "opnai")]),
         ["models.gpt-4o.deployments[0].provider: unknown provider \"opnai\""]),
        ("bad number", ["server": ["max_body_bytes": "lots"]],
         ["server.max_body_bytes: must be a whole number, not \"lots\""]),
        ("fractional number", ["retry": ["max_attempts": "2.5"]],
         ["retry.max_attempts: must be a whole number, not \"2.5\""]),
        ("out-of-range number", ["retry": ["max_attempts": 0]],
         ["retry.max_attempts: must be between 1 and 100, not 0"]),
        ("out-of-range deployment weight", withModels(["m": ["deployments": [["provider": "openai", "weight": 0]], "price": ["input_per_mtok": "1", "output_per_mtok": "1"]]]),
         ["models.m.deployments[0].weight: must be between 1 and 1000000, not 0"]),
        ("backoff base above its cap", ["retry": ["base_delay_ms": 500, "max_delay_ms": 100]],
         ["retry.base_delay_ms: must not be larger than max_delay_ms (100)"]),
        ("bad listen address", ["server": ["listen": "localhost"]],
         ["server.listen: must be HOST:PORT, such as 127.0.0.1:8080, not \"localhost\""]),
        ("bad ledger URL", ["storage": ["ledger": "mysql://db/sluice"]],
         ["storage.ledger: must be sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE, not \"mysql://db/sluice\""]),
        ("sqlite ledger without a path", ["storage": ["ledger": "sqlite:"]],
         ["storage.ledger: must be sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE, not \"sqlite:\""]),
        ("bad counters", ["storage": ["counters": "memcached://x"]],
         ["storage.counters: must be memory or redis://HOST:PORT/DB, not \"memcached://x\""]),
        ("bad on_counter_store_failure", ["storage": ["on_counter_store_failure": "fail"]],
         ["storage.on_counter_store_failure: must be one of local, open, closed, not \"fail\""]),
        ("bad provider kind", ["providers": ["p": ["kind": "bedrock", "base_url": "https://x"]]],
         ["providers.p.kind: must be one of openai, anthropic, not \"bedrock\""]),
        ("provider without base_url", ["providers": ["p": ["kind": "openai"]]],
         ["providers.p.base_url: missing"]),
        ("provider base_url without a scheme", ["providers": ["p": ["base_url": "api.openai.com/v1"]]],
         ["providers.p.base_url: must start with http:// or https://, not \"api.openai.com/v1\""]),
        ("price with 4 decimals", withModels(["gpt-4o": model(input: "2.5001")]),
         ["models.gpt-4o.price.input_per_mtok: must be a price in USD per million tokens with at most 3 decimals, such as 2.50, not \"2.5001\""]),
        ("negative price", withModels(["gpt-4o": model(output: "-1")]),
         ["models.gpt-4o.price.output_per_mtok: must be a price in USD per million tokens with at most 3 decimals, such as 2.50, not \"-1\""]),
        ("fallback to unknown model", withModels(["gpt-4o": model(fallbacks: ["gpt-5o"])]),
         ["models.gpt-4o.fallbacks[0]: unknown model \"gpt-5o\""]),
        ("fallback to itself", withModels(["a": model(), "b": model(fallbacks: ["a", "b"])]),
         ["models.b.fallbacks[1]: a model cannot fall back to itself"]),
        ("preset with unknown model", withModels(["gpt-4o": model()], presets: ["dev": ["models": ["gpt-4o", "gpt-4"]]]),
         ["presets.dev.models[1]: unknown model \"gpt-4\""]),
        ("preset with out-of-range rpm", ["presets": ["dev": ["rpm": 0]]],
         ["presets.dev.rpm: must be between 1 and 2147483647, not 0"]),
        ("duplicate key", withModels(["gpt-4o": model(), "gpt-4o": model()]),
         ["models.gpt-4o: appears more than once"]),
        ("duplicate top-level section", ["server": ["listen": "127.0.0.1:1"], "server": ["listen": "127.0.0.1:2"]],
         ["server: appears more than once"]),
        ("list where a mapping belongs", ["server": ["127.0.0.1:8080"]],
         ["server: must be a mapping of keys to values"]),
        ("mapping where a scalar belongs", ["server": ["listen": ["host": "x"]]],
         ["server.listen: must be a single value, not a list or mapping"]),
        ("scalar where a list belongs", withModels(["gpt-4o": model(), "b": ["deployments": [["provider": "openai"]], "price": ["input_per_mtok": "1", "output_per_mtok": "1"], "fallbacks": "gpt-4o"]]),
         ["models.b.fallbacks: must be a list"]),
        ("empty string", ["server": ["admin_key_env": ""]],
         ["server.admin_key_env: must not be empty"]),
    ]

    @Test("each kind of mistake is reported at its path with its message", arguments: cases)
    func reportsProblem(name: String, tree: ConfigValue, problems: [String]) {
        #expect(decodeProblems(tree) == problems, "\(name)")
    }

    @Test("several problems are reported together, in file order, in one error")
    func severalProblemsAtOnce() throws {
        let tree: ConfigValue = [
            "server": ["listen": "nowhere", "max_body_bytes": "big"],
            "storage": ["counters": "etcd://x"],
            "providers": minimalProviders,
            "models": [
                "gpt-4o": ["deployments": [["provider": "opnai"]], "fallbacks": ["gpt-4o-mini"]],
                "gpt-4o-mini": model(input: "0.1505", fallbacks: ["nope"]),
                "ok": model(fallbacks: ["missing"]),
            ],
            "presets": ["dev": ["models": ["gpt-5"], "colour": "blue"]],
            "extra": "x",
        ]
        let error = try #require(throws: ConfigError.self) { try SluiceConfig.decode(tree, baseDirectory: "/") }
        #expect(error.problems.map(\.description) == [
            "extra: unknown key (expected one of: limits, models, presets, providers, retry, server, storage)",
            "server.listen: must be HOST:PORT, such as 127.0.0.1:8080, not \"nowhere\"",
            "server.max_body_bytes: must be a whole number, not \"big\"",
            "storage.counters: must be memory or redis://HOST:PORT/DB, not \"etcd://x\"",
            "models.gpt-4o.deployments[0].provider: unknown provider \"opnai\"",
            "models.gpt-4o.price: missing",
            "models.gpt-4o-mini.price.input_per_mtok: must be a price in USD per million tokens with at most 3 decimals, such as 2.50, not \"0.1505\"",
            "presets.dev.colour: unknown key (expected one of: daily_token_cap, max_concurrent, models, policies, rpm, tpm)",
            "presets.dev.models[0]: unknown model \"gpt-5\"",
            "models.gpt-4o-mini.fallbacks[0]: unknown model \"nope\"",
            "models.ok.fallbacks[0]: unknown model \"missing\"",
        ])
        #expect(error.problems.first?.path == "extra")
        #expect(error.description.hasPrefix("invalid configuration (11 problems):\n  extra: unknown key"))
        #expect(error.description.split(separator: "\n").count == 12)
    }

    @Test("fallbacks are checked even on a model that has other problems")
    func fallbacksOfBrokenModelChecked() {
        let tree = Self.withModels(["a": ["deployments": [["provider": "openai"]], "fallbacks": ["zzz"]]])
        #expect(decodeProblems(tree) == ["models.a.price: missing", "models.a.fallbacks[0]: unknown model \"zzz\""])
    }

    @Test("a scalar where deployments should be a list is reported at that path")
    func deploymentsNotAList() {
        let tree = Self.withModels(["m": ["deployments": "openai", "price": ["input_per_mtok": "1", "output_per_mtok": "1"]]])
        #expect(decodeProblems(tree).first == "models.m.deployments: must be a list")
    }

    @Test("a provider that fails to decode is still known to the models that use it")
    func brokenProviderDoesNotCascade() {
        let tree: ConfigValue = ["providers": ["p": ["kind": "openai"]], "models": ["m": model(provider: "p")]]
        #expect(decodeProblems(tree) == ["providers.p.base_url: missing"])
    }

    @Test("a fallback may name a model defined later in the file")
    func fallbackToLaterModel() throws {
        let tree = Self.withModels(["a": model(fallbacks: ["b"]), "b": model()])
        let config = try SluiceConfig.decode(tree, baseDirectory: "/")
        #expect(config.models["a"]?.fallbacks == ["b"])
    }

    @Test("one problem reads as a single-problem error")
    func singleProblemDescription() {
        let error = ConfigError(problems: [ConfigProblem(path: "models.gpt-4o.price", message: "missing")])
        #expect(error.description == "invalid configuration (1 problem):\n  models.gpt-4o.price: missing")
        #expect(ConfigProblem(path: "", message: "must be a mapping of keys to values").description == "must be a mapping of keys to values")
    }

    @Test("a document that is not a mapping is one problem at the root")
    func rootNotMapping() {
        #expect(decodeProblems("just text") == ["must be a mapping of keys to values"])
    }
}
