import SluiceCore
import Testing

@Suite("Config environment overrides and secrets")
struct ConfigOverridesTests {
    static let file: ConfigValue = [
        "server": ["listen": "127.0.0.1:8080", "max_body_bytes": 1000],
        "storage": ["ledger": "sqlite:./sluice.db"],
        "providers": [
            "openai": ["base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY"],
            "claude": ["kind": "anthropic", "base_url": "https://api.anthropic.com/v1", "api_key_env": "ANTHROPIC_API_KEY"],
            "local": ["base_url": "http://127.0.0.1:9001/v1"],
        ],
    ]

    func load(_ environment: [String: String], tree: ConfigValue = file) throws(ConfigError) -> SluiceConfig {
        try SluiceConfig.load(tree: tree, baseDirectory: "/etc/sluice", environment: environment, workingDirectory: "/srv/app")
    }

    @Test("SLUICE_SERVER_LISTEN replaces the listen address of the file")
    func listenOverride() throws {
        let config = try load(["SLUICE_SERVER_LISTEN": "0.0.0.0:9000"])
        #expect(config.server.listen == ListenAddress(host: "0.0.0.0", port: 9000))
        #expect(config.server.maxBodyBytes == 1000)
    }

    @Test("an override applies even when the file has no such section")
    func overrideWithoutSection() throws {
        let config = try load(["SLUICE_SERVER_MAX_BODY_BYTES": "2048", "SLUICE_STORAGE_ON_COUNTER_STORE_FAILURE": "open"], tree: .null)
        #expect(config.server.maxBodyBytes == 2048)
        #expect(config.storage.onCounterStoreFailure == .open)
    }

    @Test("SLUICE_STORAGE_LEDGER with a relative sqlite path resolves against the working directory")
    func ledgerOverrideRelativeToWorkingDirectory() throws {
        let config = try load(["SLUICE_STORAGE_LEDGER": "sqlite:./x.db"])
        #expect(config.storage.ledger == .sqlite(path: "/srv/app/x.db"))
    }

    @Test("a relative sqlite path in the file resolves against the config folder")
    func fileLedgerRelativeToConfigFolder() throws {
        let config = try load([:])
        #expect(config.storage.ledger == .sqlite(path: "/etc/sluice/sluice.db"))
    }

    @Test("a postgres ledger override is kept as written")
    func postgresOverride() throws {
        let config = try load(["SLUICE_STORAGE_LEDGER": "postgres://u:p@db/sluice"])
        #expect(config.storage.ledger == .postgres(url: "postgres://u:p@db/sluice"))
    }

    @Test("an override naming no key is a problem, reported with the variable's name")
    func unknownOverride() {
        do {
            _ = try load(["SLUICE_SERVER_BOGUS": "1"])
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.problems == [ConfigProblem(path: "SLUICE_SERVER_BOGUS",
                                                     message: "unknown setting server.bogus (expected one of: admin_key_env, listen, max_body_bytes)")])
        }
    }

    @Test("override problems and file problems are reported together")
    func overrideAndFileProblemsTogether() {
        do {
            _ = try load(["SLUICE_STORAGE_COLOUR": "red", "SLUICE_STORAGE_FLUSH_INTERVAL_MS": "0"], tree: ["server": ["listen": "nowhere"]])
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.problems.map(\.description) == [
                "SLUICE_STORAGE_COLOUR: unknown setting storage.colour (expected one of: counter_timeout_ms, counters, flush_interval_ms, ledger, on_counter_store_failure)",
                "server.listen: must be HOST:PORT, such as 127.0.0.1:8080, not \"nowhere\"",
                "storage.flush_interval_ms: must be between 1 and 60000, not 0",
            ])
        }
    }

    @Test("an override value is validated like the file's own")
    func overrideValueValidated() {
        do {
            _ = try load(["SLUICE_SERVER_LISTEN": "everywhere"])
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.problems.map(\.description) == ["server.listen: must be HOST:PORT, such as 127.0.0.1:8080, not \"everywhere\""])
        }
    }

    @Test("variables outside SLUICE_SERVER_ and SLUICE_STORAGE_ are ignored")
    func unrelatedVariablesIgnored() throws {
        let config = try load(["SLUICE_ADMIN_KEY": "x", "PATH": "/bin", "SLUICE_RETRY_MAX_ATTEMPTS": "9"])
        #expect(config.retry.maxAttempts == 3)
        #expect(config.server.listen.port == 8080)
    }

    @Test("provider secrets are read from the variables named by api_key_env")
    func providerSecretsRead() throws {
        let config = try load([:])
        let secrets = try config.providerSecrets(environment: ["OPENAI_API_KEY": "sk-real", "ANTHROPIC_API_KEY": "sk-ant"])
        #expect(secrets == ["openai": Secret("sk-real"), "claude": Secret("sk-ant")])
        #expect(secrets["openai"]?.value == "sk-real")
        #expect(secrets["local"] == nil)
    }

    @Test("an unset or empty api_key_env variable is a problem at providers.NAME.api_key_env")
    func providerSecretMissing() throws {
        let config = try load([:])
        do {
            _ = try config.providerSecrets(environment: ["ANTHROPIC_API_KEY": ""])
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.problems.map(\.description) == [
                "providers.claude.api_key_env: environment variable ANTHROPIC_API_KEY is not set",
                "providers.openai.api_key_env: environment variable OPENAI_API_KEY is not set",
            ])
        }
    }

    @Test("checking provider keys, an unset variable is listed with the file's other problems, not after they are fixed")
    func providerKeysListedWithOtherProblems() throws {
        let broken = Self.file.setting(section: "server", key: "max_body_bytes", to: "lots")
        do {
            _ = try SluiceConfig.load(tree: broken, baseDirectory: "/etc/sluice", environment: ["ANTHROPIC_API_KEY": "sk-ant"],
                                      workingDirectory: "/srv/app", checkingProviderKeys: true)
            Issue.record("expected a ConfigError")
        } catch {
            let problems = error.problems.map(\.description)
            #expect(problems.contains { $0.hasPrefix("server.max_body_bytes:") }, "\(problems)")
            #expect(problems.contains("providers.openai.api_key_env: environment variable OPENAI_API_KEY is not set"), "\(problems)")
            #expect(!problems.contains { $0.contains("ANTHROPIC_API_KEY") }, "\(problems)")
        }
        // A file without other problems: the unset key alone, and only when asked.
        do {
            _ = try SluiceConfig.load(tree: Self.file, baseDirectory: "/etc/sluice", environment: ["ANTHROPIC_API_KEY": "sk-ant"],
                                      workingDirectory: "/srv/app", checkingProviderKeys: true)
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.problems.map(\.description) == ["providers.openai.api_key_env: environment variable OPENAI_API_KEY is not set"])
        }
        _ = try load([:])
    }

    @Test("a Secret prints as ***** however it is printed")
    func secretRedacted() {
        let secret = Secret("sk-live-123")
        #expect(secret.description == "*****")
        #expect(secret.debugDescription == "*****")
        #expect("\(secret)" == "*****")
        #expect(String(describing: secret) == "*****")
        #expect(String(reflecting: secret) == "*****")
        #expect(!"\([secret])".contains("sk-live"))
        #expect(!"\(["openai": secret])".contains("sk-live"))
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("sk-live"))
    }
}
