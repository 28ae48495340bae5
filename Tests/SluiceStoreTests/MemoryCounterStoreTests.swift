import SluiceCore
import SluiceStore
import Synchronization
import Testing

/// 2026-01-01T00:00:00Z: midnight UTC, aligned to every slot length used here.
private let midnight: Int64 = 1_767_225_600_000
private let dayMs: Int64 = 86_400_000

private func plan(_ keyID: String, _ limits: KeyLimits = KeyLimits(), header: String? = nil, user: String? = nil,
                  properties: [String: String] = [:], tokens: Int64 = 100, cost: Int64 = 30_000_000) throws -> [LimitCheck] {
    try LimitPlanner.checks(keyID: keyID, limits: limits, headerPolicies: header.map { try PolicyParser.parseList($0) } ?? [],
                            segments: RequestSegments(userID: user, properties: properties),
                            estimate: UsageEstimate(tokens: tokens, cost: NanoDollars(cost)))
}

private func release(_ decision: LimitDecision, actual: Int64 = 0) -> [SettlementEntry] {
    decision.reservations.map { SettlementEntry(reservation: $0, actual: actual) }
}

/// Leases the tasks of one test hold right now, and the most they ever held at once.
private final class Gauge: Sendable {
    private let state = Mutex((now: 0, most: 0))

    func enter() { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var most: Int { state.withLock { $0.most } }
}

@Suite("In-memory counter store")
struct MemoryCounterStoreTests {
    @Test("decisions for different keys are independent, even when they share a lock", arguments: [1, 64])
    func shardsIndependent(shardCount: Int) throws {
        let store = MemoryCounterStore(shardCount: shardCount)
        let limits = KeyLimits(rpm: 2, tpm: 150, maxConcurrent: 5)
        for offset in 0..<2 {
            #expect(store.decideNow(try plan("key_a", limits), shard: "key_a", nowMs: midnight + Int64(offset)).isAdmitted)
        }
        #expect(!store.decideNow(try plan("key_a", limits), shard: "key_a", nowMs: midnight + 2).isAdmitted)
        let b = store.decideNow(try plan("key_b", limits), shard: "key_b", nowMs: midnight + 3)
        #expect(b.isAdmitted)
        #expect(b.states.map(\.remaining) == [1, 50, 4])
        #expect(store.decideNow(try plan("key_b", limits), shard: "key_b", nowMs: midnight + 4).isAdmitted)
        #expect(!store.decideNow(try plan("key_b", limits), shard: "key_b", nowMs: midnight + 5).isAdmitted)
        #expect(store.counterCount == 6)
    }

