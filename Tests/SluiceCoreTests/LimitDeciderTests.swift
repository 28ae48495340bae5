import SluiceCore
import Testing

/// 2026-01-01T00:00:00Z: midnight UTC, aligned to every slot length used here.
private let midnight: Int64 = 1_767_225_600_000
private let dayMs: Int64 = 86_400_000

private func requests(_ quota: Int64, window: Int = 60, key: String = "k|rpm", name: String = "rpm") -> LimitCheck {
    LimitCheck(counterKey: key, name: name, kind: .rolling(windowSeconds: window), mode: .whole, quota: quota, amount: 1,
               unit: .requests, summary: "\(quota) requests per \(window) s")
}

private func tokens(_ quota: Int64, amount: Int64, window: Int = 60, key: String = "k|tpm", name: String = "tpm") -> LimitCheck {
    LimitCheck(counterKey: key, name: name, kind: .rolling(windowSeconds: window), mode: .upToRemaining, quota: quota, amount: amount,
               unit: .tokens, summary: "\(quota) tokens per \(window) s")
}

private func daily(_ quota: Int64, amount: Int64, key: String = "k|daily") -> LimitCheck {
    LimitCheck(counterKey: key, name: "daily-tokens", kind: .utcDay, mode: .upToRemaining, quota: quota, amount: amount,
               unit: .tokens, summary: LimitPlanner.dailyCapMessage)
}

private func concurrent(_ quota: Int64, key: String = "k|concurrent") -> LimitCheck {
    LimitCheck(counterKey: key, name: "concurrent", kind: .concurrency, mode: .whole, quota: quota, amount: 1,
               unit: .concurrentRequests, summary: "\(quota) requests in flight")
}

private extension LimitDecision {
    var isAdmitted: Bool {
        if case .admitted = self { return true }
        return false
    }

    var reservations: [Reservation] {
        if case .admitted(let reservations, _) = self { return reservations }
        return []
    }

    var refusal: (limit: LimitCheck, retryAfter: Int)? {
        if case .refused(let limit, let retryAfter, _) = self { return (limit, retryAfter) }
        return nil
    }
}

/// Counters and a clock-free way to drive them, as the stores do.
private struct Bench {
    var counters = CounterTable()

    mutating func decide(_ checks: [LimitCheck], at nowMs: Int64) -> LimitDecision {
        LimitDecider.decide(checks, counters: &counters, nowMs: nowMs)
    }

    mutating func decide(_ check: LimitCheck, at nowMs: Int64) -> LimitDecision {
        decide([check], at: nowMs)
    }

    mutating func settle(_ reservation: Reservation, actual: Int64, at nowMs: Int64) {
        LimitDecider.settle([SettlementEntry(reservation: reservation, actual: actual)], counters: &counters, nowMs: nowMs)
    }

    /// What the counter holds at `nowMs`, without changing it.
    func used(_ key: String, at nowMs: Int64) -> Int64 {
        guard var counter = counters[key] else { return 0 }
        counter.refresh(nowMs: nowMs)
        return counter.used
    }
}

@Suite("Limit decider: token limits")
struct LimitDeciderTokenTests {
    @Test("a token limit admits while used is below quota and reserves at most what is left")
    func reservesWhatIsLeft() {
        var bench = Bench()
        let first = bench.decide(tokens(1_000, amount: 600), at: midnight)
        #expect(first.reservations.map(\.amount) == [600])
        #expect(first.states.map(\.remaining) == [400])
        let second = bench.decide(tokens(1_000, amount: 600), at: midnight + 10)
        #expect(second.reservations.map(\.amount) == [400])
        #expect(second.states.map(\.remaining) == [0])
        let third = bench.decide(tokens(1_000, amount: 1), at: midnight + 20)
        #expect(third.refusal?.limit.name == "tpm")
        #expect(third.refusal?.retryAfter == 60)
        #expect(bench.used("k|tpm", at: midnight + 20) == 1_000)
    }

    @Test("a huge max_tokens alone never refuses: it reserves the whole quota", arguments: [Int64(1_001), 1_000_000, 1 << 40])
    func hugeEstimate(amount: Int64) {
        var bench = Bench()
        let decision = bench.decide(tokens(1_000, amount: amount), at: midnight)
        #expect(decision.reservations.map(\.amount) == [1_000])
        #expect(decision.states.map(\.remaining) == [0])
    }

