import Foundation
import SluiceCore
import SluiceStore
import Testing

private func rpm(_ quota: Int64, key: String = "key_a") -> [LimitCheck] {
    [LimitCheck(counterKey: key + "|rpm", name: "rpm", kind: .rolling(windowSeconds: 60), mode: .whole, quota: quota, amount: 1,
                unit: .requests, summary: "\(quota) requests per 60 s")]
}

private let daily = LimitCheck(counterKey: "key_a|daily", name: "daily-tokens", kind: .utcDay, mode: .upToRemaining, quota: 1_000, amount: 100,
                               unit: .tokens, summary: LimitPlanner.dailyCapMessage)
private let lease = LimitCheck(counterKey: "key_a|concurrent", name: "concurrent", kind: .concurrency, mode: .whole, quota: 1, amount: 1,
                               unit: .concurrentRequests, summary: "1 request in flight")

/// What only the Redis store has: its own clock, key expiry, lease expiry, script reloading, and
/// several gateway processes sharing it. The decisions themselves are `CounterStoreConformance`'s.

@Suite("Redis counter store", .enabled(if: RedisTestSupport.enabled))
struct RedisCounterStoreTests {
    @Test("with Redis' clock, windows and the day are measured from Redis' time, whatever the caller passes")
    func serverClock() async throws {
        try await RedisTestSupport.withStore(timeSource: .redisServer) { store, client in
            let first = try await store.decide(rpm(1) + [daily], shard: "key_a", nowMs: 0)
            #expect(first.isAdmitted)
            let time = try await client.send(RedisCommand("TIME")).array ?? []
            let redisNow = (time.first?.integer ?? 0) * 1000 + (time.last?.integer ?? 0) / 1000
            let untilMidnight = Int((86_400_000 - redisNow % 86_400_000 + 999) / 1000)
            #expect(abs((first.states[1].resetSeconds ?? 0) - untilMidnight) <= 10)   // slack for a loaded test host
            #expect((1...60).contains(first.states[0].resetSeconds ?? 0))
            #expect(first.reservations[1].slot == redisNow / 86_400_000 || first.reservations[1].slot == redisNow / 86_400_000 - 1)
            let refused = try await store.decide(rpm(1), shard: "key_a", nowMs: 42)
            #expect((1...60).contains(refused.refusal?.retryAfter ?? 0))
            let live = try await store.liveCounters(shard: "key_a", nowMs: 0)
            #expect(live.map(\.limit) == ["daily-tokens", "rpm"])
            #expect(live.map(\.used) == [100, 1])
        }
    }

    @Test("counters expire when idle: a window when its newest slot leaves, a day at midnight, leases with the last lease")
    func expiries() async throws {
        try await RedisTestSupport.withStore(timeSource: .redisServer, leaseTimeout: .seconds(600)) { store, client in
            _ = try await store.decide(rpm(5) + [daily, lease], shard: "key_a", nowMs: 0)
            let keys = (try await client.send(RedisCommand("KEYS", "\(store.keyPrefix):*")).array ?? []).compactMap(\.string).sorted()
            #expect(keys == ["\(store.keyPrefix):{key_a}:key_a|concurrent", "\(store.keyPrefix):{key_a}:key_a|daily",
                             "\(store.keyPrefix):{key_a}:key_a|rpm"])
            func ttl(_ suffix: String) async throws -> Int64 {
                try await client.send(RedisCommand("PTTL", "\(store.keyPrefix):{key_a}:key_a|\(suffix)")).integer ?? -9
            }
            #expect((100_000...120_000).contains(try await ttl("rpm")))      // window + a minute's grace
            #expect((60_000...86_460_000).contains(try await ttl("daily")))
            #expect((640_000...660_000).contains(try await ttl("concurrent")))
        }
    }

    @Test("a lease never settled stops counting after the lease timeout")
    func leaseTimeout() async throws {
        try await RedisTestSupport.withStore(timeSource: .caller, leaseTimeout: .seconds(60)) { store, _ throws in
            let start: Int64 = 1_767_225_600_000
            #expect(try await store.decide([lease], shard: "key_a", nowMs: start).isAdmitted)
            #expect(try await store.decide([lease], shard: "key_a", nowMs: start + 59_999).refusal?.limit.name == "concurrent")
            #expect(try await store.decide([lease], shard: "key_a", nowMs: start + 60_000).isAdmitted)
        }
    }

    @Test("a script Redis has forgotten (SCRIPT FLUSH, restart) is loaded again and the call succeeds")
    func scriptReload() async throws {
        try await RedisTestSupport.withStore(timeSource: .redisServer) { store, client in
            try await store.prepare()
            #expect(try await store.decide(rpm(3), shard: "key_a", nowMs: 0).isAdmitted)
            _ = try await client.send(RedisCommand("SCRIPT", "FLUSH"))
            #expect(try await store.decide(rpm(3), shard: "key_a", nowMs: 0).states.map(\.remaining) == [1])
            _ = try await client.send(RedisCommand("SCRIPT", "FLUSH"))
            let decision = try await store.decide(rpm(3) + [daily], shard: "key_a", nowMs: 0)
            try await store.settle(decision.reservations.map { SettlementEntry(reservation: $0, actual: 10) }, shard: "key_a", nowMs: 0)
            #expect(try await store.liveCounters(shard: "key_a", nowMs: 0).map(\.used) == [10, 3])
        }
    }

    @Test("2,000 concurrent decisions from three gateway processes' clients on a quota of 100 admit exactly 100",
          arguments: ["rpm", "concurrent"])
    func threeGateways(limit: String) async throws {
        guard let url = RedisTestSupport.requireURL() else { return }
        let prefix = RedisTestSupport.uniquePrefix()
        let clients = (0..<3).map { _ in RedisClient(url: url, commandTimeout: .seconds(30), connections: 2) }
        let stores = clients.map { RedisCounterStore(client: $0, keyPrefix: prefix) }
        let checks = limit == "rpm" ? rpm(100) : [LimitCheck(counterKey: "key_a|concurrent", name: "concurrent", kind: .concurrency, mode: .whole,
                                                             quota: 100, amount: 1, unit: .concurrentRequests, summary: "")]
        let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<2_000 {
                let store = stores[index % 3]
                group.addTask { try await store.decide(checks, shard: "key_a", nowMs: 0).isAdmitted }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 100)
        #expect(try await stores[0].liveCounters(shard: "key_a", nowMs: 0).map(\.used) == [100])
        await RedisTestSupport.deleteKeys(prefix: prefix, client: clients[0])
        for client in clients { await client.shutdown() }
    }
}
