import Logging
import SluiceCore
import Synchronization
import SluiceProviders
import SluiceStore

/// Everything a request handler needs, built once at start: the configuration, the key cache,
/// the ledger, the upstream client and the usage queue.
public final class Gateway: Sendable {
    public let config: SluiceConfig
    let providerSecrets: [String: Secret]
    public let ledger: Ledger
    let keyCache: KeyCache
    let upstream: UpstreamClient
    public let usage: UsageRecorder
    /// Rate-limit counters.
    public let counters: any CounterStore
    /// What `/metrics` reports.
    public let metrics: GatewayMetrics
    /// Balances (or, on PostgreSQL, leases on them), reservations and unwritten debits.
    public let credits: CreditGate
    /// Consecutive failures and cooldowns per deployment, shared by every request.
    let cooldowns: Mutex<CooldownBook>
    let retryPolicy: RetryPolicy
    /// Keep-alive connections to providers, one pool per event loop (the fast lane).
    let upstreamPools: UpstreamConnectionPools
    /// Requests the fast lane admitted and hands to the general path after a failed attempt.
    let handovers = FastLaneHandovers()
    /// Callers' `Helicone-RateLimit-Policy` values, parsed once.
    let policyHeaders = PolicyHeaderCache()
    let clock: WallClock
    let logger: Logger

    init(config: SluiceConfig, providerSecrets: [String: Secret], ledger: Ledger, counters: any CounterStore, upstream: UpstreamClient,
         upstreamPools: UpstreamConnectionPools, metrics: GatewayMetrics, clock: WallClock, logger: Logger) {
        self.counters = counters
        self.upstreamPools = upstreamPools
        self.metrics = metrics
        self.config = config
        self.providerSecrets = providerSecrets
        self.ledger = ledger
        self.keyCache = KeyCache()
        self.upstream = upstream
        self.usage = UsageRecorder()
        self.clock = clock
        self.logger = logger
        // Several instances can share a PostgreSQL ledger, so there each spends from a lease;
        // a SQLite ledger has one spender, which keeps deciding from the balance in memory.
        if case .postgres = ledger.location {
            self.credits = CreditGate(leaseLedger: ledger, nowMs: clock.nowMs)
        } else {
            self.credits = CreditGate(nowMs: clock.nowMs)
        }
        self.retryPolicy = RetryPolicy(config.retry)
        self.cooldowns = Mutex(CooldownBook(afterFailures: config.retry.cooldownAfterFailures, cooldownMs: Int64(config.retry.cooldownSeconds) * 1000))
    }

    /// The key a request authenticates with, and what it belongs to.
    /// A class: a call's decision hands it around a dozen times, and a copy of a key record and
    /// its preset retains each of their strings.
    final class Caller: Sendable {
        let key: KeyRecord
        let preset: PresetConfig

        init(key: KeyRecord, preset: PresetConfig) {
            self.key = key
            self.preset = preset
        }
    }

    /// Checks `Authorization: Bearer <key>` against the cache, falling back to the ledger for a
    /// key created since the last refresh. Every failure is the same 401, so a caller learns
    /// nothing about which keys exist.
    func authenticate(authorization: String?) async throws(GatewayError) -> Caller {
        let digest: KeyDigest
        switch try cachedCaller(authorization: authorization) {
        case .found(let caller): return caller
        case .notCached(let uncached): digest = uncached
        }
        let record: KeyRecord
        do {
            guard let stored = try await ledger.key(digest: digest) else {
                keyCache.rememberMissing(digest)
                throw GatewayError.invalidAPIKey()
            }
            if let account = try await ledger.account(named: stored.account) { accountsChanged([account]) }
            keyCache.store(keys: [stored])
            record = stored
        } catch let error as GatewayError {
            throw error
        } catch {
            logger.error("key lookup failed", metadata: ["sluice.error": "\(error)"])
            throw GatewayError(status: 503, code: .internalError, message: "The key store is unavailable; try again shortly", retryAfterSeconds: 1)
        }
        return try caller(for: record)
    }

    /// What the cache alone says of an Authorization header.
    enum CachedCaller {
        case found(Caller)
        /// A well-formed key the cache does not know: the ledger must be asked.
        case notCached(KeyDigest)
    }

    /// `authenticate` without the ledger: the 401s, or the caller, or that the ledger must be
    /// asked. Never suspends, so the fast lane can use it.
    func cachedCaller(authorization: String?) throws(GatewayError) -> CachedCaller {
        guard let authorization else {
            throw .invalidAPIKey("Missing API key: send `Authorization: Bearer sk-sluice-...`")
        }
        guard let text = Self.bearerCredentials(authorization) else {
            throw .invalidAPIKey("Malformed Authorization header: expected `Bearer sk-sluice-...`")
        }
        // Malformed keys are refused before any hashing or lookup.
        guard APIKeyFormat.environment(of: text) != nil else { throw .invalidAPIKey() }
        let digest = KeyDigest(of: text)
        switch keyCache.lookup(digest) {
        case .found(let cached): return .found(try caller(for: cached))
        case .knownMissing: throw .invalidAPIKey()
        case .notCached: return .notCached(digest)
        }
    }

    private func caller(for record: KeyRecord) throws(GatewayError) -> Caller {
        guard record.isUsable(atMs: clock.nowMs()) else { throw .invalidAPIKey() }
        guard let preset = config.presets[record.preset] else {
            throw .invalidAPIKey("This key's preset \"\(record.preset)\" is not configured on this gateway; ask the operator")
        }
        return Caller(key: record, preset: preset)
    }

    /// Fast-lane handovers the general path has not taken up yet (none, once requests are done).
    public var pendingHandovers: Int { handovers.count }

    /// Accounts read from the ledger: their balances go to the credit book.
    func accountsChanged(_ accounts: [AccountRecord]) {
        credits.apply(accounts)
    }

    /// The upstream target for one deployment of a model.
    func target(for deployment: Deployment) -> UpstreamTarget? {
        guard let provider = config.providers[deployment.provider] else { return nil }
        return UpstreamTarget(providerName: deployment.provider, provider: provider, apiKey: providerSecrets[deployment.provider], model: deployment.model)
    }
}

extension Gateway {
    /// What follows `Bearer ` (any case) in an Authorization header, without surrounding spaces;
    /// nil when the scheme is not Bearer or nothing follows. Read as bytes: it runs on every request.
    static func bearerCredentials(_ header: String) -> String? {
        let bytes = header.utf8
        let scheme = "bearer ".utf8
        guard bytes.count > scheme.count else { return nil }
        // `| 0x20` lower-cases ASCII letters and leaves the space a space.
        guard zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 }) else { return nil }
        let rest = bytes.dropFirst(scheme.count)
        guard let first = rest.firstIndex(where: { $0 != UInt8(ascii: " ") }),
              let last = rest.lastIndex(where: { $0 != UInt8(ascii: " ") }) else { return nil }
        return String(Substring(header.utf8[first...last]))
    }
}
