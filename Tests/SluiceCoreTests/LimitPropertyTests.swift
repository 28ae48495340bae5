import SluiceCore
import Testing

// Seeded random traffic against `LimitDecider`, checked against a naive model that recomputes
// every window from the list of what was admitted. Same seed, same traffic, on every run.
//
// The claim tested for Retry-After: let T be the earliest millisecond at which the refused request,
// re-sent with nothing else arriving meanwhile, would be admitted (computed by the model from the
// admitted slots). Then Retry-After R = max(1, ⌈(T − now) / 1000⌉) exactly, so the request is
// admitted at now + R·1000 and, where R > 1, still refused at now + (R − 1)·1000 (and so at
// now + (R − 1)·1000 − 1): R never undershoots, and overshoots T by less than one second.


/// 2026-01-01T00:00:00Z plus a little, so slots are not all aligned to the start.
private let start: Int64 = 1_767_225_600_000 + 12_345

private func ceilSeconds(_ ms: Int64) -> Int { max(1, Int((ms + 999) / 1000)) }

private func isAdmitted(_ decision: LimitDecision) -> Bool {
    if case .admitted = decision { return true }
    return false
}

@Suite("Limit properties (seeded random traffic)")
struct LimitPropertyTests {
    @Test("request limits: no 60 consecutive slots hold more than the quota, refusals only when full, Retry-After exact", arguments: [
        RequestScenario(seed: 1, limits: [(60, 1)]),
        RequestScenario(seed: 2, limits: [(60, 7)]),
        RequestScenario(seed: 3, limits: [(60, 100)]),
        RequestScenario(seed: 4, limits: [(90, 5)]),
        RequestScenario(seed: 5, limits: [(90, 40)]),
        RequestScenario(seed: 6, limits: [(3600, 3)]),
        RequestScenario(seed: 7, limits: [(3600, 250)]),
        RequestScenario(seed: 8, limits: [(60, 10), (90, 12), (3600, 200)]),
        RequestScenario(seed: 9, limits: [(3600, 20), (60, 3)]),
    ])
    func requestLimits(scenario: RequestScenario) {
        var rng = SeededGenerator(seed: scenario.seed)
        let limits = scenario.limits
        let checks = limits.enumerated().map { index, limit in
            LimitCheck(counterKey: "k|\(index)", name: "limit-\(index)", kind: .rolling(windowSeconds: limit.window), mode: .whole,
                       quota: limit.quota, amount: 1, unit: .requests, summary: "\(limit.quota) per \(limit.window) s")
        }
        let slotMs = limits.map { Int64($0.window) * 1000 / 60 }
        var counters = CounterTable()
        var admitted: [Int64] = []
        var firstLive = [Int](repeating: 0, count: limits.count)
        var failures: [String] = []
        var refusals = 0
        var now = start

        for arrival in 0..<scenario.arrivals {
            now += rng.gap(windowMs: Int64(limits[0].window) * 1000, perWindow: limits[0].quota)

            // The model: count the admitted requests in each window's last 60 slots.
            var inWindow: [Int64] = []
            var modelWait = 0
            var modelRefuser: Int?
            for index in limits.indices {
                let oldestLive = now / slotMs[index] - 59
                while firstLive[index] < admitted.count, admitted[firstLive[index]] / slotMs[index] < oldestLive { firstLive[index] += 1 }
                let count = Int64(admitted.count - firstLive[index])
                inWindow.append(count)
                if count + 1 > limits[index].quota {
                    // The oldest count − quota + 1 requests must leave; the last of them decides.
                    let last = admitted[firstLive[index] + Int(count - limits[index].quota)]
                    let wait = ceilSeconds((last / slotMs[index] + 60) * slotMs[index] - now)
                    if wait > modelWait { (modelWait, modelRefuser) = (wait, index) }
                }
            }

            let decision = LimitDecider.decide(checks, counters: &counters, nowMs: now)
            switch decision {
            case .admitted(_, let states):
                if modelRefuser != nil { failures.append("#\(arrival) at \(now): admitted, but the model refuses") }
                let first = admitted.count
                admitted.append(now)
                for index in limits.indices {
                    let remaining = limits[index].quota - inWindow[index] - 1
                    let oldest = admitted[min(firstLive[index], first)]
                    let reset = ceilSeconds((oldest / slotMs[index] + 60) * slotMs[index] - now)
                    if states[index].remaining != remaining || states[index].resetSeconds != reset {
                        failures.append("#\(arrival): state \(states[index].remaining), t=\(states[index].resetSeconds ?? -1); model \(remaining), t=\(reset)")
                    }
                }
            case .refused(let limit, let retryAfter, _):
                refusals += 1
                guard let modelRefuser else {
                    failures.append("#\(arrival) at \(now): refused by \(limit.name), but the model admits")
                    continue
                }
                if retryAfter != modelWait || limit.name != checks[modelRefuser].name {
                    failures.append("#\(arrival): refused by \(limit.name) for \(retryAfter) s; model: \(checks[modelRefuser].name) for \(modelWait) s")
                }
                // Re-sent with nothing else arriving meanwhile (on copies of the counters).
                var atRetry = counters
                if !isAdmitted(LimitDecider.decide(checks, counters: &atRetry, nowMs: now + Int64(retryAfter) * 1000)) {
                    failures.append("#\(arrival): refused again after its Retry-After of \(retryAfter) s")
                }
                if retryAfter > 1 {
                    for early in [Int64(retryAfter - 1) * 1000, Int64(retryAfter - 1) * 1000 - 1] {
                        var tooEarly = counters
                        if isAdmitted(LimitDecider.decide(checks, counters: &tooEarly, nowMs: now + early)) {
                            failures.append("#\(arrival): admitted \(early) ms later, before its Retry-After of \(retryAfter) s")
                        }
                    }
                }
            }
        }

        // Recomputed from the admitted timestamps alone: for each admitted request, the requests
        // admitted in the 60 slots ending at its slot.
        for index in limits.indices {
            var low = 0
            var high = 0
            var fullest: Int64 = 0
            for timestamp in admitted {
                let slot = timestamp / slotMs[index]
                while admitted[low] / slotMs[index] < slot - 59 { low += 1 }
                while high + 1 < admitted.count, admitted[high + 1] / slotMs[index] <= slot { high += 1 }
                fullest = max(fullest, Int64(high - low + 1))
            }
            #expect(fullest <= limits[index].quota, "limit \(index): \(fullest) requests in 60 consecutive slots")
            #expect(fullest == limits[index].quota, "limit \(index) never filled: the traffic does not test it")
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.prefix(5))")
        #expect(refusals >= scenario.arrivals / 10, "too few refusals (\(refusals)) to test anything")
        #expect(admitted.count >= scenario.arrivals / 10, "too few admissions (\(admitted.count))")
    }

