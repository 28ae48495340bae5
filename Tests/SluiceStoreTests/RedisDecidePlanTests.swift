import SluiceCore
@testable import SluiceStore
import Testing

private let midnight: Int64 = 1_767_225_600_000

private func check(_ key: String, _ name: String, _ kind: LimitCheck.Kind, _ mode: LimitCheck.Mode = .whole, quota: Int64, amount: Int64 = 1,
                   unit: LimitUnit = .requests) -> LimitCheck {
    LimitCheck(counterKey: key, name: name, kind: kind, mode: mode, quota: quota, amount: amount, unit: unit, summary: name)
}


@Suite("Redis decide plan")
struct RedisDecidePlanTests {
    let layout = RedisCounterKeys(prefix: "sluice")

    @Test("one key per counter in a hash tag of the shard; a repeated counter is sent once, decided by its first check and named by its last")
    func arguments() {
        let preset = check("key_a|policy|2;w=60;u=request|", "preset-1", .rolling(windowSeconds: 90), quota: 2)
        var header = preset
        header.name = "header-1"
        header.quota = 3
        let checks = [check("key_a|tpm", "tpm", .rolling(windowSeconds: 60), .upToRemaining, quota: 1_000, amount: 300, unit: .tokens),
                      preset, header, check("key_a|concurrent", "concurrent", .concurrency, quota: 4, unit: .concurrentRequests)]
        let plan = RedisDecidePlan(checks: checks, shard: "key_a", keys: layout, nowMs: -1, leaseMs: 3_600_000)
        #expect(plan.keys == ["sluice:{key_a}:key_a|tpm", "sluice:{key_a}:key_a|policy|2;w=60;u=request|", "sluice:{key_a}:key_a|concurrent"])
        #expect(plan.arguments == ["-1", "3600000",
                                   "r", "1000", "u", "1000", "300", "tpm", "1000", "t", "60",
                                   "r", "1500", "w", "2", "1", "header-1", "3", "r", "90",
                                   "c", "0", "w", "4", "1", "concurrent", "4", "n", "c"])
    }

    @Test("shards cannot break out of their hash tag, and SCAN patterns escape glob characters")
    func keyEscaping() {
        #expect(layout.key(shard: "a}b{%", counterKey: "a}b{%|rpm") == "sluice:{a%7Db%7B%25}:a}b{%|rpm")
        #expect(layout.counterKey(of: "sluice:{a%7Db%7B%25}:a}b{%|rpm") == "a}b{%|rpm")
        #expect(layout.counterKey(of: "other:{a}:x") == nil)
        #expect(RedisCounterKeys(prefix: "p*").pattern(shard: "k?[1]") == "p\\*:{k\\?\\[1\\]}:*")
        #expect(layout.pattern(shard: nil) == "sluice:{*}:*")
    }

    @Test("an admitting reply becomes reservations and states computed by LimitCounter")
    func admitted() throws {
        let checks = [check("k|rpm", "rpm", .rolling(windowSeconds: 60), quota: 5),
                      check("k|daily", "daily-tokens", .utcDay, .upToRemaining, quota: 1_000, amount: 700, unit: .tokens),
                      check("k|concurrent", "concurrent", .concurrency, quota: 2, unit: .concurrentRequests)]
        let plan = RedisDecidePlan(checks: checks, shard: "k", keys: layout, nowMs: -1, leaseMs: 1)
        let slot = midnight / 1000
        let now = midnight + 30_500
        let reply = RESPValue.array([.integer(1), .integer(now),
                                     .array([1, slot + 30, 1, slot, 2, slot + 30, 1].map(RESPValue.integer)),
                                     .array([1, midnight / 86_400_000, 700, midnight / 86_400_000, 900].map(RESPValue.integer)),
                                     .array([1, 17, 1, 2].map(RESPValue.integer))])
        let decision = try plan.decision(from: reply)
        #expect(decision.reservations == [
            Reservation(key: "k|rpm", kind: .rolling(windowSeconds: 60), unit: .requests, slot: slot + 30, amount: 1),
            Reservation(key: "k|daily", kind: .utcDay, unit: .tokens, slot: midnight / 86_400_000, amount: 700),
            Reservation(key: "k|concurrent", kind: .concurrency, unit: .concurrentRequests, slot: 17, amount: 1),
        ])
        #expect(decision.states.map(\.remaining) == [2, 100, 0])
        #expect(decision.states.map(\.resetSeconds) == [30, 86_370, nil])
    }

    @Test("a refusing reply names the refusing counter with the longest wait")
    func refused() throws {
        let checks = [check("k|concurrent", "concurrent", .concurrency, quota: 1, unit: .concurrentRequests),
                      check("k|rpm", "rpm", .rolling(windowSeconds: 60), quota: 1)]
        let plan = RedisDecidePlan(checks: checks, shard: "k", keys: layout, nowMs: 5, leaseMs: 1)
        let slot = midnight / 1000
        let reply = RESPValue.array([.integer(0), .integer(midnight + 50_000),
                                     .array([0, 0, 0, 1].map(RESPValue.integer)),
                                     .array([0, 0, 0, slot, 1].map(RESPValue.integer))])
        let decision = try plan.decision(from: reply)
        #expect(decision.refusal?.limit.name == "rpm")
        #expect(decision.refusal?.retryAfter == 10)
        #expect(decision.states.map(\.remaining) == [0, 0])
    }

    @Test("replies of the wrong shape are errors", arguments: [
        RESPValue.integer(1), .array([.integer(1)]), .array([.integer(1), .integer(0), .array([.integer(1)])]),
        .array([.integer(1), .integer(0), .array([.integer(1), .integer(0), .integer(1), .integer(5)])]),
        .array([.integer(0), .integer(0), .array([.integer(1), .integer(0), .integer(1)])]),
    ])
    func badReplies(reply: RESPValue) {
        let plan = RedisDecidePlan(checks: [check("k|rpm", "rpm", .rolling(windowSeconds: 60), quota: 1)], shard: "k", keys: layout, nowMs: 0, leaseMs: 1)
        #expect(throws: RedisDecidePlan.ReplyError.self) { _ = try plan.decision(from: reply) }
    }

    @Test("a counter's hash reads back into the check and counter it stands for")
    func snapshot() throws {
        let fields = ["n": "header-2", "q": "50000000", "u": "c", "w": "3600", "s29446260": "30000000", "s29446200": "5"]
        let snapshot = try #require(RedisCounterSnapshot(counterKey: "k|policy|5;w=3600;u=cents;s=team|property:team=red", fields: fields))
        #expect(snapshot.liveCounter(nowMs: 29_446_260 * 60_000 + 1_000) == LiveCounter(
            keyID: "k", limit: "header:5;w=3600;u=cents;s=team", segment: "property:team=red", used: 3, quota: 5, remaining: 2,
            resetSeconds: 3_599, unit: .cents))
        #expect(RedisCounterSnapshot(counterKey: "k|rpm", fields: ["n": "rpm"]) == nil)
        let leases = try #require(RedisCounterSnapshot(counterKey: "k|concurrent", fields: ["n": "concurrent", "q": "3", "u": "n", "w": "c",
                                                                                          "i": "9", "l8": "1:2000", "l9": "1:999", "lx": "junk"]))
        #expect(leases.counter(nowMs: 1_000) == .concurrency(inFlight: 1))
        #expect(leases.liveCounter(nowMs: 2_000) == nil)
    }
}
