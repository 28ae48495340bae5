import Logging
import ServiceLifecycle
import SluiceStore

/// Polls the ledger for keys and accounts changed by other processes (the CLI, other instances)
/// so revocations, expiries and top-ups reach this server's cache within a poll interval.
struct KeyCacheRefresher: Service {
    let gateway: Gateway
    let ledger: Ledger
    let clock: WallClock
    let interval: Duration
    let logger: Logger
    /// Changes are read with this much overlap, so writers whose clocks run a little behind
    /// ours (another machine, a slow transaction) are not missed.
    static let overlapMs: Int64 = 5_000

    func run() async throws {
        var since: Int64 = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let started = clock.nowMs()
            do {
                try await refresh(sinceMs: since)
                since = started - Self.overlapMs
            } catch {
                logger.warning("refreshing the key cache failed", metadata: ["sluice.error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Loads keys and accounts changed at or after `sinceMs` (0 = everything) into the cache.
    func refresh(sinceMs: Int64) async throws {
        // Keys first: an account is always created before its keys, so every account of a key
        // read here is in the account read that follows (the credit book never lacks a key's account).
        let keys = try await ledger.keysChanged(sinceMs: sinceMs)
        gateway.accountsChanged(try await ledger.accountsChanged(sinceMs: sinceMs))
        gateway.keyCache.store(keys: keys)
    }
}
