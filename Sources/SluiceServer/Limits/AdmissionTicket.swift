import Logging
import SluiceCore
import SluiceStore
import Synchronization

/// An admitted request's hold on its limits: the reservations to correct and the concurrency
/// lease to release, exactly once, whichever way the request ends. If a path forgets, `deinit`
/// settles at the reserved amounts, so a lease is never leaked.
final class AdmissionTicket: Sendable {
    let reservations: [Reservation]
    let shard: String
    let store: any CounterStore
    let clock: WallClock
    let logger: Logger
    private let settled = Mutex(false)

    init(reservations: [Reservation], shard: String, store: any CounterStore, clock: WallClock, logger: Logger) {
        self.reservations = reservations
        self.shard = shard
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    /// Settles to the real usage: `tokens` for token limits, `cost` for cent limits.
    func settle(tokens: Int, cost: NanoDollars) async {
        guard claim() else { return }
        let entries = reservations.map { SettlementEntry(reservation: $0, actual: Self.actual($0, tokens: Int64(tokens), cost: cost)) }
        do {
            try await store.settle(entries, shard: shard, nowMs: clock.nowMs())
        } catch {
            logger.error("settling limits failed", metadata: ["sluice.key_id": "\(shard)", "sluice.error": "\(error)"])
        }
    }

    private func claim() -> Bool {
        settled.withLock { done in
            defer { done = true }
            return !done
        }
    }

    static func actual(_ reservation: Reservation, tokens: Int64, cost: NanoDollars) -> Int64 {
        switch reservation.unit {
        case .tokens: tokens
        case .cents: cost.value
        case .requests, .concurrentRequests: reservation.amount
        }
    }

    deinit {
        guard claim() else { return }
        let entries = reservations.map { SettlementEntry(reservation: $0, actual: $0.amount) }
        let (store, shard, now) = (store, shard, clock.nowMs())
        Task { try? await store.settle(entries, shard: shard, nowMs: now) }
    }
}
