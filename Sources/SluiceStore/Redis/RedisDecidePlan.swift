import SluiceCore

/// The arguments of one decide script call and the way back from its reply to a `LimitDecision`.
/// Pure, so both directions are tested without Redis.
///
/// Two checks on one counter (the same policy twice) are one counter for the script: the first
/// check decides it and is the one reserved, as in `LimitDecider`; the last one names it for
/// `/admin/limits`, as `CounterTable` keeps it.
struct RedisDecidePlan: Sendable {
    let checks: [LimitCheck]
    /// Redis keys, one per distinct counter, in order of first appearance.
    private(set) var keys: [String] = []
    private(set) var arguments: [String] = []
    /// For each check, its counter's position in `keys`.
    private(set) var counterOfCheck: [Int] = []
    /// For each counter, the check that decides it.
    private(set) var decidingCheck: [Int] = []

    struct ReplyError: Error, CustomStringConvertible {
        var description: String
    }

    init(checks: [LimitCheck], shard: String, keys layout: RedisCounterKeys, nowMs: Int64, leaseMs: Int64) {
        self.checks = checks
        var position: [CounterKey: Int] = [:]
        var namingCheck: [Int] = []
        for (offset, check) in checks.enumerated() {
            if let known = position[check.key] {
                counterOfCheck.append(known)
                namingCheck[known] = offset
            } else {
                position[check.key] = keys.count
                counterOfCheck.append(keys.count)
                keys.append(layout.key(shard: shard, counterKey: check.counterKey))
                decidingCheck.append(offset)
                namingCheck.append(offset)
            }
        }
        arguments.reserveCapacity(2 + 9 * keys.count)
        arguments += [String(nowMs), String(leaseMs)]
        for (counter, deciding) in decidingCheck.enumerated() {
            let check = checks[deciding]
            let naming = checks[namingCheck[counter]]
            let (kind, slotMs): (String, Int64) = switch check.kind {
            case .rolling(let seconds): ("r", RollingWindow(windowSeconds: seconds).slotMs)
            case .utcDay: ("d", 0)
            case .concurrency: ("c", 0)
            }
            arguments += [kind, String(slotMs), check.mode == .whole ? "w" : "u", String(check.quota), String(check.amount),
                          naming.name, String(naming.quota), RedisCounterSnapshot.unitCode(naming.unit), RedisCounterSnapshot.kindCode(naming.kind)]
        }
    }

    /// The decision the script's reply describes, with states, reset and Retry-After computed by
    /// `LimitCounter` from the counters' state as the script saw (or left) it. A rolling window
    /// that did not refuse arrives collapsed into its oldest counted slot holding its total (see
    /// `RedisCounterScripts.decide`): rebuilt as is, it gives the same `state` as the whole
    /// window, and only a refusing counter's window, which arrives whole, is asked for Retry-After.
    func decision(from reply: RESPValue) throws(ReplyError) -> LimitDecision {
        guard let top = reply.array, top.count == 2 + keys.count, let admitted = top[0].integer, let nowMs = top[1].integer else {
            throw ReplyError(description: "expected {admitted, now, one entry per counter}, got \(reply)")
        }
        var counters: [LimitCounter] = []
        var entries: [(admits: Bool, slot: Int64, amount: Int64)] = []
        counters.reserveCapacity(keys.count)
        for (counter, deciding) in decidingCheck.enumerated() {
            guard let values = top[2 + counter].array?.map(\.integer), values.count >= 3, !values.contains(nil) else {
                throw ReplyError(description: "counter entry \(counter) is not a list of integers")
            }
            let numbers = values.map { $0 ?? 0 }
            entries.append((numbers[0] == 1, numbers[1], numbers[2]))
            let state = numbers[3...]
            switch checks[deciding].kind {
            case .rolling(let seconds):
                guard state.count % 2 == 0 else { throw ReplyError(description: "rolling counter \(counter): odd slot list") }
                var window = RollingWindow(windowSeconds: seconds)
                for pair in stride(from: state.startIndex, to: state.endIndex, by: 2) {
                    window.add(state[pair + 1], nowMs: state[pair] * window.slotMs)
                }
                counters.append(.rolling(window))
            case .utcDay:
                guard state.count == 2 else { throw ReplyError(description: "day counter \(counter): expected day and used") }
                counters.append(.day(index: state[state.startIndex], used: state[state.startIndex + 1]))
            case .concurrency:
                guard state.count == 1 else { throw ReplyError(description: "concurrency counter \(counter): expected in-flight count") }
                counters.append(.concurrency(inFlight: state[state.startIndex]))
            }
        }
        let states = checks.enumerated().map { offset, check in counters[counterOfCheck[offset]].state(check, nowMs: nowMs) }
        if admitted == 1 {
            let reservations = decidingCheck.enumerated().map { counter, deciding in
                let check = checks[deciding]
                return Reservation(key: check.key, kind: check.kind, unit: check.unit, slot: entries[counter].slot, amount: entries[counter].amount)
            }
            return .admitted(reservations: reservations, states: states)
        }
        var refusal: (check: LimitCheck, retryAfter: Int)?
        for (counter, deciding) in decidingCheck.enumerated() where !entries[counter].admits {
            let check = checks[deciding]
            let retryAfter = counters[counter].retryAfterSeconds(check, nowMs: nowMs)
            // Name the limit that keeps the caller waiting longest; ties go to the first (LimitDecider).
            if refusal.map({ retryAfter > $0.retryAfter }) ?? true { refusal = (check, retryAfter) }
        }
        guard let refusal else { throw ReplyError(description: "refused, but no counter says it refuses") }
        return .refused(limit: refusal.check, retryAfterSeconds: refusal.retryAfter, states: states)
    }
}