    @Test("token limits: admit while used < quota, reserve what is left, settle into the right slot, Retry-After exact", arguments: [
        TokenScenario(seed: 11, window: 60, quota: 1_000, overrun: false),
        TokenScenario(seed: 12, window: 90, quota: 5_000, overrun: false),
        TokenScenario(seed: 13, window: 3600, quota: 100_000, overrun: false),
        TokenScenario(seed: 14, window: 60, quota: 1_000, overrun: true),
        TokenScenario(seed: 15, window: 3600, quota: 20_000, overrun: true),
    ])
    func tokenLimits(scenario: TokenScenario) {
        var rng = SeededGenerator(seed: scenario.seed)
        let quota = scenario.quota
        let windowMs = Int64(scenario.window) * 1000
        let slotMs = windowMs / 60
        func check(_ amount: Int64) -> LimitCheck {
            LimitCheck(counterKey: "k|tpm", name: "tpm", kind: .rolling(windowSeconds: scenario.window), mode: .upToRemaining,
                       quota: quota, amount: amount, unit: .tokens, summary: "")
        }
        var counters = CounterTable()
        var slotTotals: [Int64: Int64] = [:]      // the model: what each live slot holds
        var pending: [Reservation] = []
        var failures: [String] = []
        var (refusals, settlements, lateSettlements, partialReservations) = (0, 0, 0, 0)
        var now = start

        func modelUsed() -> Int64 { slotTotals.values.reduce(0, +) }

        for step in 0..<scenario.steps {
            now += rng.gap(windowMs: windowMs, perWindow: 8)
            let current = now / slotMs
            slotTotals = slotTotals.filter { $0.key > current - 60 }

            if !pending.isEmpty, rng.next() % 100 < 40 {
                let reservation = pending.remove(at: Int(rng.below(Int64(pending.count))))
                let actual = scenario.overrun ? rng.below(2 * reservation.amount + 50) : rng.below(reservation.amount + 1)
                LimitDecider.settle([SettlementEntry(reservation: reservation, actual: actual)], counters: &counters, nowMs: now)
                settlements += 1
                if let total = slotTotals[reservation.slot] {
                    slotTotals[reservation.slot] = max(0, total + actual - reservation.amount)
                } else {
                    lateSettlements += 1    // its slot has left the window: nothing may change
                }
            }

            let amount: Int64 = switch rng.next() % 100 {
            case ..<2: 0
            case ..<57: 1 + rng.below(quota / 8)
            case ..<90: 1 + rng.below(quota)
            default: quota * 1_000 + rng.below(1 << 20)    // a huge max_tokens
            }
            let used = modelUsed()
            let decision = LimitDecider.decide([check(amount)], counters: &counters, nowMs: now)
            switch decision {
            case .admitted(let reservations, let states):
                let expected = min(amount, quota - used)
                if used >= quota { failures.append("#\(step): admitted at used \(used) ≥ quota") }
                if reservations.map(\.amount) != [expected] || reservations.first?.slot != current {
                    failures.append("#\(step): reserved \(reservations.map(\.amount)) in \(reservations.map(\.slot)); model \(expected) in \(current)")
                }
                if expected < amount { partialReservations += 1 }
                if states.map(\.remaining) != [max(0, quota - used - expected)] {
                    failures.append("#\(step): remaining \(states.map(\.remaining)); model \(max(0, quota - used - expected))")
                }
                if !scenario.overrun, used + expected > quota { failures.append("#\(step): \(used + expected) counted, over quota") }
                slotTotals[current, default: 0] += expected
                pending += reservations
            case .refused(_, let retryAfter, let states):
                refusals += 1
                if used < quota { failures.append("#\(step): refused at used \(used) < quota") }
                if states.map(\.remaining).contains(where: { $0 != max(0, quota - used) }) {
                    failures.append("#\(step): refused with remaining \(states.map(\.remaining)) at used \(used)")
                }
                // Slots leave oldest first until used is below quota again.
                var left = used
                var freeAt = now
                for slot in slotTotals.keys.sorted() where left >= quota {
                    left -= slotTotals[slot]!
                    freeAt = (slot + 60) * slotMs
                }
                if retryAfter != ceilSeconds(freeAt - now) {
                    failures.append("#\(step): Retry-After \(retryAfter); model \(ceilSeconds(freeAt - now))")
                }
                var atRetry = counters
                if !isAdmitted(LimitDecider.decide([check(amount)], counters: &atRetry, nowMs: now + Int64(retryAfter) * 1000)) {
                    failures.append("#\(step): refused again after its Retry-After of \(retryAfter) s")
                }
                if retryAfter > 1 {
                    var tooEarly = counters
                    if isAdmitted(LimitDecider.decide([check(amount)], counters: &tooEarly, nowMs: now + Int64(retryAfter - 1) * 1000 - 1)) {
                        failures.append("#\(step): admitted before its Retry-After of \(retryAfter) s")
                    }
                }
            }
        }

        // The counter and the model agree at the end, after any late settlements.
        var final = counters["k|tpm"]!
        final.refresh(nowMs: now)
        slotTotals = slotTotals.filter { $0.key > now / slotMs - 60 }
        #expect(final.used == modelUsed())
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.prefix(5))")
        #expect(refusals >= scenario.steps / 20, "too few refusals (\(refusals))")
        #expect(partialReservations >= 50 && settlements >= 500 && lateSettlements >= 5,
                "traffic too tame: \(partialReservations) partial reservations, \(settlements) settlements, \(lateSettlements) late")
    }

    @Test("the daily token cap over random days: counts per UTC day, refusals wait until midnight, old settlements ignored")
    func dailyCap() {
        var rng = SeededGenerator(seed: 21)
        let quota: Int64 = 50_000
        let dayMs: Int64 = 86_400_000
        func check(_ amount: Int64) -> LimitCheck {
            LimitCheck(counterKey: "k|daily", name: "daily-tokens", kind: .utcDay, mode: .upToRemaining, quota: quota,
                       amount: amount, unit: .tokens, summary: LimitPlanner.dailyCapMessage)
        }
        var counters = CounterTable()
        var dayUsed: [Int64: Int64] = [:]
        var pending: [Reservation] = []
        var failures: [String] = []
        var (refusals, days) = (0, Set<Int64>())
        var now = start

        for step in 0..<3_000 {
            now += rng.gap(windowMs: dayMs, perWindow: 40)
            let day = now / dayMs
            days.insert(day)
            if !pending.isEmpty, rng.next() % 100 < 40 {
                let reservation = pending.remove(at: Int(rng.below(Int64(pending.count))))
                let actual = rng.below(2 * reservation.amount + 1)
                LimitDecider.settle([SettlementEntry(reservation: reservation, actual: actual)], counters: &counters, nowMs: now)
                if reservation.slot == day { dayUsed[day, default: 0] += actual - reservation.amount }
            }
            let amount = 1 + rng.below(quota / 10)
            let used = dayUsed[day, default: 0]
            switch LimitDecider.decide([check(amount)], counters: &counters, nowMs: now) {
            case .admitted(let reservations, let states):
                let expected = min(amount, quota - used)
                if used >= quota || reservations.map(\.amount) != [expected] || reservations.first?.slot != day {
                    failures.append("#\(step): admitted \(reservations) at used \(used)")
                }
                if states.first?.resetSeconds != ceilSeconds((day + 1) * dayMs - now) { failures.append("#\(step): reset \(states)") }
                dayUsed[day, default: 0] += expected
                pending += reservations
            case .refused(let limit, let retryAfter, _):
                refusals += 1
                if used < quota || limit.summary != "Daily token cap reached" { failures.append("#\(step): refused at used \(used)") }
                if retryAfter != ceilSeconds((day + 1) * dayMs - now) { failures.append("#\(step): Retry-After \(retryAfter)") }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) disagreements, first: \(failures.prefix(5))")
        #expect(refusals >= 100 && days.count >= 20, "\(refusals) refusals over \(days.count) days")
    }
}

