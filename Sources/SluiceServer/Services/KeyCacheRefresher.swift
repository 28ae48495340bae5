import Logging
import ServiceLifecycle
import SluiceStore
import Synchronization

/// Polls the ledger's change feed for keys and accounts changed by other processes (the CLI,
/// other instances) so creations, revocations and top-ups reach this server's cache within a
/// poll interval.
///
/// The feed hands out positions in commit order (`Ledger+Changes`), so remembering the highest
/// position seen misses nothing however writers' transactions interleave, and no clock is
/// involved. Expiry needs no polling: the key's expiry time is checked on every use.
struct KeyCacheRefresher: Service {
    let gateway: Gateway
    let ledger: Ledger
    let clock: WallClock
    let interval: Duration
    let logger: Logger
    /// The highest feed positions loaded; shared by the initial load and the polling loop.
    private let cursor = CursorBox()

    init(gateway: Gateway, ledger: Ledger, clock: WallClock, interval: Duration, logger: Logger) {
        self.gateway = gateway
        self.ledger = ledger
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await refresh()
            } catch {
                logger.warning("refreshing the key cache failed", metadata: ["sluice.error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Loads keys and accounts changed since the last refresh (everything, the first time).
    func refresh() async throws {
        let seen = cursor.value.withLock { $0 }
        // Keys first: an account is always created before its keys, so every account of a key
        // read here is in the account read that follows (the credit book never lacks a key's account).
        let keys = try await ledger.keysChanged(afterSeq: seen.keys)
        let accounts = try await ledger.accountsChanged(afterSeq: seen.accounts)
        gateway.accountsChanged(accounts)
        gateway.keyCache.store(keys: keys)
        cursor.value.withLock { cursor in
            cursor.keys = max(cursor.keys, keys.map(\.changeSeq).max() ?? -1)
            cursor.accounts = max(cursor.accounts, accounts.map(\.changeSeq).max() ?? -1)
        }
    }

    /// Feed positions already loaded; -1 loads everything.
    struct ChangeCursor {
        var keys: Int64 = -1
        var accounts: Int64 = -1
    }

    /// A `Mutex` cannot be copied, and a `Service` is a struct that is.
    final class CursorBox: Sendable {
        let value = Mutex(ChangeCursor())
    }
}