    @Test("a stream cut short settles to fewer tokens and frees the difference")
    func settleToFewer() {
        var bench = Bench()
        let reserved = bench.decide(tokens(1_000, amount: 5_000), at: midnight).reservations[0]
        #expect(bench.decide(tokens(1_000, amount: 1), at: midnight + 1).refusal != nil)
        bench.settle(reserved, actual: 300, at: midnight + 2_000)
        #expect(bench.used("k|tpm", at: midnight + 2_000) == 300)
        let next = bench.decide(tokens(1_000, amount: 5_000), at: midnight + 2_000)
        #expect(next.reservations.map(\.amount) == [700])
    }

    @Test("a call that used more than it reserved settles to the real amount")
    func settleToMore() {
        var bench = Bench()
        let reserved = bench.decide(tokens(1_000, amount: 100), at: midnight).reservations[0]
        bench.settle(reserved, actual: 900, at: midnight + 500)
        #expect(bench.used("k|tpm", at: midnight + 500) == 900)
        #expect(bench.decide(tokens(1_000, amount: 500), at: midnight + 600).reservations.map(\.amount) == [100])
    }

    @Test("a settlement corrects tokens and releases the lease, but the request stays counted")
    func settlementLeavesRequestsCounted() {
        var bench = Bench()
        let checks = [requests(2), tokens(1_000, amount: 500), concurrent(1)]
        let decision = bench.decide(checks, at: midnight)
        LimitDecider.settle(decision.reservations.map { SettlementEntry(reservation: $0, actual: 0) }, counters: &bench.counters, nowMs: midnight + 100)
        #expect(bench.used("k|rpm", at: midnight + 100) == 1)
        #expect(bench.used("k|tpm", at: midnight + 100) == 0)
        #expect(bench.used("k|concurrent", at: midnight + 100) == 0)
        #expect(bench.decide(checks, at: midnight + 200).isAdmitted)
        #expect(bench.decide(checks, at: midnight + 300).refusal?.limit.name == "rpm")
    }

    @Test("a settlement corrects the slot its reservation went into, not the current one", arguments: [Int64(800), 200])
    func settleCorrectsItsSlot(actual: Int64) {
        var bench = Bench()
        let early = bench.decide(tokens(10_000, amount: 500), at: midnight).reservations[0]           // slot 0
        _ = bench.decide(tokens(10_000, amount: 300), at: midnight + 30_000)                          // slot 30
        bench.settle(early, actual: actual, at: midnight + 45_000)
        #expect(bench.used("k|tpm", at: midnight + 59_999) == actual + 300)
        // Slot 0 leaves at 60 s and takes the whole correction with it.
        #expect(bench.used("k|tpm", at: midnight + 60_000) == 300)
    }

    @Test("a settlement for a slot that has left the window changes nothing")
    func settleExpiredSlot() {
        var bench = Bench()
        let old = bench.decide(tokens(1_000, amount: 400), at: midnight).reservations[0]
        _ = bench.decide(tokens(1_000, amount: 100), at: midnight + 60_000)      // slot 0 has left
        bench.settle(old, actual: 5_000, at: midnight + 61_000)
        #expect(bench.used("k|tpm", at: midnight + 61_000) == 100)
        bench.settle(old, actual: 0, at: midnight + 61_000)
        #expect(bench.used("k|tpm", at: midnight + 61_000) == 100)

        // Also when no decision pruned the slot before the late settlement arrived.
        var quiet = Bench()
        let lone = quiet.decide(tokens(1_000, amount: 400), at: midnight).reservations[0]
        quiet.settle(lone, actual: 1_000_000, at: midnight + 90_000)
        let after = quiet.decide(tokens(1_000, amount: 10), at: midnight + 90_000)
        #expect(after.reservations.map(\.amount) == [10])
        #expect(after.states.map(\.remaining) == [990])
    }

