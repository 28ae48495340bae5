import Foundation
import SluiceCore
import SluiceStore
import Testing

/// The stores the conformance suite runs on: memory always, Redis when one is given (and always
/// in CI, where a missing one fails).
enum ConformanceStoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case memory, redis

    static var available: [ConformanceStoreKind] { RedisTestSupport.enabled ? [.memory, .redis] : [.memory] }

    var description: String { rawValue }
}

/// A store under test and how to make it drop idle counters (the memory store's `sweep`; Redis
/// drops them by expiry and `liveCounters` never lists an idle one).
struct ConformanceStore: Sendable {
    let store: any CounterStore
    let sweep: @Sendable (Int64) -> Void

    /// Runs `body` on a fresh store of `kind`. Redis runs with the caller's clock
    /// (`TimeSource.caller`), so each case pins times exactly as for memory and expects the very
    /// same numbers; its own clock is covered by `RedisCounterStoreTests`. Its lease timeout is
    /// 30 days here, longer than any case waits: the memory store has none.
    static func with(_ kind: ConformanceStoreKind, _ body: (ConformanceStore) async throws -> Void) async throws {
        switch kind {
        case .memory:
            let store = MemoryCounterStore()
            try await body(ConformanceStore(store: store, sweep: { store.sweep(nowMs: $0) }))
        case .redis:
            try await RedisTestSupport.withStore(timeSource: .caller) { store, _ in
                try await body(ConformanceStore(store: store, sweep: { _ in }))
            }
        }
    }

    func decide(_ checks: [LimitCheck], _ shard: String = "key_a", at nowMs: Int64) async throws -> LimitDecision {
        try await store.decide(checks, shard: shard, nowMs: nowMs)
    }

    func settle(_ decision: LimitDecision, actual: Int64, _ shard: String = "key_a", at nowMs: Int64) async throws {
        try await store.settle(decision.reservations.map { SettlementEntry(reservation: $0, actual: actual) }, shard: shard, nowMs: nowMs)
    }

    func settle(_ reservation: Reservation, actual: Int64, _ shard: String = "key_a", at nowMs: Int64) async throws {
        try await store.settle([SettlementEntry(reservation: reservation, actual: actual)], shard: shard, nowMs: nowMs)
    }

    /// What each live counter of a shard holds at `nowMs`, by limit name (segments appended),
    /// after idle counters are dropped.
    func used(_ shard: String = "key_a", at nowMs: Int64) async throws -> [String: Int64] {
        sweep(nowMs)
        var result: [String: Int64] = [:]
        for counter in try await store.liveCounters(shard: shard, nowMs: nowMs) {
            result[counter.limit + (counter.segment.map { " " + $0 } ?? "")] = counter.used
        }
        return result
    }
}

/// 2026-01-01T00:00:00Z: midnight UTC, aligned to every slot length used here.
private let midnight: Int64 = 1_767_225_600_000
private let dayMs: Int64 = 86_400_000

private func plan(_ keyID: String = "key_a", _ limits: KeyLimits = KeyLimits(), header: String? = nil, user: String? = nil,
                  properties: [String: String] = [:], tokens: Int64 = 100, cost: Int64 = 30_000_000) throws -> [LimitCheck] {
    try LimitPlanner.checks(keyID: keyID, limits: limits, headerPolicies: header.map { try PolicyParser.parseList($0) } ?? [],
                            segments: RequestSegments(userID: user, properties: properties),
                            estimate: UsageEstimate(tokens: tokens, cost: NanoDollars(cost)))
}

private func requests(_ quota: Int64, window: Int = 60, key: String = "key_a|rpm", name: String = "rpm") -> LimitCheck {
    LimitCheck(counterKey: key, name: name, kind: .rolling(windowSeconds: window), mode: .whole, quota: quota, amount: 1,
               unit: .requests, summary: "\(quota) requests per \(window) s")
}

private func tokens(_ quota: Int64, amount: Int64, window: Int = 60, key: String = "key_a|tpm", name: String = "tpm") -> LimitCheck {
    LimitCheck(counterKey: key, name: name, kind: .rolling(windowSeconds: window), mode: .upToRemaining, quota: quota, amount: amount,
               unit: .tokens, summary: "\(quota) tokens per \(window) s")
}

