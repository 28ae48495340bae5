/// The whole configuration of a Sluice instance (SPEC §2), validated.
public struct SluiceConfig: Sendable {
    public var server: ServerConfig
    public var storage: StorageConfig
    /// Providers by name, in file order.
    public var providers: [String: ProviderConfig]
    /// Models by name, in file order in `modelNames`.
    public var models: [String: ModelConfig]
    public var modelNames: [String]
    public var retry: RetryConfig
    public var limits: LimitsConfig
    /// Key presets by name.
    public var presets: [String: PresetConfig]

    public init(server: ServerConfig = .init(), storage: StorageConfig = .init(), providers: [String: ProviderConfig] = [:],
                models: [String: ModelConfig] = [:], modelNames: [String] = [], retry: RetryConfig = .init(),
                limits: LimitsConfig = .init(), presets: [String: PresetConfig] = [:]) {
        self.server = server
        self.storage = storage
        self.providers = providers
        self.models = models
        self.modelNames = modelNames
        self.retry = retry
        self.limits = limits
        self.presets = presets
    }
}

/// `server:` — where to listen and how big a request may be.
public struct ServerConfig: Sendable, Equatable {
    public var listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 8080)
    /// Name of the environment variable that holds the admin bearer key.
    public var adminKeyEnv: String = "SLUICE_ADMIN_KEY"
    public var maxBodyBytes: Int = 33_554_432
    public init() {}
}

/// A `HOST:PORT` pair (`[::1]:8080` for IPv6).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; nil when it is not of that form or the port is out of range.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `storage:` — the ledger, the counters, and how late usage rows may be written.
public struct StorageConfig: Sendable, Equatable {
    public var ledger: LedgerLocation = .sqlite(path: "./sluice.db")
    public var counters: CounterStoreLocation = .memory
    public var onCounterStoreFailure: CounterStoreFailureMode = .local
    public var flushIntervalMs: Int = 200
    /// How long a Redis counter call may take before it counts as a failure (SPEC §7: a hung
    /// Redis must not stall requests for long).
    public var counterTimeoutMs: Int = 250
    public init() {}
}

/// Where accounts, keys and usage rows live.
public enum LedgerLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url): Self.redactingPassword(url)
        }
    }

    /// The URL with any password replaced by `*****`, for logs.
    static func redactingPassword(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://")?.upperBound,
              let at = url[schemeEnd...].firstIndex(of: "@"),
              let colon = url[schemeEnd..<at].firstIndex(of: ":") else { return url }
        return String(url[...colon]) + "*****" + String(url[at...])
    }
}

/// Where rate-limit counters live.
public enum CounterStoreLocation: Sendable, Equatable {
    case memory
    case redis(url: String)
}

/// What to do when the counter store cannot be reached (SPEC §7).
public enum CounterStoreFailureMode: String, Sendable, CaseIterable {
    case local, open, closed
}

/// One provider: an OpenAI-compatible (or Anthropic) API endpoint and its credentials.
public struct ProviderConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case openai, anthropic }
    public var kind: Kind
    /// Base URL including the version path, e.g. `https://api.openai.com/v1`, no trailing slash.
    public var baseURL: String
    /// Environment variable holding the provider's API key; nil for keyless local servers.
    public var apiKeyEnv: String?
    /// Azure OpenAI: the `api-version` query parameter.
    public var apiVersion: String?
    /// Azure OpenAI: the deployment name in the URL path.
    public var deployment: String?

    public init(kind: Kind = .openai, baseURL: String, apiKeyEnv: String? = nil, apiVersion: String? = nil, deployment: String? = nil) {
        self.kind = kind
        self.baseURL = baseURL
        self.apiKeyEnv = apiKeyEnv
        self.apiVersion = apiVersion
        self.deployment = deployment
    }
}

/// A model clients can ask for: where it is served, what it costs, what to try next.
public struct ModelConfig: Sendable, Equatable {
    public var deployments: [Deployment]
    public var price: Price
    public var fallbacks: [String]

    public init(deployments: [Deployment], price: Price, fallbacks: [String] = []) {
        self.deployments = deployments
        self.price = price
        self.fallbacks = fallbacks
    }
}

/// One place a model is served: a provider and the model name there.
public struct Deployment: Sendable, Equatable {
    public var provider: String
    /// The model name the provider knows; defaults to the Sluice model name.
    public var model: String
    public var weight: Int

    public init(provider: String, model: String, weight: Int = 1) {
        self.provider = provider
        self.model = model
        self.weight = weight
    }
}

/// `retry:` — attempts, backoff, timeouts and cooldowns (SPEC §6).
public struct RetryConfig: Sendable, Equatable {
    public var maxAttempts = 3
    public var baseDelayMs = 250
    public var maxDelayMs = 8000
    public var maxRetryAfterSeconds = 30
    public var attemptTimeoutSeconds = 600
    public var idleTimeoutSeconds = 60
    public var cooldownAfterFailures = 5
    public var cooldownSeconds = 30
    public init() {}
}

/// `limits:` — how much output a request reserves before its real usage is known.
public struct LimitsConfig: Sendable, Equatable {
    public var defaultOutputTokens = 256
    public var maxReservedOutputTokens = 4096
    public init() {}
}

/// A named bundle of limits a key is created with.
public struct PresetConfig: Sendable, Equatable {
    public var rpm: Int?
    public var tpm: Int?
    public var dailyTokenCap: Int?
    public var maxConcurrent: Int?
    /// Allowed models; nil allows every configured model.
    public var models: [String]?
    /// Policies in the `Helicone-RateLimit-Policy` syntax applied to every request of the key,
    /// as written.
    public var policies: [String] {
        didSet { parsedPolicies = Self.parse(policies) }
    }
    /// `policies`, parsed (the configuration is only accepted when all of them parse).
    public private(set) var parsedPolicies: [RateLimitPolicy]

    public init(rpm: Int? = nil, tpm: Int? = nil, dailyTokenCap: Int? = nil, maxConcurrent: Int? = nil,
                models: [String]? = nil, policies: [String] = []) {
        self.rpm = rpm
        self.tpm = tpm
        self.dailyTokenCap = dailyTokenCap
        self.maxConcurrent = maxConcurrent
        self.models = models
        self.policies = policies
        self.parsedPolicies = Self.parse(policies)
    }

    static func parse(_ policies: [String]) -> [RateLimitPolicy] {
        policies.flatMap { (try? PolicyParser.parseList($0)) ?? [] }
    }

    /// The limits a key of this preset is under.
    public var keyLimits: KeyLimits {
        KeyLimits(rpm: rpm, tpm: tpm, dailyTokenCap: dailyTokenCap, maxConcurrent: maxConcurrent, policies: parsedPolicies)
    }

    /// Whether a key of this preset may use `model`.
    public func allows(_ model: String) -> Bool {
        models?.contains(model) ?? true
    }
}