    @Test("remaining never goes below zero, even when calls overrun their reservations")
    func remainingNeverNegative() {
        var bench = Bench()
        let reserved = bench.decide(tokens(1_000, amount: 1_000), at: midnight).reservations[0]
        bench.settle(reserved, actual: 4_000, at: midnight + 100)
        #expect(bench.used("k|tpm", at: midnight + 100) == 4_000)
        let refused = bench.decide(tokens(1_000, amount: 1), at: midnight + 200)
        #expect(refused.states.map(\.remaining) == [0])
        #expect(bench.counters["k|tpm"]!.state(tokens(1_000, amount: 1), nowMs: midnight + 200).remaining == 0)
        // Settling below zero clamps the slot at zero.
        bench.settle(reserved, actual: -10_000, at: midnight + 300)
        #expect(bench.used("k|tpm", at: midnight + 300) == 0)
    }

    @Test("a refused token request waits until enough slots leave to bring used below quota")
    func tokenRetryAfter() {
        var bench = Bench()
        _ = bench.decide(tokens(1_000, amount: 600), at: midnight + 100)        // slot 0
        _ = bench.decide(tokens(1_000, amount: 600), at: midnight + 20_100)     // slot 20, gets 400
        let refused = bench.decide(tokens(1_000, amount: 50), at: midnight + 30_500)
        // Slot 0 leaving at 60 s brings used to 400 < 1000: 29.5 s, rounded up to 30.
        #expect(refused.refusal?.retryAfter == 30)
        var early = bench
        #expect(early.decide(tokens(1_000, amount: 50), at: midnight + 59_999).refusal != nil)
        #expect(bench.decide(tokens(1_000, amount: 50), at: midnight + 60_000).reservations.map(\.amount) == [50])
    }
}

@Suite("Limit decider: the UTC day")
struct LimitDeciderDayTests {
    @Test("23:59:59.999 and 00:00:00.000 UTC are different days")
    func dayBoundary() {
        var bench = Bench()
        let lastMs = midnight + dayMs - 1
        #expect(bench.decide(daily(100, amount: 100), at: lastMs).reservations.map(\.amount) == [100])
        #expect(bench.decide(daily(100, amount: 1), at: lastMs).refusal?.retryAfter == 1)
        let nextDay = bench.decide(daily(100, amount: 30), at: midnight + dayMs)
        #expect(nextDay.reservations.map(\.amount) == [30])
        #expect(nextDay.states.map(\.remaining) == [70])
    }

    @Test("a refusal by the daily cap waits until 00:00 UTC", arguments: [
        (82_800_000, 3_600), (43_200_000, 43_200), (86_399_000, 1), (86_399_999, 1),
        (86_398_500, 2), (1, 86_400), (0, 86_400), (3_600_001, 82_800),
    ] as [(Int64, Int)])
    func retryAfterIsMidnight(msIntoDay: Int64, seconds: Int) {
        var bench = Bench()
        let now = midnight + msIntoDay
        _ = bench.decide(daily(100, amount: 1_000), at: now)
        let refused = bench.decide(daily(100, amount: 1), at: now)
        #expect(refused.refusal?.retryAfter == seconds)
        #expect(refused.states.first?.resetSeconds == seconds)
    }

    @Test("the daily cap's refusal is worded exactly `Daily token cap reached`")
    func message() throws {
        var bench = Bench()
        let checks = try LimitPlanner.checks(keyID: "k", limits: KeyLimits(rpm: 100, dailyTokenCap: 500), headerPolicies: [],
                                             segments: RequestSegments(userID: nil, properties: [:]),
                                             estimate: UsageEstimate(tokens: 800, cost: .zero))
        _ = bench.decide(checks, at: midnight + 23 * 3_600_000)
        let refused = bench.decide(checks, at: midnight + 23 * 3_600_000)
        #expect(refused.refusal?.limit.name == "daily-tokens")
        #expect(refused.refusal?.limit.summary == "Daily token cap reached")
        #expect(LimitPlanner.dailyCapMessage == "Daily token cap reached")
        #expect(refused.refusal?.retryAfter == 3_600)
    }

    @Test("settling yesterday's reservation does not touch today's count", arguments: [Int64(0), 50_000])
    func yesterdayDoesNotTouchToday(actual: Int64) {
        var bench = Bench()
        let yesterday = bench.decide(daily(1_000, amount: 500), at: midnight - 1_000).reservations[0]
        _ = bench.decide(daily(1_000, amount: 200), at: midnight + 1_000)
        bench.settle(yesterday, actual: actual, at: midnight + 2_000)
        #expect(bench.used("k|daily", at: midnight + 2_000) == 200)
    }

