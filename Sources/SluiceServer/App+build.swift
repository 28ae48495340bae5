import Hummingbird
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import SluiceCore
import SluiceProviders
import SluiceStore

/// What `buildApplication` needs besides the configuration.
public struct ServerOptions: Sendable {
    /// Provider API keys, already read from the environment.
    public var providerSecrets: [String: Secret]
    /// The admin API's bearer key; nil disables the admin API.
    public var adminKey: Secret?
    /// How often the key cache asks the ledger for changes made elsewhere.
    public var keyRefreshInterval: Duration
    public var clock: WallClock
    /// Called with the bound port once the server listens (port 0 picks a free one).
    public var onServerRunning: @Sendable (Int) async -> Void
    /// Services to start before and stop after the gateway's own (the demo's mock provider).
    public var extraServices: [any Service]
    /// Serve the common case on the caller's event loop (`FastLane`); off, every request takes
    /// the general path (the tests compare the two).
    public var fastLane: Bool
    /// How `https` providers are verified, on both paths; nil: the system's trust roots (the
    /// tests trust their own certificate authority).
    public var providerTLS: TLSConfiguration?

    public init(providerSecrets: [String: Secret] = [:], adminKey: Secret? = nil, keyRefreshInterval: Duration = .milliseconds(250), clock: WallClock = .system,
                onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }, extraServices: [any Service] = [], fastLane: Bool = true,
                providerTLS: TLSConfiguration? = nil) {
        self.providerSecrets = providerSecrets
        self.adminKey = adminKey
        self.keyRefreshInterval = keyRefreshInterval
        self.clock = clock
        self.onServerRunning = onServerRunning
        self.extraServices = extraServices
        self.fastLane = fastLane
        self.providerTLS = providerTLS
    }
}

/// Builds the gateway application; `sluice serve` and the end-to-end tests both run this.
///
/// Services start in order and stop in reverse: extra services, the usage flusher, the key
/// cache refresher, then the HTTP server. On SIGTERM the server drains in-flight requests
/// first, so the flusher's final flush writes every usage row.
public func buildApplication(config: SluiceConfig, ledger: Ledger, options: ServerOptions = .init(), logger: Logger) async throws
    -> (application: some ApplicationProtocol, gateway: Gateway) {
    // Parts of the configuration this version cannot serve yet are refused, not half-served.
    var unsupported: [ConfigProblem] = []
    for (name, provider) in config.providers.sorted(by: { $0.key < $1.key }) where provider.kind == .anthropic {
        unsupported.append(ConfigProblem(path: "providers.\(name).kind", message: "anthropic providers are not available in this version; use an OpenAI-compatible endpoint"))
    }
    guard unsupported.isEmpty else { throw ConfigError(problems: unsupported) }
    let providerTLS = options.providerTLS ?? .makeClientConfiguration()
    let upstream = UpstreamClient(tls: providerTLS)
    let tlsContext: NIOSSLContext?
    do {
        tlsContext = try UpstreamConnectionPool.tlsContext(providerTLS)
    } catch {
        // The general path still tries (and reports) https providers; the fast lane hands them to it.
        logger.warning("no TLS for the fast lane's https providers", metadata: ["sluice.error": "\(error)"])
        tlsContext = nil
    }
    let pools = UpstreamConnectionPools(tls: tlsContext)
    let metrics = GatewayMetrics(failureMode: config.storage.onCounterStoreFailure.rawValue)
    let counters = try CounterStoreSetup(config.storage, clock: options.clock, metrics: metrics, logger: logger)
    let gateway = Gateway(config: config, providerSecrets: options.providerSecrets, ledger: ledger, counters: counters.store, upstream: upstream,
                          upstreamPools: pools, metrics: metrics, clock: options.clock, logger: logger)
    let refresher = KeyCacheRefresher(gateway: gateway, ledger: ledger, clock: options.clock, interval: options.keyRefreshInterval, logger: logger)
    // Load every key before the first request so the cache, not the ledger, answers.
    try await refresher.refresh()

    let router = Router(context: SluiceRequestContext.self)
    router.add(middleware: RequestEdgeMiddleware())
    HealthController(gateway: gateway).addRoutes(to: router)
    ProxyController(gateway: gateway).addRoutes(to: router)
    AdminController(operations: AdminOperations(ledger: ledger, config: config, nowMs: options.clock.nowMs), counters: counters.store,
                    clock: options.clock, adminKey: options.adminKey)
        .addRoutes(to: router)

    let flusher = UsageFlusher(recorder: gateway.usage, ledger: ledger, credits: gateway.credits, interval: .milliseconds(config.storage.flushIntervalMs), logger: logger)
    let serverName = "sluice"
    let lane = options.fastLane ? FastLane(gateway: gateway, serverName: serverName) : nil
    var application = Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: lane.map { [FastLaneInstaller(lane: $0)] } ?? [])),
        configuration: .init(address: .hostname(config.server.listen.host, port: config.server.listen.port), serverName: serverName),
        onServerRunning: { channel in await options.onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
    application.addServices(options.extraServices)
    application.addServices(flusher, refresher, UpstreamClientService(client: upstream, pools: gateway.upstreamPools),
                            CounterSweeper(store: counters.memory, clock: options.clock, interval: .seconds(10)))
    if let redis = counters.redis { application.addServices(RedisClientService(client: redis)) }
    return (application, gateway)
}

/// Shuts the upstream connection pools down when the server stops.
struct UpstreamClientService: Service {
    let client: UpstreamClient
    let pools: UpstreamConnectionPools

    func run() async throws {
        try? await gracefulShutdown()
        pools.close()
        try await client.shutdown()
    }
}

/// Closes the Redis connections when the server stops (after the HTTP server has drained).
struct RedisClientService: Service {
    let client: RedisClient

    func run() async throws {
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
