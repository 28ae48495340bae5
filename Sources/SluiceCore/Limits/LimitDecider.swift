/// The all-or-nothing decision over a request's limits, on counters held by the caller.
///
/// Pure: the in-memory store runs it under one shard lock; the Redis store runs the same steps
/// in one Lua script. A request any limit refuses consumes nothing from any other.
public enum LimitDecider {
    /// Checks every limit; if all admit, counts the request in each.
    public static func decide(_ checks: [LimitCheck], counters: inout CounterTable, nowMs: Int64) -> LimitDecision {
        // At most a dozen checks: their positions live on the stack, not the heap.
        withUnsafeTemporaryAllocation(of: CounterTable.Position.self, capacity: checks.count) { positions in
            counters.resolve(checks, into: positions, nowMs: nowMs)
            // Two checks on one counter (the same policy twice) are decided and counted once.
            func isFirstOnItsCounter(_ offset: Int) -> Bool {
                !positions[..<offset].contains(positions[offset])
            }
            // Checks are read in place, by offset: copying each one retained and released its strings.
            var refusal: (offset: Int, retryAfter: Int)?
            for offset in checks.indices where isFirstOnItsCounter(offset) {
                let counter = counters.counter(at: positions[offset])
                if counter.admissible(checks[offset]) == nil {
                    let retryAfter = counter.retryAfterSeconds(checks[offset], nowMs: nowMs)
                    // Name the limit that keeps the caller waiting longest; its wait is the answer.
                    if refusal == nil || retryAfter > refusal!.retryAfter { refusal = (offset, retryAfter) }
                }
            }
            if let refusal {
                return .refused(limit: checks[refusal.offset], retryAfterSeconds: refusal.retryAfter,
                                states: states(checks, positions: positions, counters: counters, nowMs: nowMs))
            }
            var reservations: [Reservation] = []
            reservations.reserveCapacity(checks.count)
            for offset in checks.indices where isFirstOnItsCounter(offset) {
                let amount = counters.counter(at: positions[offset]).admissible(checks[offset])!
                let slot = counters.reserve(amount, at: positions[offset], nowMs: nowMs)
                reservations.append(Reservation(key: checks[offset].key, kind: checks[offset].kind, unit: checks[offset].unit, slot: slot,
                                                amount: amount))
            }
            return .admitted(reservations: reservations, states: states(checks, positions: positions, counters: counters, nowMs: nowMs))
        }
    }

    private static func states(_ checks: [LimitCheck], positions: UnsafeMutableBufferPointer<CounterTable.Position>,
                               counters: CounterTable, nowMs: Int64) -> [LimitState] {
        var states: [LimitState] = []
        states.reserveCapacity(checks.count)
        for offset in checks.indices {
            states.append(counters.counter(at: positions[offset]).state(checks[offset], nowMs: nowMs))
        }
        return states
    }

    /// Corrects reservations to real amounts and releases concurrency leases. Requests were
    /// counted at admission and stay counted.
    public static func settle(_ entries: [SettlementEntry], counters: inout CounterTable, nowMs: Int64) {
        for entry in entries { counters.settle(entry) }
    }
}