    @Test("a decision whose clock read a moment before midnight, decided after the new day began, does not wipe the new day")
    func lateClockAtMidnight() {
        var bench = Bench()
        let today = bench.decide(daily(1_000, amount: 300), at: midnight).reservations[0]
        // Read 1 ms earlier but decided later: counted in the day the counter is in, never resetting it.
        let late = bench.decide(daily(1_000, amount: 200), at: midnight - 1)
        #expect(late.reservations.map(\.slot) == [today.slot])
        #expect(bench.used("k|daily", at: midnight + 1) == 500)
        bench.settle(today, actual: 100, at: midnight + 2)
        #expect(bench.used("k|daily", at: midnight + 2) == 300)
        #expect(!bench.counters["k|daily"]!.isIdle(nowMs: midnight - 1))
    }

    @Test("today's settlement corrects today's count")
    func todaySettles() {
        var bench = Bench()
        let today = bench.decide(daily(1_000, amount: 500), at: midnight + 1_000).reservations[0]
        bench.settle(today, actual: 120, at: midnight + 2_000)
        #expect(bench.used("k|daily", at: midnight + 2_000) == 120)
        bench.settle(today, actual: 5_000, at: midnight + 3_000)
        #expect(bench.used("k|daily", at: midnight + 3_000) == 4_620)
        #expect(bench.decide(daily(1_000, amount: 1), at: midnight + 3_000).states.map(\.remaining) == [0])
    }
}

@Suite("Limit decider: concurrency")
struct LimitDeciderConcurrencyTests {
    @Test("max_concurrent N admits N, then refuses with Retry-After 1 until a settlement", arguments: [Int64(1), 3, 10])
    func admitsNThenRefuses(quota: Int64) {
        var bench = Bench()
        var leases: [Reservation] = []
        for index in 0..<quota {
            let decision = bench.decide(concurrent(quota), at: midnight + index)
            leases += decision.reservations
            #expect(decision.states.map(\.remaining) == [quota - index - 1])
        }
        #expect(leases.count == Int(quota))
        // Time alone never frees a lease.
        for wait in [Int64(0), 1_000, 3_600_000, 2 * dayMs] {
            let refused = bench.decide(concurrent(quota), at: midnight + quota + wait)
            #expect(refused.refusal?.limit.name == "concurrent")
            #expect(refused.refusal?.retryAfter == 1)
        }
        bench.settle(leases[0], actual: 0, at: midnight + 2 * dayMs)
        #expect(bench.decide(concurrent(quota), at: midnight + 2 * dayMs).isAdmitted)
        #expect(bench.decide(concurrent(quota), at: midnight + 2 * dayMs).refusal?.retryAfter == 1)
    }

    @Test("a lease is released by its settlement whatever the actual amount says")
    func releaseIgnoresActual() {
        var bench = Bench()
        let lease = bench.decide(concurrent(2), at: midnight).reservations[0]
        #expect(lease.amount == 1)
        #expect(bench.used("k|concurrent", at: midnight) == 1)
        bench.settle(lease, actual: 1_000, at: midnight + 5)
        #expect(bench.used("k|concurrent", at: midnight + 5) == 0)
    }

    @Test("settling more leases than are held never drives the count below zero")
    func neverBelowZero() {
        var bench = Bench()
        let lease = bench.decide(concurrent(2), at: midnight).reservations[0]
        for _ in 0..<3 { bench.settle(lease, actual: 0, at: midnight + 1) }
        #expect(bench.used("k|concurrent", at: midnight + 1) == 0)
        // Had it gone to -2, a third request would be admitted.
        #expect(bench.decide(concurrent(2), at: midnight + 2).isAdmitted)
        #expect(bench.decide(concurrent(2), at: midnight + 2).isAdmitted)
        #expect(bench.decide(concurrent(2), at: midnight + 2).refusal != nil)
    }
}

