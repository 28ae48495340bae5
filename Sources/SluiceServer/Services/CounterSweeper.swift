import ServiceLifecycle
import SluiceStore

/// Drops idle rate-limit counters now and then, so memory follows the live counters and returns
/// to its baseline however many user ids or property values came and went.
struct CounterSweeper: Service {
    let store: MemoryCounterStore
    let clock: WallClock
    let interval: Duration

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            store.sweep(nowMs: clock.nowMs())
        }
    }
}
