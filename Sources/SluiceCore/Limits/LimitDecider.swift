/// The all-or-nothing decision over a request's limits, on counters held by the caller.
///
/// Pure: the in-memory store runs it under one shard lock; the Redis store runs the same steps
/// in one Lua script. A request any limit refuses consumes nothing from any other.
public enum LimitDecider {
    /// Checks every limit; if all admit, counts the request in each.
    public static func decide(_ checks: [LimitCheck], counters: inout [String: LimitCounter], nowMs: Int64) -> LimitDecision {
        for check in checks {
            counters[check.counterKey, default: LimitCounter(kind: check.kind)].refresh(nowMs: nowMs)
        }
        // Two checks on one counter (the same policy twice) are decided and counted once.
        var seen = Set<String>()
        var grants: [(check: LimitCheck, amount: Int64)] = []
        var refusal: (check: LimitCheck, retryAfter: Int)?
        for check in checks where seen.insert(check.counterKey).inserted {
            let counter = counters[check.counterKey]!
            if let amount = counter.admissible(check) {
                grants.append((check, amount))
            } else {
                let retryAfter = counter.retryAfterSeconds(check, nowMs: nowMs)
                // Name the limit that keeps the caller waiting longest; its wait is the answer.
                if refusal == nil || retryAfter > refusal!.retryAfter { refusal = (check, retryAfter) }
            }
        }
        if let refusal {
            let states = checks.map { counters[$0.counterKey]!.state($0, nowMs: nowMs) }
            return .refused(limit: refusal.check, retryAfterSeconds: refusal.retryAfter, states: states)
        }
        var reservations: [Reservation] = []
        for grant in grants {
            let slot = counters[grant.check.counterKey]!.reserve(grant.amount, nowMs: nowMs)
            reservations.append(Reservation(counterKey: grant.check.counterKey, kind: grant.check.kind, unit: grant.check.unit, slot: slot, amount: grant.amount))
        }
        let states = checks.map { counters[$0.counterKey]!.state($0, nowMs: nowMs) }
        return .admitted(reservations: reservations, states: states)
    }

    /// Corrects reservations to real amounts and releases concurrency leases. Requests were
    /// counted at admission and stay counted.
    public static func settle(_ entries: [SettlementEntry], counters: inout [String: LimitCounter], nowMs: Int64) {
        for entry in entries {
            let reservation = entry.reservation
            guard var counter = counters[reservation.counterKey] else { continue }
            switch reservation.unit {
            case .requests:
                continue
            case .concurrentRequests:
                counter.settle(slot: reservation.slot, delta: 0, reserved: reservation.amount)
            case .tokens, .cents:
                counter.settle(slot: reservation.slot, delta: entry.actual - reservation.amount, reserved: reservation.amount)
            }
            counters[reservation.counterKey] = counter
        }
    }
}