private func daily(_ quota: Int64, amount: Int64, key: String = "key_a|daily") -> LimitCheck {
    LimitCheck(counterKey: key, name: "daily-tokens", kind: .utcDay, mode: .upToRemaining, quota: quota, amount: amount,
               unit: .tokens, summary: LimitPlanner.dailyCapMessage)
}

private func concurrent(_ quota: Int64, key: String = "key_a|concurrent") -> LimitCheck {
    LimitCheck(counterKey: key, name: "concurrent", kind: .concurrency, mode: .whole, quota: quota, amount: 1,
               unit: .concurrentRequests, summary: "\(quota) requests in flight")
}

/// Every case is written once and run on each store: the Redis store must decide exactly as
/// the memory store does.
@Suite("Counter store conformance")
struct CounterStoreConformance {
    @Test("rpm admits its quota within the window, refuses until the oldest slot leaves, then admits again", arguments: ConformanceStoreKind.available)
    func rpmBoundaries(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let checks = [requests(3)]
            #expect(try await s.decide(checks, at: midnight + 100).states.map(\.remaining) == [2])
            #expect(try await s.decide(checks, at: midnight + 20_000).states.map(\.remaining) == [1])
            #expect(try await s.decide(checks, at: midnight + 20_500).states.map(\.remaining) == [0])
            let refused = try await s.decide(checks, at: midnight + 30_250)
            #expect(refused.refusal?.limit.name == "rpm")
            #expect(refused.refusal?.retryAfter == 30)          // slot 0 leaves at 60 s: 29.75 s, rounded up
            #expect(refused.states.map(\.remaining) == [0])
            #expect(refused.states.map(\.resetSeconds) == [30])
            #expect(try await s.decide(checks, at: midnight + 59_999).refusal?.retryAfter == 1)
            let again = try await s.decide(checks, at: midnight + 60_000)
            #expect(again.isAdmitted)
            #expect(again.states.map(\.remaining) == [0])
            #expect(again.states.map(\.resetSeconds) == [20])   // oldest is now slot 20
            #expect(try await s.decide(checks, at: midnight + 60_001).refusal?.retryAfter == 20)
        }
    }

    @Test("a token limit reserves at most what is left and refuses only once used reaches the quota", arguments: ConformanceStoreKind.available)
    func tokenReservations(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let first = try await s.decide([tokens(1_000, amount: 600)], at: midnight)
            #expect(first.reservations.map(\.amount) == [600])
            #expect(first.states.map(\.remaining) == [400])
            let second = try await s.decide([tokens(1_000, amount: 600)], at: midnight + 10)
            #expect(second.reservations.map(\.amount) == [400])
            #expect(second.states.map(\.remaining) == [0])
            let third = try await s.decide([tokens(1_000, amount: 1)], at: midnight + 20)
            #expect(third.refusal?.limit.name == "tpm")
            #expect(third.refusal?.retryAfter == 60)
            #expect(try await s.used(at: midnight + 20) == ["tpm": 1_000])
            // A huge max_tokens alone never refuses.
            let huge = try await s.decide([tokens(1_000, amount: 1 << 40, key: "key_a|tpm2")], at: midnight)
            #expect(huge.reservations.map(\.amount) == [1_000])
        }
    }

    @Test("settling to fewer tokens frees the difference; settling to more counts the real amount", arguments: ConformanceStoreKind.available)
    func settleDownAndUp(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let down = try await s.decide([tokens(1_000, amount: 5_000)], at: midnight).reservations[0]
            #expect(try await s.decide([tokens(1_000, amount: 1)], at: midnight + 1).refusal != nil)
            try await s.settle(down, actual: 300, at: midnight + 2_000)
            #expect(try await s.used(at: midnight + 2_000) == ["tpm": 300])
            #expect(try await s.decide([tokens(1_000, amount: 5_000)], at: midnight + 2_000).reservations.map(\.amount) == [700])

            let up = try await s.decide([tokens(1_000, amount: 100, key: "key_a|tpm2")], at: midnight).reservations[0]
            try await s.settle(up, actual: 900, at: midnight + 500)
            #expect(try await s.decide([tokens(1_000, amount: 500, key: "key_a|tpm2")], at: midnight + 600).reservations.map(\.amount) == [100])
            // Overrun: used above quota, remaining stays at zero; settling below zero clamps the slot.
            let over = try await s.decide([tokens(1_000, amount: 1_000, key: "key_a|tpm3")], at: midnight).reservations[0]
            try await s.settle(over, actual: 4_000, at: midnight + 100)
            #expect(try await s.decide([tokens(1_000, amount: 1, key: "key_a|tpm3")], at: midnight + 200).states.map(\.remaining) == [0])
            try await s.settle(over, actual: -10_000, at: midnight + 300)
            #expect(try await s.decide([tokens(1_000, amount: 1, key: "key_a|tpm3")], at: midnight + 300).states.map(\.remaining) == [999])
        }
    }

    @Test("a settlement corrects the slot its reservation went into, and a slot that has left is not revived", arguments: ConformanceStoreKind.available)
    func settleCorrectsItsSlot(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let early = try await s.decide([tokens(10_000, amount: 500)], at: midnight).reservations[0]      // slot 0
            _ = try await s.decide([tokens(10_000, amount: 300)], at: midnight + 30_000)                     // slot 30
            try await s.settle(early, actual: 800, at: midnight + 45_000)
            #expect(try await s.used(at: midnight + 59_999) == ["tpm": 1_100])
            #expect(try await s.used(at: midnight + 60_000) == ["tpm": 300])
            try await s.settle(early, actual: 5_000, at: midnight + 61_000)
            #expect(try await s.used(at: midnight + 61_000) == ["tpm": 300])
            let after = try await s.decide([tokens(10_000, amount: 10)], at: midnight + 61_000)
            #expect(after.states.map(\.remaining) == [10_000 - 310])
        }
    }

    @Test("a refused request counts nowhere", arguments: ConformanceStoreKind.available.flatMap { kind in
        ["rpm", "tpm", "daily-tokens", "concurrent", "header-1"].map { (kind, $0) }
    })
    func allOrNothing(kind: ConformanceStoreKind, refuser: String) async throws {
        try await ConformanceStore.with(kind) { s in
            let quotas: [String: Int64] = ["rpm": 5, "tpm": 1_000, "daily-tokens": 1_500, "concurrent": 5, "header-1": 5]
            func checks(_ exhausted: String?) -> [LimitCheck] {
                func quota(_ name: String) -> Int64 { name == exhausted ? 1 : quotas[name]! }
                return [requests(quota("rpm")), tokens(quota("tpm"), amount: 100), daily(quota("daily-tokens"), amount: 100),
                        concurrent(quota("concurrent")), requests(quota("header-1"), window: 90, key: "key_a|policy|h", name: "header-1")]
            }
            #expect(try await s.decide(checks(nil), at: midnight).isAdmitted)
            #expect(try await s.decide(checks(nil), at: midnight + 20_000).isAdmitted)
            let decision = try await s.decide(checks(refuser), at: midnight + 30_000)
            #expect(decision.refusal?.limit.name == refuser)
            #expect(try await s.used(at: midnight + 30_000) == ["rpm": 2, "tpm": 200, "daily-tokens": 200, "concurrent": 2, "header-1": 2])
            // Fresh counters refused by another limit stay empty.
            let fresh = try await s.decide([requests(10, key: "key_a|r2"), tokens(1_000, amount: 10, key: "key_a|t2"), concurrent(0, key: "key_a|c2")],
                                           at: midnight + 30_000)
            #expect(fresh.refusal?.limit.name == "concurrent")
            #expect(try await s.used(at: midnight + 30_000).count == 5)
        }
    }

    @Test("two checks on one counter are decided and counted once", arguments: ConformanceStoreKind.available)
    func duplicateChecks(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let preset = requests(2, key: "key_a|policy|2;w=60;u=request|", name: "preset-1")
            var header = preset
            header.name = "header-1"
            let first = try await s.decide([preset, header], at: midnight)
            #expect(first.reservations.count == 1)
            #expect(first.states.map(\.check.name) == ["preset-1", "header-1"])
            #expect(first.states.map(\.remaining) == [1, 1])
            #expect(try await s.decide([preset, header], at: midnight + 1).isAdmitted)
            #expect(try await s.decide([preset, header], at: midnight + 2).refusal?.limit.name == "preset-1")
            let tokenCheck = tokens(1_000, amount: 300)
            let twice = try await s.decide([tokenCheck, tokenCheck], at: midnight)
            #expect(twice.reservations.map(\.amount) == [300])
            #expect(twice.states.map(\.remaining) == [700, 700])
        }
    }

    @Test("the refusal names the limit with the longest Retry-After; ties go to the first", arguments: ConformanceStoreKind.available)
    func longestWaitNamed(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let rpm = requests(1)
            let policy = requests(1, window: 90, key: "key_a|policy|a", name: "header-1")
            let cap = daily(10, amount: 10)
            #expect(try await s.decide([rpm, policy, cap, concurrent(5)], at: midnight).isAdmitted)
            let both = try await s.decide([rpm, policy, concurrent(5)], at: midnight + 50_000)
            #expect(both.refusal?.limit.name == "header-1")
            #expect(both.refusal?.retryAfter == 40)
            let withCap = try await s.decide([rpm, cap, policy, concurrent(5)], at: midnight + 50_000)
            #expect(withCap.refusal?.limit.name == "daily-tokens")
            #expect(withCap.refusal?.retryAfter == 86_400 - 50)
            #expect(try await s.decide([concurrent(1), rpm], at: midnight + 59_000).refusal?.limit.name == "concurrent")
            let tie = try await s.decide([concurrent(1), rpm], at: midnight + 59_000)
            #expect(tie.refusal?.retryAfter == 1)
            #expect(try await s.decide([rpm, concurrent(1)], at: midnight + 59_000).refusal?.limit.name == "rpm")
        }
    }

    @Test("states report remaining after this request, and resets measured to the oldest counted slot", arguments: ConformanceStoreKind.available)
    func statesAndResets(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let checks = [requests(5), tokens(1_000, amount: 300), daily(10_000, amount: 300), concurrent(4)]
            let first = try await s.decide(checks, at: midnight + 10_000)
            #expect(first.states.map(\.remaining) == [4, 700, 9_700, 3])
            #expect(first.states.map(\.resetSeconds) == [60, 60, 86_390, nil])
            let second = try await s.decide(checks, at: midnight + 11_000)
            #expect(second.states.map(\.remaining) == [3, 400, 9_400, 2])
            #expect(second.states.map(\.check) == checks)

            let resets = requests(10, key: "key_a|r10")
            #expect(try await s.decide([resets], at: midnight).states.first?.resetSeconds == 60)
            #expect(try await s.decide([resets], at: midnight + 30_000).states.first?.resetSeconds == 30)
            #expect(try await s.decide([resets], at: midnight + 30_001).states.first?.resetSeconds == 30)
            #expect(try await s.decide([resets], at: midnight + 59_999).states.first?.resetSeconds == 1)
            #expect(try await s.decide([resets], at: midnight + 60_000).states.first?.resetSeconds == 30)

            // An unused rolling limit reports its whole window, also on a 90 s policy (1.5 s slots).
            let unused = try await s.decide([concurrent(0, key: "key_a|c0"), tokens(100, amount: 5, window: 90, key: "key_a|t90")], at: midnight + 12_345)
            #expect(unused.states.map(\.resetSeconds) == [nil, 90])
            // A refused token request waits until enough slots leave to bring used below quota.
            _ = try await s.decide([tokens(1_000, amount: 600, key: "key_a|tw")], at: midnight + 100)
            _ = try await s.decide([tokens(1_000, amount: 600, key: "key_a|tw")], at: midnight + 20_100)
            #expect(try await s.decide([tokens(1_000, amount: 50, key: "key_a|tw")], at: midnight + 30_500).refusal?.retryAfter == 30)
            #expect(try await s.decide([tokens(1_000, amount: 50, key: "key_a|tw")], at: midnight + 60_000).reservations.map(\.amount) == [50])
        }
    }

    @Test("a full 60-slot window: remaining and reset after admission skip slots settled to zero; a refusal waits for enough slots to leave",
          arguments: ConformanceStoreKind.available)
    func fullWindow(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            // 100 tokens in each of slots 0...58, the first ten settled to nothing.
            for second in 0..<59 {
                let decision = try await s.decide([tokens(6_000, amount: 100), requests(1_000)], at: midnight + Int64(second) * 1_000 + 250)
                if second < 10 { try await s.settle(decision.reservations[0], actual: 0, at: midnight + Int64(second) * 1_000 + 500) }
            }
            let admitted = try await s.decide([tokens(6_000, amount: 100), requests(1_000)], at: midnight + 59_500)
            #expect(admitted.reservations.map(\.amount) == [100, 1])
            #expect(admitted.states.map(\.remaining) == [1_000, 940])       // 5,000 tokens and 60 requests counted
            #expect(admitted.states.map(\.resetSeconds) == [11, 1])   // slot 10 (the oldest counted token) leaves at 70 s; slot 0 at 60 s
            // 5,000 counted: a request for 1,500 more tokens gets 1,000, then the window is full.
            #expect(try await s.decide([tokens(6_000, amount: 1_500)], at: midnight + 59_600).reservations.map(\.amount) == [1_000])
            let refused = try await s.decide([requests(1_000), tokens(6_000, amount: 1)], at: midnight + 59_700)
            #expect(refused.refusal?.limit.name == "tpm")
            #expect(refused.refusal?.retryAfter == 11)                 // zero slots 0...9 free nothing; slot 10 frees 100 at 70 s
            #expect(refused.states.map(\.remaining) == [940, 0])
            #expect(refused.states.map(\.resetSeconds) == [1, 11])
            #expect(try await s.used(at: midnight + 59_700) == ["rpm": 60, "tpm": 6_000])
            // A whole request waits for its own amount to fit: 3 requests per 60 s, one each in slots 60, 70, 80.
            for second in [60, 70, 80] { _ = try await s.decide([requests(3, key: "key_a|r3")], at: midnight + Int64(second) * 1_000) }
            let full = try await s.decide([requests(3, key: "key_a|r3"), tokens(6_000, amount: 1, key: "key_a|t2")], at: midnight + 85_000)
            #expect(full.refusal?.limit.name == "rpm")
            #expect(full.refusal?.retryAfter == 35)
            #expect(full.states.map(\.resetSeconds) == [35, 60])
        }
    }

    @Test("the UTC day: 23:59:59.999 and 00:00 are different days; refusals wait until midnight; yesterday's settlement leaves today alone",
          arguments: ConformanceStoreKind.available)
    func utcDay(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let last = midnight + dayMs - 1
            let yesterday = try await s.decide([daily(100, amount: 100)], at: last)
            #expect(yesterday.reservations.map(\.amount) == [100])
            let refused = try await s.decide([daily(100, amount: 1)], at: last)
            #expect(refused.refusal?.retryAfter == 1)
            #expect(refused.refusal?.limit.summary == "Daily token cap reached")
            let today = try await s.decide([daily(100, amount: 30)], at: midnight + dayMs)
            #expect(today.reservations.map(\.amount) == [30])
            #expect(today.states.map(\.remaining) == [70])
            try await s.settle(yesterday, actual: 0, at: midnight + dayMs + 1_000)
            #expect(try await s.used(at: midnight + dayMs + 1_000) == ["daily-tokens": 30])
            try await s.settle(today, actual: 12, at: midnight + dayMs + 2_000)
            #expect(try await s.used(at: midnight + dayMs + 2_000) == ["daily-tokens": 12])

            for (msIntoDay, seconds) in [(Int64(82_800_000), 3_600), (43_200_000, 43_200), (86_398_500, 2), (0, 86_400)] {
                let key = "key_a|daily-\(msIntoDay)"
                _ = try await s.decide([daily(100, amount: 1_000, key: key)], at: midnight + msIntoDay)
                let wait = try await s.decide([daily(100, amount: 1, key: key)], at: midnight + msIntoDay)
                #expect(wait.refusal?.retryAfter == seconds)
                #expect(wait.states.first?.resetSeconds == seconds)
            }
        }
    }

    @Test("max_concurrent N admits N, time alone frees nothing, a settlement releases a lease, never below zero",
          arguments: ConformanceStoreKind.available)
    func concurrencyLeases(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            var leases: [LimitDecision] = []
            for index in 0..<3 {
                let decision = try await s.decide([concurrent(3)], at: midnight + Int64(index))
                #expect(decision.states.map(\.remaining) == [Int64(2 - index)])
                leases.append(decision)
            }
            for wait in [Int64(0), 1_000, 3_600_000, 2 * dayMs] {
                let refused = try await s.decide([concurrent(3)], at: midnight + 3 + wait)
                #expect(refused.refusal?.limit.name == "concurrent")
                #expect(refused.refusal?.retryAfter == 1)
            }
            try await s.settle(leases[0], actual: 1_000, at: midnight + 2 * dayMs)
            #expect(try await s.used(at: midnight + 2 * dayMs) == ["concurrent": 2])
            #expect(try await s.decide([concurrent(3)], at: midnight + 2 * dayMs).isAdmitted)
            #expect(try await s.decide([concurrent(3)], at: midnight + 2 * dayMs).refusal != nil)

            let lone = try await s.decide([concurrent(2, key: "key_a|c2")], at: midnight)
            for _ in 0..<3 { try await s.settle(lone, actual: 0, at: midnight + 1) }
            #expect(try await s.decide([concurrent(2, key: "key_a|c2")], at: midnight + 2).isAdmitted)
            #expect(try await s.decide([concurrent(2, key: "key_a|c2")], at: midnight + 2).isAdmitted)
            #expect(try await s.decide([concurrent(2, key: "key_a|c2")], at: midnight + 2).refusal != nil)
        }
    }

    @Test("a settlement corrects tokens and releases the lease, but the request stays counted", arguments: ConformanceStoreKind.available)
    func requestsStayCounted(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let checks = [requests(2), tokens(1_000, amount: 500), concurrent(1)]
            let decision = try await s.decide(checks, at: midnight)
            try await s.settle(decision, actual: 0, at: midnight + 100)
            #expect(try await s.used(at: midnight + 100) == ["rpm": 1, "tpm": 0])
            #expect(try await s.decide(checks, at: midnight + 200).isAdmitted)
            #expect(try await s.decide(checks, at: midnight + 300).refusal?.limit.name == "rpm")
        }
    }

    @Test("live counters name their limit and segment, and count in the limit's own unit", arguments: ConformanceStoreKind.available)
    func liveCounterNames(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let limits = KeyLimits(rpm: 60, tpm: 1_000, dailyTokenCap: 5_000, maxConcurrent: 2, policies: try PolicyParser.parseList("10;w=60;s=user"))
            let checks = try plan("key_a", limits, header: "100;w=60, 5 ; w=3600 ; u=cents ; s=Team", user: "alice", properties: ["team": "red"])
            #expect(try await s.decide(checks, at: midnight).isAdmitted)
            _ = try await s.decide(try plan("key_a", KeyLimits(policies: limits.policies), user: "x|y"), at: midnight)
            _ = try await s.decide(try plan("key_b", KeyLimits(rpm: 7)), "key_b", at: midnight)
            let live = try await s.store.liveCounters(shard: "key_a", nowMs: midnight + 1_000)
            #expect(live == [
                LiveCounter(keyID: "key_a", limit: "concurrent", segment: nil, used: 1, quota: 2, remaining: 1, resetSeconds: nil, unit: .concurrentRequests),
                LiveCounter(keyID: "key_a", limit: "daily-tokens", segment: nil, used: 100, quota: 5_000, remaining: 4_900, resetSeconds: 86_399, unit: .tokens),
                LiveCounter(keyID: "key_a", limit: "header:100;w=60;u=request", segment: nil, used: 1, quota: 100, remaining: 99, resetSeconds: 59, unit: .requests),
                LiveCounter(keyID: "key_a", limit: "header:5;w=3600;u=cents;s=team", segment: "property:team=red", used: 3, quota: 5, remaining: 2,
                            resetSeconds: 3_599, unit: .cents),
                LiveCounter(keyID: "key_a", limit: "preset-1", segment: "user:alice", used: 1, quota: 10, remaining: 9, resetSeconds: 59, unit: .requests),
                LiveCounter(keyID: "key_a", limit: "preset-1", segment: "user:x|y", used: 1, quota: 10, remaining: 9, resetSeconds: 59, unit: .requests),
                LiveCounter(keyID: "key_a", limit: "rpm", segment: nil, used: 1, quota: 60, remaining: 59, resetSeconds: 59, unit: .requests),
                LiveCounter(keyID: "key_a", limit: "tpm", segment: nil, used: 100, quota: 1_000, remaining: 900, resetSeconds: 59, unit: .tokens),
            ])
            #expect(try await s.store.liveCounters(shard: "key_b", nowMs: midnight + 1_000).map(\.limit) == ["rpm"])
            #expect(try await s.store.liveCounters(shard: "key_c", nowMs: midnight).isEmpty)
            // A preset edited while its counters live shows the new quota.
            _ = try await s.decide(try plan("key_b", KeyLimits(rpm: 9)), "key_b", at: midnight + 2_000)
            #expect(try await s.store.liveCounters(shard: "key_b", nowMs: midnight + 2_000).map(\.quota) == [9])
        }
    }

    @Test("idle counters go: a rolling window once its newest slot leaves, a day at midnight, a lease count at zero",
          arguments: ConformanceStoreKind.available)
    func idleExpiry(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let limits = KeyLimits(rpm: 10, tpm: 10_000, dailyTokenCap: 100_000, maxConcurrent: 3)
            let old = try await s.decide(try plan("key_a", limits), at: midnight + 1_000)
            _ = try await s.decide(try plan("key_a", header: "5;w=120"), at: midnight + 500)
            #expect(try await s.used(at: midnight + 60_999).keys.sorted() == ["concurrent", "daily-tokens", "header:5;w=120;u=request", "rpm", "tpm"])
            #expect(try await s.used(at: midnight + 61_000).keys.sorted() == ["concurrent", "daily-tokens", "header:5;w=120;u=request"])
            #expect(try await s.used(at: midnight + 120_000).keys.sorted() == ["concurrent", "daily-tokens"])
            try await s.settle(old, actual: 50, at: midnight + 120_000)
            #expect(try await s.used(at: midnight + 120_000) == ["daily-tokens": 50])
            #expect(try await s.used(at: midnight + dayMs).isEmpty)
            // A settlement after the day ended does not bring it back.
            try await s.settle(old, actual: 70, at: midnight + dayMs)
            #expect(try await s.used(at: midnight + dayMs).isEmpty)

            // A window settled to zero still counts (reset = its window) until its slot leaves.
            let zero = try await s.decide([tokens(1_000, amount: 400, key: "key_z|tpm")], "key_z", at: midnight)
            try await s.settle(zero, actual: 0, "key_z", at: midnight + 10)
            let live = try await s.store.liveCounters(shard: "key_z", nowMs: midnight + 30_000)
            #expect(live.map(\.used) == [0])
            #expect(live.map(\.resetSeconds) == [60])
        }
    }

    @Test("cent limits count nano-dollars and show cents", arguments: ConformanceStoreKind.available)
    func cents(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let checks = try plan("key_a", header: "5;w=60;u=cents", cost: 12_345_678)
            let decision = try await s.decide(checks, at: midnight)
            #expect(decision.reservations.map(\.amount) == [12_345_678])
            #expect(decision.states.map(\.remaining) == [50_000_000 - 12_345_678])
            try await s.settle(decision, actual: 30_000_000, at: midnight + 1)
            #expect(try await s.used(at: midnight + 1) == ["header:5;w=60;u=cents": 3])
        }
    }

    @Test("settlements go to the counters of their own key", arguments: ConformanceStoreKind.available)
    func shardsIndependent(kind: ConformanceStoreKind) async throws {
        try await ConformanceStore.with(kind) { s in
            let limits = KeyLimits(rpm: 2, tpm: 1_000, maxConcurrent: 5)
            let a = try await s.decide(try plan("key_a", limits, tokens: 800), "key_a", at: midnight)
            let b = try await s.decide(try plan("key_b", limits, tokens: 800), "key_b", at: midnight)
            #expect(b.states.map(\.remaining) == [1, 200, 4])
            try await s.settle(a, actual: 100, "key_a", at: midnight + 10)
            #expect(try await s.used("key_a", at: midnight + 10) == ["rpm": 1, "tpm": 100])
            #expect(try await s.used("key_b", at: midnight + 10) == ["rpm": 1, "tpm": 800, "concurrent": 1])
            #expect(try await s.decide(try plan("key_a", limits), "key_a", at: midnight + 20).isAdmitted)
            #expect(try await s.decide(try plan("key_a", limits), "key_a", at: midnight + 30).refusal?.limit.name == "rpm")
        }
    }

    @Test("2,000 concurrent decisions on one key with quota 100 admit exactly 100", arguments: ConformanceStoreKind.available.flatMap { kind in
        ["rpm", "concurrent"].map { (kind, $0) }
    })
    func concurrentDecisions(kind: ConformanceStoreKind, limit: String) async throws {
        try await ConformanceStore.with(kind) { s in
            let checks = try plan("key_a", limit == "rpm" ? KeyLimits(rpm: 100) : KeyLimits(maxConcurrent: 100))
            let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<2_000 {
                    group.addTask { try await s.decide(checks, at: midnight + Int64(index % 500)).isAdmitted }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(admitted == 100)
            #expect(try await s.used(at: midnight + 500).values.sorted() == [100])
        }
    }
}