    @Test("a settlement goes to the counters of its own key")
    func settlementStaysInItsShard() async throws {
        let store = MemoryCounterStore(shardCount: 1)
        let limits = KeyLimits(tpm: 1_000, maxConcurrent: 1)
        let a = store.decideNow(try plan("key_a", limits, tokens: 800), shard: "key_a", nowMs: midnight)
        let b = store.decideNow(try plan("key_b", limits, tokens: 800), shard: "key_b", nowMs: midnight)
        try await store.settle(release(a, actual: 100), shard: "key_a", nowMs: midnight + 10)
        let live = try await store.liveCounters(shard: nil, nowMs: midnight + 10)
        #expect(live.map { "\($0.keyID) \($0.limit) \($0.used)" } == [
            "key_a concurrent 0", "key_a tpm 100", "key_b concurrent 1", "key_b tpm 800",
        ])
        #expect(b.isAdmitted)
    }

    @Test("sweep drops a rolling counter once its window passes with nothing counted, not before")
    func sweepRolling() throws {
        let store = MemoryCounterStore()
        _ = store.decideNow(try plan("key_a", KeyLimits(rpm: 10)), shard: "key_a", nowMs: midnight + 500)
        _ = store.decideNow(try plan("key_a", header: "5;w=120"), shard: "key_a", nowMs: midnight + 500)
        #expect(store.sweep(nowMs: midnight + 59_999) == 2)
        #expect(store.sweep(nowMs: midnight + 60_000) == 1)
        #expect(store.sweep(nowMs: midnight + 119_999) == 1)
        #expect(store.sweep(nowMs: midnight + 120_000) == 0)
        #expect(store.counterCount == 0)
    }

    @Test("a decision whose clock reading lost the race for the lock is still counted until its newest slot leaves")
    func lateClockReadingSweep() async throws {
        let store = MemoryCounterStore()
        let checks = try plan("key_a", KeyLimits(rpm: 10))
        _ = store.decideNow(checks, shard: "key_a", nowMs: midnight + 1_000)     // slot 1
        _ = store.decideNow(checks, shard: "key_a", nowMs: midnight + 999)       // slot 0, decided second
        #expect(store.sweep(nowMs: midnight + 60_000) == 1)
        #expect(try await store.liveCounters(shard: "key_a", nowMs: midnight + 60_000).map(\.used) == [1])
        #expect(store.sweep(nowMs: midnight + 61_000) == 0)
    }

    @Test("sweep keeps a rolling counter whose reservation was settled to zero until its window passes")
    func sweepSettledToZero() async throws {
        let store = MemoryCounterStore()
        let decision = store.decideNow(try plan("key_a", KeyLimits(tpm: 1_000)), shard: "key_a", nowMs: midnight)
        store.settleNow(release(decision, actual: 0), shard: "key_a", nowMs: midnight + 10)
        #expect(store.sweep(nowMs: midnight + 30_000) == 1)
        let live = try await store.liveCounters(shard: "key_a", nowMs: midnight + 30_000)
        #expect(live.map(\.used) == [0])
        #expect(live.map(\.resetSeconds) == [60])
        #expect(store.sweep(nowMs: midnight + 60_000) == 0)
    }

    @Test("sweep drops a day's counter when the UTC day ends")
    func sweepDay() throws {
        let store = MemoryCounterStore()
        _ = store.decideNow(try plan("key_a", KeyLimits(dailyTokenCap: 1_000)), shard: "key_a", nowMs: midnight + 23 * 3_600_000)
        #expect(store.sweep(nowMs: midnight + dayMs - 1) == 1)
        #expect(store.sweep(nowMs: midnight + dayMs) == 0)
    }

    @Test("sweep keeps a concurrency counter while a lease is held, and drops it at zero")
    func sweepConcurrency() throws {
        let store = MemoryCounterStore()
        let first = store.decideNow(try plan("key_a", KeyLimits(maxConcurrent: 2)), shard: "key_a", nowMs: midnight)
        let second = store.decideNow(try plan("key_a", KeyLimits(maxConcurrent: 2)), shard: "key_a", nowMs: midnight)
        #expect(store.sweep(nowMs: midnight + 7 * dayMs) == 1)
        store.settleNow(release(first), shard: "key_a", nowMs: midnight + 7 * dayMs)
        #expect(store.sweep(nowMs: midnight + 7 * dayMs) == 1)
        store.settleNow(release(second), shard: "key_a", nowMs: midnight + 7 * dayMs)
        #expect(store.sweep(nowMs: midnight + 7 * dayMs) == 0)
    }

    @Test("sweep drops idle counters and keeps live ones, and a late settlement does not bring one back")
    func sweepMixed() async throws {
        let store = MemoryCounterStore()
        let limits = KeyLimits(rpm: 10, tpm: 10_000, dailyTokenCap: 100_000, maxConcurrent: 3)
        let old = store.decideNow(try plan("key_a", limits), shard: "key_a", nowMs: midnight + 1_000)
        _ = store.decideNow(try plan("key_b", KeyLimits(rpm: 10)), shard: "key_b", nowMs: midnight + 100_000)
        // A refused request leaves empty counters behind; they are idle at once.
        _ = store.decideNow(try plan("key_c", KeyLimits(rpm: 5, maxConcurrent: 0)), shard: "key_c", nowMs: midnight + 100_000)
        #expect(store.counterCount == 7)

        // At 120 s: key_a's rpm and tpm windows have passed; its day and lease are live; key_b's rpm is live.
        #expect(store.sweep(nowMs: midnight + 120_000) == 3)
        let live = try await store.liveCounters(shard: nil, nowMs: midnight + 120_000)
        #expect(live.map { "\($0.keyID) \($0.limit)" } == ["key_a concurrent", "key_a daily-tokens", "key_b rpm"])

        store.settleNow(release(old, actual: 50), shard: "key_a", nowMs: midnight + 120_000)
        #expect(store.sweep(nowMs: midnight + 120_000) == 2)
        #expect(try await store.liveCounters(shard: "key_a", nowMs: midnight + 120_000).map { "\($0.limit) \($0.used)" } == ["daily-tokens 50"])
        #expect(store.sweep(nowMs: midnight + dayMs) == 0)
        store.settleNow(release(old, actual: 50), shard: "key_a", nowMs: midnight + dayMs)
        #expect(store.counterCount == 0)
    }

    @Test("100,000 distinct users create 100,000 counters; sweeps after their windows bring the count and the room kept back to the empty store's")
    func manyUsers() async throws {
        let store = MemoryCounterStore()
        let emptyCapacity = store.counterCapacity
        // The planner's check for one user, re-keyed per user (planning 100,000 times is slow in debug builds).
        var check = try plan("key_a", header: "10;w=60;s=user", user: "user-0")[0]
        let prefix = String(check.counterKey.dropLast("user-0".count))
        #expect(prefix == "key_a|policy|10;w=60;u=request;s=user|user:")
        for index in 0..<100_000 {
            check.key = CounterKey(prefix + "user-\(index)")
            _ = store.decideNow([check], shard: "key_a", nowMs: midnight + Int64(index / 10))
        }
        #expect(store.counterCount == 100_000)
        // 10,000 users per 1 s slot over the first 10 s; the last slot leaves at 69 s.
        let fullCapacity = store.counterCapacity
        #expect(fullCapacity >= 100_000)
        #expect(store.sweep(nowMs: midnight + 60_000) == 90_000)
        #expect(store.counterCapacity == fullCapacity, "a sweep leaving 90 % in place keeps the table")
        #expect(store.sweep(nowMs: midnight + 68_999) == 10_000)
        #expect(store.counterCapacity < fullCapacity / 4, "a sweep leaving the table mostly empty rebuilds it smaller")
        #expect(store.sweep(nowMs: midnight + 69_000) == 0)
        #expect(store.counterCount == 0)
        #expect(store.counterCapacity == emptyCapacity)
        #expect(try await store.liveCounters(shard: nil, nowMs: midnight + 69_000).isEmpty)
    }

    @Test("live counters name their limit and segment, and count in the limit's own unit")
    func liveCounterNames() async throws {
        let store = MemoryCounterStore()
        let limits = KeyLimits(rpm: 60, tpm: 1_000, dailyTokenCap: 5_000, maxConcurrent: 2,
                               policies: try PolicyParser.parseList("10;w=60;s=user"))
        let checks = try plan("key_a", limits, header: "100;w=60, 5 ; w=3600 ; u=cents ; s=Team", user: "alice", properties: ["team": "red"])
        #expect(store.decideNow(checks, shard: "key_a", nowMs: midnight).isAdmitted)
        _ = store.decideNow(try plan("key_a", KeyLimits(policies: limits.policies), user: "x|y"), shard: "key_a", nowMs: midnight)
        _ = store.decideNow(try plan("key_b", KeyLimits(rpm: 7)), shard: "key_b", nowMs: midnight)

        let live = try await store.liveCounters(shard: "key_a", nowMs: midnight + 1_000)
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
        let all = try await store.liveCounters(shard: nil, nowMs: midnight + 1_000)
        #expect(all.map(\.keyID) == Array(repeating: "key_a", count: 8) + ["key_b"])
        #expect(try await store.liveCounters(shard: "key_c", nowMs: midnight).isEmpty)
    }

    @Test("live counters show what still counts at the time asked, before any sweep")
    func liveCountersRefresh() async throws {
        let store = MemoryCounterStore()
        _ = store.decideNow(try plan("key_a", KeyLimits(rpm: 60)), shard: "key_a", nowMs: midnight)
        let later = try await store.liveCounters(shard: "key_a", nowMs: midnight + 60_000)
        #expect(later == [LiveCounter(keyID: "key_a", limit: "rpm", segment: nil, used: 0, quota: 60, remaining: 60, resetSeconds: 60, unit: .requests)])
    }

    @Test("2,000 decisions from concurrent tasks on one key with quota 100 admit exactly 100", arguments: ["rpm", "concurrent"])
    func concurrentDecisions(limit: String) async throws {
        let store = MemoryCounterStore()
        let checks = try plan("key_a", limit == "rpm" ? KeyLimits(rpm: 100) : KeyLimits(maxConcurrent: 100))
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<2_000 {
                group.addTask {
                    let decision = try? await store.decide(checks, shard: "key_a", nowMs: midnight + Int64(index % 500))
                    return decision?.isAdmitted ?? false
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 100)
        #expect(try await store.liveCounters(shard: "key_a", nowMs: midnight + 500).map(\.used) == [100])
    }

    @Test("leases taken and released by concurrent tasks never exceed max_concurrent, and all come back")
    func concurrentLeases() async throws {
        let store = MemoryCounterStore()
        let checks = try plan("key_a", KeyLimits(maxConcurrent: 10))
        let gauge = Gauge()
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<2_000 {
                group.addTask {
                    guard let decision = try? await store.decide(checks, shard: "key_a", nowMs: midnight), decision.isAdmitted else { return false }
                    gauge.enter()
                    await Task.yield()
                    gauge.leave()
                    try? await store.settle(release(decision), shard: "key_a", nowMs: midnight)
                    return true
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted >= 10)
        #expect(gauge.most <= 10)
        #expect(try await store.liveCounters(shard: "key_a", nowMs: midnight).map(\.used) == [0])
        #expect(store.sweep(nowMs: midnight) == 0)
    }
}