extension LimitPropertyTests {
    struct RequestScenario: Sendable, CustomTestStringConvertible {
        var seed: UInt64
        /// (window seconds, quota), decided together on every request.
        var limits: [(window: Int, quota: Int64)]
        var arrivals = 3_000
        var testDescription: String { limits.map { "\($0.quota)/\($0.window)s" }.joined(separator: " + ") }
    }

    struct TokenScenario: Sendable, CustomTestStringConvertible {
        var seed: UInt64
        var window: Int
        var quota: Int64
        /// Whether settlements may exceed their reservations (real usage beyond the estimate).
        var overrun: Bool
        var steps = 3_000
        var testDescription: String { "\(quota) tokens/\(window)s\(overrun ? ", overrunning" : "")" }
    }
}

extension SeededGenerator {
    /// A whole number in `0..<bound` (bound ≥ 1); the tiny modulo bias does not matter here.
    mutating func below(_ bound: Int64) -> Int64 {
        Int64(next() % UInt64(max(1, bound)))
    }
}

extension SeededGenerator {
    /// Milliseconds to the next arrival: bursts (nothing or a few ms apart), a steady stream of
    /// well over `perWindow` arrivals per window (so limits fill and refuse), short pauses, and
    /// now and then a pause longer than the whole window.
    mutating func gap(windowMs: Int64, perWindow: Int64) -> Int64 {
        switch below(1000) {
        case ..<590: below(5)
        case ..<987: below(windowMs / max(1, perWindow) + 1)
        case ..<997: below(windowMs / 4 + 1)
        default: windowMs + below(windowMs)
        }
    }
}