@Suite("Limit decider: all or nothing")
struct LimitDeciderAllOrNothingTests {
    @Test("when one limit refuses, no counter changes", arguments: ["rpm", "tpm", "daily-tokens", "concurrent", "header-1"])
    func refusalCountsNothing(refuser: String) {
        let quotas: [String: Int64] = ["rpm": 5, "tpm": 1_000, "daily-tokens": 1_500, "concurrent": 5, "header-1": 5]
        func checks(_ exhausted: String?) -> [LimitCheck] {
            func quota(_ name: String) -> Int64 { name == exhausted ? 1 : quotas[name]! }
            return [requests(quota("rpm")), tokens(quota("tpm"), amount: 100), daily(quota("daily-tokens"), amount: 100),
                    concurrent(quota("concurrent")), requests(quota("header-1"), window: 90, key: "k|policy|h", name: "header-1")]
        }
        var bench = Bench()
        #expect(bench.decide(checks(nil), at: midnight).isAdmitted)
        #expect(bench.decide(checks(nil), at: midnight + 20_000).isAdmitted)

        let now = midnight + 30_000
        var before = bench.counters.counters
        for key in before.keys { before[key]!.refresh(nowMs: now) }
        let decision = bench.decide(checks(refuser), at: now)
        #expect(decision.refusal?.limit.name == refuser)
        #expect(bench.counters.counters == before)
        #expect(bench.counters.counters.mapValues(\.used) == ["k|rpm": 2, "k|tpm": 200, "k|daily": 200, "k|concurrent": 2, "k|policy|h": 2])
    }

    @Test("a refusal by a fresh limit leaves the other limits' new counters empty")
    func refusalWithFreshCounters() {
        var bench = Bench()
        let checks = [requests(10), tokens(1_000, amount: 10), concurrent(0)]
        #expect(bench.decide(checks, at: midnight).refusal?.limit.name == "concurrent")
        #expect(bench.counters.counters.values.allSatisfy { $0.used == 0 })
    }

    @Test("the refusal names the limit with the longest Retry-After; ties go to the first")
    func longestWaitNamed() {
        var bench = Bench()
        // rpm fills in slot 0 (leaves at 60 s); the 90 s policy fills in slot 0 of 1.5 s (leaves at 90 s).
        let rpm = requests(1)
        let policy = requests(1, window: 90, key: "k|policy|a", name: "header-1")
        let cap = daily(10, amount: 10)
        #expect(bench.decide([rpm, policy, cap, concurrent(5)], at: midnight).isAdmitted)

        let now = midnight + 50_000
        var a = bench
        let both = a.decide([rpm, policy, concurrent(5)], at: now)
        #expect(both.refusal?.limit.name == "header-1")
        #expect(both.refusal?.retryAfter == 40)
        var b = bench
        let withCap = b.decide([rpm, cap, policy, concurrent(5)], at: now)
        #expect(withCap.refusal?.limit.name == "daily-tokens")
        #expect(withCap.refusal?.retryAfter == 86_400 - 50)
        var c = bench
        // Both wait 1 s (rpm's slot 0 leaves at 60 s): the first refuser is named.
        let sameWait = c.decide([concurrent(1), rpm], at: midnight + 59_000)
        #expect(sameWait.refusal?.limit.name == "concurrent")
        #expect(sameWait.refusal?.retryAfter == 1)
        #expect(c.decide([rpm, concurrent(1)], at: midnight + 59_000).refusal?.limit.name == "rpm")
        #expect(c.counters["k|concurrent"]?.used == 1)

        var d = bench
        let twin = requests(1, key: "k|policy|b", name: "header-2")
        _ = d.decide([twin], at: midnight)
        let tie = d.decide([twin, rpm], at: midnight + 10_000)
        #expect(tie.refusal?.limit.name == "header-2")
        #expect(tie.refusal?.retryAfter == 50)
        #expect(d.decide([rpm, twin], at: midnight + 10_000).refusal?.limit.name == "rpm")
    }

    @Test("two checks on one counter are decided and counted once")
    func duplicateCountedOnce() {
        var bench = Bench()
        let preset = requests(2, key: "k|policy|2;w=60;u=request|", name: "preset-1")
        var header = preset
        header.name = "header-1"
        let first = bench.decide([preset, header], at: midnight)
        #expect(first.reservations.count == 1)
        #expect(first.states.map(\.check.name) == ["preset-1", "header-1"])
        #expect(first.states.map(\.remaining) == [1, 1])
        #expect(bench.used(preset.counterKey, at: midnight) == 1)
        #expect(bench.decide([preset, header], at: midnight + 1).isAdmitted)
        #expect(bench.decide([preset, header], at: midnight + 2).refusal?.limit.name == "preset-1")

        let tokenCheck = tokens(1_000, amount: 300)
        let twice = bench.decide([tokenCheck, tokenCheck], at: midnight)
        #expect(twice.reservations.map(\.amount) == [300])
        #expect(bench.used("k|tpm", at: midnight) == 300)
    }
}

