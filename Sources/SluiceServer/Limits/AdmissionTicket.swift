import Logging
import SluiceCore
import SluiceStore
import Synchronization

/// Credit reserved for a request in flight.
struct CreditHold: Sendable {
    let account: String
    let reserved: NanoDollars
}

/// An admitted request's hold on its limits and credits: the reservations to correct, the
/// concurrency lease to release and the credit to turn into a debit, exactly once, whichever way
/// the request ends. If a path forgets, `deinit` settles at the reserved amounts, so a lease is
/// never leaked.
final class AdmissionTicket: Sendable {
    let reservations: [Reservation]
    let credit: CreditHold?
    let gateway: Gateway
    let shard: String
    private let settled = Mutex(false)

    init(reservations: [Reservation], credit: CreditHold?, gateway: Gateway, shard: String) {
        self.reservations = reservations
        self.credit = credit
        self.gateway = gateway
        self.shard = shard
    }

    /// Settles to the real usage: `tokens` for token limits, `cost` for cent limits and credits.
    func settle(tokens: Int, cost: NanoDollars) async {
        guard let entries = claim(tokens: tokens, cost: cost) else { return }
        do {
            try await gateway.counters.settle(entries, shard: shard, nowMs: gateway.clock.nowMs())
        } catch {
            gateway.logger.error("settling limits failed", metadata: ["sluice.key_id": "\(shard)", "sluice.error": "\(error)"])
        }
    }

    /// `settle` on counters in this process's memory, without suspending (the fast lane).
    func settleInMemory(tokens: Int, cost: NanoDollars, counters: MemoryCounterStore) {
        guard let entries = claim(tokens: tokens, cost: cost) else { return }
        counters.settleNow(entries, shard: shard, nowMs: gateway.clock.nowMs())
    }

    /// Claims the settlement and settles the credit; the limit corrections left to make (nil:
    /// settled already, or nothing to correct).
    private func claim(tokens: Int, cost: NanoDollars) -> [SettlementEntry]? {
        guard claim() else { return nil }
        if let credit { gateway.credits.settle(account: credit.account, reserved: credit.reserved, actual: cost) }
        let entries = reservations.map { SettlementEntry(reservation: $0, actual: Self.actual($0, tokens: Int64(tokens), cost: cost)) }
        return entries.isEmpty ? nil : entries
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
        // Nothing reported the real usage: keep the limits' reservations as counted, and release
        // the credit without a debit (no usage row will carry one to the ledger).
        if let credit { gateway.credits.settle(account: credit.account, reserved: credit.reserved, actual: .zero) }
        let entries = reservations.map { SettlementEntry(reservation: $0, actual: $0.amount) }
        let (store, shard, now) = (gateway.counters, shard, gateway.clock.nowMs())
        Task { try? await store.settle(entries, shard: shard, nowMs: now) }
    }
}
