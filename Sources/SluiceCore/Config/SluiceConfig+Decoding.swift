extension SluiceConfig {
    /// Decodes and validates a configuration tree, reporting every problem at once.
    ///
    /// - Parameters:
    ///   - tree: the parsed file (or `.null` for none).
    ///   - baseDirectory: folder of the config file; relative paths in it resolve against it.
    public static func decode(_ tree: ConfigValue, baseDirectory: String) throws(ConfigError) -> SluiceConfig {
        let problems = ConfigProblems()
        let root = ConfigReader(tree, problems: problems)
        var config = SluiceConfig()
        let sections = Dictionary(uniqueKeysWithValues: root.mapping(allowed: ["server", "storage", "providers", "models", "retry", "limits", "presets"]))
        if let server = sections["server"] { config.server = decodeServer(server) }
        if let storage = sections["storage"] { config.storage = decodeStorage(storage, baseDirectory: baseDirectory) }
        for (name, provider) in sections["providers"]?.mapping() ?? [] {
            if let decoded = decodeProvider(provider) { config.providers[name] = decoded }
        }
        var declaredFallbacks: [String: [String]] = [:]
        for (name, model) in sections["models"]?.mapping() ?? [] {
            config.modelNames.append(name)
            // Kept apart from the decoded model so a model with other problems still has its
            // fallbacks checked (its own reader reports any malformed entry).
            declaredFallbacks[name] = ConfigReader(model["fallbacks"].value, problems: ConfigProblems()).strings()
            if let decoded = decodeModel(name: name, model, providers: config.providers, allProviderNames: Set(sections["providers"]?.value.mapKeys ?? [])) {
                config.models[name] = decoded
            }
        }
        if let retry = sections["retry"] { config.retry = decodeRetry(retry) }
        if let limits = sections["limits"] { config.limits = decodeLimits(limits) }
        for (name, preset) in sections["presets"]?.mapping() ?? [] {
            config.presets[name] = decodePreset(preset, modelNames: Set(config.modelNames))
        }
        // Fallbacks may name models defined later in the file, so they are checked last.
        for name in config.modelNames {
            for (index, fallback) in (declaredFallbacks[name] ?? []).enumerated() where fallback == name || !config.modelNames.contains(fallback) {
                problems.add("models.\(name).fallbacks[\(index)]", fallback == name ? "a model cannot fall back to itself" : "unknown model \"\(fallback)\"")
            }
        }
        guard problems.all.isEmpty else { throw ConfigError(problems: problems.all) }
        return config
    }

    static func decodeServer(_ reader: ConfigReader) -> ServerConfig {
        var server = ServerConfig()
        _ = reader.mapping(allowed: ["listen", "admin_key_env", "max_body_bytes"])
        if let listen = reader["listen"].string() {
            if let address = ListenAddress(parsing: listen) { server.listen = address } else { reader["listen"].report("must be HOST:PORT, such as 127.0.0.1:8080, not \"\(listen)\"") }
        }
        if let env = reader["admin_key_env"].string() { server.adminKeyEnv = env }
        if let bytes = reader["max_body_bytes"].integer(in: 1...Int(Int32.max)) { server.maxBodyBytes = bytes }
        return server
    }

    static func decodeStorage(_ reader: ConfigReader, baseDirectory: String) -> StorageConfig {
        var storage = StorageConfig()
        _ = reader.mapping(allowed: ["ledger", "counters", "on_counter_store_failure", "flush_interval_ms", "counter_timeout_ms"])
        if let ledger = reader["ledger"].string() {
            if let location = LedgerLocation(parsing: ledger, baseDirectory: baseDirectory) { storage.ledger = location } else {
                reader["ledger"].report("must be sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE, not \"\(ledger)\"")
            }
        }
        if let counters = reader["counters"].string() {
            if counters == "memory" { storage.counters = .memory } else if counters.hasPrefix("redis://") || counters.hasPrefix("rediss://") {
                storage.counters = .redis(url: counters)
            } else {
                reader["counters"].report("must be memory or redis://HOST:PORT/DB, not \"\(counters)\"")
            }
        }
        if let mode = reader["on_counter_store_failure"].choice(CounterStoreFailureMode.self) { storage.onCounterStoreFailure = mode }
        if let interval = reader["flush_interval_ms"].integer(in: 1...60_000) { storage.flushIntervalMs = interval }
        if let timeout = reader["counter_timeout_ms"].integer(in: 1...10_000) { storage.counterTimeoutMs = timeout }
        return storage
    }

    static func decodeProvider(_ reader: ConfigReader) -> ProviderConfig? {
        _ = reader.mapping(allowed: ["kind", "base_url", "api_key_env", "api_version", "deployment"])
        let kind = reader["kind"].isMissing ? .openai : reader["kind"].choice(ProviderConfig.Kind.self)
        let baseURL = reader["base_url"].string(required: true)
        if let baseURL, !(baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://")) {
            reader["base_url"].report("must start with http:// or https://, not \"\(baseURL)\"")
            return nil
        }
        let apiKeyEnv = reader["api_key_env"].string()
        let apiVersion = reader["api_version"].string()
        let deployment = reader["deployment"].string()
        guard let kind, var baseURL else { return nil }
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        return ProviderConfig(kind: kind, baseURL: baseURL, apiKeyEnv: apiKeyEnv, apiVersion: apiVersion, deployment: deployment)
    }

    static func decodeModel(name: String, _ reader: ConfigReader, providers: [String: ProviderConfig], allProviderNames: Set<String>) -> ModelConfig? {
        _ = reader.mapping(allowed: ["deployments", "price", "fallbacks"])
        var deployments: [Deployment] = []
        let deploymentReaders = reader["deployments"].list()
        if deploymentReaders.isEmpty, !reader["deployments"].isMissing || reader.value != nil {
            reader["deployments"].report(reader["deployments"].isMissing ? "missing" : "must list at least one deployment")
        }
        for deploymentReader in deploymentReaders {
            _ = deploymentReader.mapping(allowed: ["provider", "model", "weight"])
            let provider = deploymentReader["provider"].string(required: true)
            if let provider, !allProviderNames.contains(provider) {
                deploymentReader["provider"].report("unknown provider \"\(provider)\"")
            }
            let model = deploymentReader["model"].string() ?? name
            let weight = deploymentReader["weight"].isMissing ? 1 : deploymentReader["weight"].integer(in: 1...1_000_000)
            if let provider, let weight { deployments.append(Deployment(provider: provider, model: model, weight: weight)) }
        }
        let price = decodePrice(reader["price"])
        let fallbacks = reader["fallbacks"].strings()
        guard let price, !deployments.isEmpty, deployments.count == deploymentReaders.count else { return nil }
        return ModelConfig(deployments: deployments, price: price, fallbacks: fallbacks)
    }

    static func decodePrice(_ reader: ConfigReader) -> Price? {
        guard !reader.isMissing else {
            reader.report("missing")
            return nil
        }
        _ = reader.mapping(allowed: ["input_per_mtok", "output_per_mtok"])
        func perToken(_ key: String) -> Int64? {
            guard let text = reader[key].text(required: true) else { return nil }
            guard let value = Price.perToken(fromPerMillion: text) else {
                reader[key].report("must be a price in USD per million tokens with at most 3 decimals, such as 2.50, not \"\(text)\"")
                return nil
            }
            return value
        }
        let input = perToken("input_per_mtok")
        let output = perToken("output_per_mtok")
        guard let input, let output else { return nil }
        return Price(inputPerToken: input, outputPerToken: output)
    }

    static func decodeRetry(_ reader: ConfigReader) -> RetryConfig {
        var retry = RetryConfig()
        _ = reader.mapping(allowed: ["max_attempts", "base_delay_ms", "max_delay_ms", "max_retry_after_s", "attempt_timeout_s", "idle_timeout_s", "cooldown"])
        if let value = reader["max_attempts"].integer(in: 1...100) { retry.maxAttempts = value }
        if let value = reader["base_delay_ms"].integer(in: 0...3_600_000) { retry.baseDelayMs = value }
        if let value = reader["max_delay_ms"].integer(in: 0...3_600_000) { retry.maxDelayMs = value }
        if let value = reader["max_retry_after_s"].integer(in: 0...86_400) { retry.maxRetryAfterSeconds = value }
        if let value = reader["attempt_timeout_s"].integer(in: 1...86_400) { retry.attemptTimeoutSeconds = value }
        if let value = reader["idle_timeout_s"].integer(in: 1...86_400) { retry.idleTimeoutSeconds = value }
        let cooldown = reader["cooldown"]
        _ = cooldown.mapping(allowed: ["after_failures", "seconds"])
        if let value = cooldown["after_failures"].integer(in: 1...1_000_000) { retry.cooldownAfterFailures = value }
        if let value = cooldown["seconds"].integer(in: 1...86_400) { retry.cooldownSeconds = value }
        if retry.baseDelayMs > retry.maxDelayMs { reader["base_delay_ms"].report("must not be larger than max_delay_ms (\(retry.maxDelayMs))") }
        return retry
    }

    static func decodeLimits(_ reader: ConfigReader) -> LimitsConfig {
        var limits = LimitsConfig()
        _ = reader.mapping(allowed: ["default_output_tokens", "max_reserved_output_tokens"])
        if let value = reader["default_output_tokens"].integer(in: 0...10_000_000) { limits.defaultOutputTokens = value }
        if let value = reader["max_reserved_output_tokens"].integer(in: 0...10_000_000) { limits.maxReservedOutputTokens = value }
        return limits
    }

    static func decodePreset(_ reader: ConfigReader, modelNames: Set<String>) -> PresetConfig {
        var preset = PresetConfig()
        _ = reader.mapping(allowed: ["rpm", "tpm", "daily_token_cap", "max_concurrent", "models", "policies"])
        preset.rpm = reader["rpm"].integer(in: 1...Int(Int32.max))
        preset.tpm = reader["tpm"].integer(in: 1...Int.max / 4)
        preset.dailyTokenCap = reader["daily_token_cap"].integer(in: 1...Int.max / 4)
        preset.maxConcurrent = reader["max_concurrent"].integer(in: 1...1_000_000)
        if !reader["models"].isMissing {
            let models = reader["models"].list()
            preset.models = models.compactMap { item in
                guard let name = item.string(required: true) else { return nil }
                if !modelNames.contains(name) { item.report("unknown model \"\(name)\"") }
                return name
            }
        }
        let policyReaders = reader["policies"].list()
        preset.policies = policyReaders.compactMap { item -> String? in
            guard let text = item.string(required: true) else { return nil }
            do {
                _ = try PolicyParser.parseList(text)
            } catch {
                item.report(String(describing: error))
            }
            return text
        }
        return preset
    }
}

extension LedgerLocation {
    /// Parses `sqlite:PATH` (relative to `baseDirectory`) or a `postgres://` URL.
    public init?(parsing text: String, baseDirectory: String) {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard !path.isEmpty else { return nil }
            if path != ":memory:", !path.hasPrefix("/") {
                let trimmed = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
                path = baseDirectory.hasSuffix("/") ? baseDirectory + trimmed : baseDirectory + "/" + trimmed
            }
            self = .sqlite(path: path)
        } else {
            return nil
        }
    }
}

extension ConfigValue {
    var mapKeys: [String] {
        guard case .map(let entries) = self else { return [] }
        return entries.map(\.key)
    }
}

extension Optional where Wrapped == ConfigValue {
    var mapKeys: [String] { self?.mapKeys ?? [] }
}