@Suite("Limit decider: states for the headers")
struct LimitDeciderStateTests {
    @Test("after admission remaining is the quota less what is used, this request included")
    func remainingIncludesThisRequest() {
        var bench = Bench()
        let checks = [requests(5), tokens(1_000, amount: 300), daily(10_000, amount: 300), concurrent(4)]
        let first = bench.decide(checks, at: midnight + 10_000)
        #expect(first.states.map(\.remaining) == [4, 700, 9_700, 3])
        let second = bench.decide(checks, at: midnight + 11_000)
        #expect(second.states.map(\.remaining) == [3, 400, 9_400, 2])
        #expect(second.states.map(\.check) == checks)
    }

    @Test("a refusal reports the state before the request: nothing of it counted")
    func refusedStates() {
        var bench = Bench()
        _ = bench.decide([requests(1), tokens(1_000, amount: 300)], at: midnight)
        let refused = bench.decide([requests(1), tokens(1_000, amount: 300)], at: midnight + 1_000)
        #expect(refused.states.map(\.remaining) == [0, 700])
    }

    @Test("an unused rolling limit reports a reset of its whole window", arguments: [60, 90, 3600])
    func unusedRollingReset(windowSeconds: Int) {
        var bench = Bench()
        let decision = bench.decide([concurrent(0), tokens(100, amount: 5, window: windowSeconds)], at: midnight + 12_345)
        #expect(decision.refusal != nil)
        #expect(decision.states.map(\.resetSeconds) == [nil, windowSeconds])
        #expect(LimitCounter(kind: .rolling(windowSeconds: windowSeconds)).state(tokens(100, amount: 5, window: windowSeconds), nowMs: midnight).resetSeconds == windowSeconds)
    }

    @Test("a used rolling limit resets when its oldest counted slot leaves, rounded up to whole seconds")
    func usedRollingReset() {
        var bench = Bench()
        #expect(bench.decide(requests(10), at: midnight).states.first?.resetSeconds == 60)
        #expect(bench.decide(requests(10), at: midnight + 30_000).states.first?.resetSeconds == 30)
        #expect(bench.decide(requests(10), at: midnight + 30_001).states.first?.resetSeconds == 30)
        #expect(bench.decide(requests(10), at: midnight + 59_999).states.first?.resetSeconds == 1)
        // Slot 0 has left at 60 s; the oldest is now slot 30.
        #expect(bench.decide(requests(10), at: midnight + 60_000).states.first?.resetSeconds == 30)
    }

    @Test("concurrency reports no reset; the day resets at midnight")
    func otherResets() {
        var bench = Bench()
        let decision = bench.decide([concurrent(3), daily(10, amount: 1)], at: midnight + 22 * 3_600_000 + 500)
        #expect(decision.states.map(\.resetSeconds) == [nil, 7_200])
        #expect(decision.states.first?.check.windowSeconds == nil)
        #expect(decision.states.last?.check.windowSeconds == 86_400)
    }

    @Test("cent limits count nano-dollars: the quota is cents × 10,000,000")
    func centsAreNanoDollars() throws {
        var bench = Bench()
        let policy = try PolicyParser.parse("5;w=60;u=cents")
        let checks = try LimitPlanner.checks(keyID: "k", limits: KeyLimits(), headerPolicies: [policy],
                                             segments: RequestSegments(userID: nil, properties: [:]),
                                             estimate: UsageEstimate(tokens: 1_000, cost: NanoDollars(12_345_678)))
        #expect(checks.map(\.quota) == [50_000_000])
        #expect(checks.map(\.amount) == [12_345_678])
        #expect(checks.map(\.unit) == [.cents])
        #expect(LimitUnit.cents.counterUnitsPerUnit == 10_000_000)
        let decision = bench.decide(checks, at: midnight)
        #expect(decision.reservations.map(\.amount) == [12_345_678])
        #expect(decision.states.map(\.remaining) == [50_000_000 - 12_345_678])
    }
}
