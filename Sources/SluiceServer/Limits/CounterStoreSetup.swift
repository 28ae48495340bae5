import Logging
import SluiceCore
import SluiceStore

/// The counter store `storage.counters` names: this process's memory, or Redis shared by every
/// instance, wrapped in `on_counter_store_failure`'s answer for when Redis cannot be reached.
struct CounterStoreSetup {
    /// What the request path decides on.
    let store: any CounterStore
    /// The memory counters to sweep: the store itself, or Redis' local fallback.
    let memory: MemoryCounterStore
    /// The Redis connections to close at stop, when Redis is used.
    let redis: RedisClient?
    /// Redis' failure wrapper, for `/readyz` and `/metrics`.
    let failover: FailoverCounterStore?

    init(_ storage: StorageConfig, clock: WallClock, metrics: GatewayMetrics, logger: Logger) throws {
        switch storage.counters {
        case .memory:
            let memory = MemoryCounterStore()
            (store, self.memory, redis, failover) = (memory, memory, nil, nil)
        case .redis(let url):
            let client: RedisClient
            do {
                client = try RedisClient(url: url, commandTimeout: .milliseconds(storage.counterTimeoutMs), logger: logger)
            } catch {
                throw ConfigError(problems: [ConfigProblem(path: "storage.counters", message: "\(error)")])
            }
            let mode = storage.onCounterStoreFailure
            let failover = FailoverCounterStore(
                primary: RedisCounterStore(client: client), mode: mode, clock: clock.nowMs,
                onFailure: { error in
                    metrics.counterStoreDown.set(Int64(1))
                    metrics.counterStoreOutages.increment()
                    logger.error("counter store unreachable; on_counter_store_failure applies until it answers again", metadata: [
                        "sluice.counter_store": "\(client.url)", "sluice.on_counter_store_failure": "\(mode.rawValue)",
                        "sluice.error": "\(error)",
                    ])
                },
                onRecovery: {
                    metrics.counterStoreDown.set(Int64(0))
                    logger.notice("counter store reachable again; shared counting resumed", metadata: ["sluice.counter_store": "\(client.url)"])
                })
            (store, memory, redis, self.failover) = (failover, failover.local, client, failover)
        }
    }
}
