import Foundation
import SluiceCore
import SluiceStore
import Testing

/// Decisions per second and Redis round trips per request, in memory and in Redis side by side,
/// for docs/redis-counters.md. Runs only with SLUICE_BENCH_REDIS=1 (and a Redis); prints, asserts
/// nothing about time.

@Suite("Counter store benchmark", .enabled(if: ProcessInfo.processInfo.environment["SLUICE_BENCH_REDIS"] == "1"))
struct CounterStoreBenchmark {
    /// A typical request: rpm, tpm, daily cap and max_concurrent from the preset plus one
    /// per-user header policy; quotas high enough that every decision admits (the costly path).
    static func checks(key: Int, user: Int) throws -> [LimitCheck] {
        try LimitPlanner.checks(keyID: "key_\(key)", limits: KeyLimits(rpm: 1_000_000_000, tpm: 1_000_000_000, dailyTokenCap: 1_000_000_000,
                                                                        maxConcurrent: 1_000_000),
                                headerPolicies: try PolicyParser.parseList("1000000000;w=60;s=user"),
                                segments: RequestSegments(userID: "user-\(user)", properties: [:]),
                                estimate: UsageEstimate(tokens: 300, cost: .zero))
    }

    /// Runs `total` decide + settle pairs with `concurrency` in flight; returns pairs per second.
    static func run(_ store: any CounterStore, total: Int, concurrency: Int, clock: @escaping @Sendable () -> Int64) async throws -> Double {
        let plans = try (0..<100).map { try checks(key: $0 % 20, user: $0) }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var index = worker
                    while index < total {
                        let checks = plans[index % plans.count]
                        let shard = "key_\(index % plans.count % 20)"
                        let decision = try await store.decide(checks, shard: shard, nowMs: clock())
                        if case .admitted(let reservations, _) = decision {
                            try await store.settle(reservations.map { SettlementEntry(reservation: $0, actual: 250) }, shard: shard, nowMs: clock())
                        }
                        index += concurrency
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
        return Double(total) / seconds
    }

    /// Top-level script calls (EVALSHA + EVAL: what the client sent; commands a script runs
    /// inside are not round trips) and the microseconds Redis spent in them.
    static func scriptCalls(_ client: RedisClient) async throws -> (calls: Int64, usec: Int64) {
        let info = try await client.send(RedisCommand("INFO", "commandstats")).string ?? ""
        var calls: Int64 = 0
        var usec: Int64 = 0
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_evalsha:") || line.hasPrefix("cmdstat_eval:") {
            for field in line.split(separator: ":")[1].split(separator: ",") {
                let parts = field.split(separator: "=")
                guard parts.count == 2, let value = Int64(parts[1]) else { continue }
                if parts[0] == "calls" { calls += value }
                if parts[0] == "usec" { usec += value }
            }
        }
        return (calls, usec)
    }

    @Test("decisions per second, memory vs Redis")
    func measure() async throws {
        guard let url = RedisTestSupport.requireURL() else { return }
        let clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        var lines: [String] = []
        for concurrency in [1, 16, 64] {
            let memory = MemoryCounterStore()
            let rate = try await Self.run(memory, total: 20_000, concurrency: concurrency, clock: clock)
            lines.append("memory  in-flight \(concurrency): \(Int(rate)) decide+settle/s")
        }
        let client = RedisClient(url: url, commandTimeout: .seconds(5), connections: 4)
        let prefix = RedisTestSupport.uniquePrefix()
        let redis = RedisCounterStore(client: client, keyPrefix: prefix)
        try await redis.prepare()
        _ = try await Self.run(redis, total: 2_000, concurrency: 16, clock: clock)   // warm up: fill the windows' slots
        for concurrency in [1, 16, 64] {
            let total = concurrency == 1 ? 2_000 : 5_000
            let before = try await Self.scriptCalls(client)
            let rate = try await Self.run(redis, total: total, concurrency: concurrency, clock: clock)
            let after = try await Self.scriptCalls(client)
            let calls = after.calls - before.calls
            lines.append("redis   in-flight \(concurrency): \(Int(rate)) decide+settle/s, \(Double(calls) / Double(total)) round trips per request "
                         + "(decide + settle), \((after.usec - before.usec) / max(1, calls)) µs in Redis per script call")
        }
        await RedisTestSupport.deleteKeys(prefix: prefix, client: client)
        await client.shutdown()
        print(lines.map { "BENCH " + $0 }.joined(separator: "\n"))
    }
}
