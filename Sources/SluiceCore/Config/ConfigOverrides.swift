/// `SLUICE_SERVER_<KEY>` and `SLUICE_STORAGE_<KEY>` environment variables override the scalar
/// keys of those two sections (SPEC §1), so containers can be configured without a file edit.
public enum ConfigOverrides {
    static let sections: [(prefix: String, section: String, keys: Set<String>)] = [
        ("SLUICE_SERVER_", "server", ["listen", "admin_key_env", "max_body_bytes"]),
        ("SLUICE_STORAGE_", "storage", ["ledger", "counters", "on_counter_store_failure", "flush_interval_ms", "counter_timeout_ms"]),
    ]

    /// The tree with every override applied, and a problem for each variable that names no key.
    /// A relative `sqlite:` path given in the environment resolves against `workingDirectory`.
    public static func apply(environment: [String: String], to tree: ConfigValue, workingDirectory: String) -> (ConfigValue, [ConfigProblem]) {
        var tree = tree
        var problems: [ConfigProblem] = []
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            guard let section = sections.first(where: { name.hasPrefix($0.prefix) }) else { continue }
            let key = name.dropFirst(section.prefix.count).lowercased()
            guard section.keys.contains(key) else {
                problems.append(ConfigProblem(path: name, message: "unknown setting \(section.section).\(key) (expected one of: \(section.keys.sorted().joined(separator: ", ")))"))
                continue
            }
            var text = value
            if key == "ledger", text.hasPrefix("sqlite:"), case .sqlite(let path)? = LedgerLocation(parsing: text, baseDirectory: workingDirectory) {
                text = "sqlite:" + path
            }
            tree = tree.setting(section: section.section, key: key, to: .scalar(text))
        }
        return (tree, problems)
    }
}

extension SluiceConfig {
    /// Applies environment overrides, then decodes and validates; all problems in one error.
    ///
    /// With `checkingProviderKeys`, a provider key variable that is not set is a problem too,
    /// listed with the others (`serve` needs the keys; the administration commands do not).
    public static func load(tree: ConfigValue, baseDirectory: String, environment: [String: String], workingDirectory: String,
                            checkingProviderKeys: Bool = false) throws(ConfigError) -> SluiceConfig {
        let (overridden, overrideProblems) = ConfigOverrides.apply(environment: environment, to: tree, workingDirectory: workingDirectory)
        let keyProblems = checkingProviderKeys ? missingProviderKeys(in: overridden, environment: environment) : []
        let config: SluiceConfig
        do {
            config = try decode(overridden, baseDirectory: baseDirectory)
        } catch {
            throw ConfigError(problems: overrideProblems + error.problems + keyProblems)
        }
        guard overrideProblems.isEmpty, keyProblems.isEmpty else { throw ConfigError(problems: overrideProblems + keyProblems) }
        return config
    }

    /// A problem for each provider whose `api_key_env` names a variable that is not set, read
    /// from the tree so it is found even when the rest of the file has problems of its own.
    static func missingProviderKeys(in tree: ConfigValue, environment: [String: String]) -> [ConfigProblem] {
        guard case .map(let providers)? = tree["providers"] else { return [] }
        return providers.compactMap { entry in
            guard case .scalar(let variable)? = entry.value["api_key_env"], !variable.isEmpty,
                  (environment[variable] ?? "").isEmpty else { return nil }
            return ConfigProblem(path: "providers.\(entry.key).api_key_env", message: "environment variable \(variable) is not set")
        }
    }

    /// The provider API keys from the environment; a problem for each variable that is not set.
    public func providerSecrets(environment: [String: String]) throws(ConfigError) -> [String: Secret] {
        var secrets: [String: Secret] = [:]
        var problems: [ConfigProblem] = []
        for (name, provider) in providers.sorted(by: { $0.key < $1.key }) {
            guard let variable = provider.apiKeyEnv else { continue }
            guard let value = environment[variable], !value.isEmpty else {
                problems.append(ConfigProblem(path: "providers.\(name).api_key_env", message: "environment variable \(variable) is not set"))
                continue
            }
            secrets[name] = Secret(value)
        }
        guard problems.isEmpty else { throw ConfigError(problems: problems) }
        return secrets
    }
}
