import SluiceCore
import Testing

/// 2026-01-01T00:00:00Z.
private let midnight: Int64 = 1_767_225_600_000

private func perUser(_ user: Int, quota: Int64 = 10) -> LimitCheck {
    LimitCheck(counterKey: "k|policy|\(quota);w=60;u=request;s=user|user:\(user)", name: "header-1", kind: .rolling(windowSeconds: 60),
               mode: .whole, quota: quota, amount: 1, unit: .requests, summary: "\(quota) requests per 60 s")
}

@Suite("Counter table")
struct CounterTableTests {
    @Test("a sweep that leaves the table mostly empty rebuilds it at the size of what is left; one that leaves most in place does not")
    func sweepGivesRoomBack() {
        var table = CounterTable()
        let empty = table.capacity
        for user in 0..<10_000 {
            _ = LimitDecider.decide([perUser(user)], counters: &table, nowMs: midnight + Int64(user < 9_000 ? 0 : 30_000))
        }
        let full = table.capacity
        #expect(table.count == 10_000 && full >= 10_000)

        // At 60 s the first 9,000 users' slot has left the window; the last 1,000 still count.
        #expect(table.sweep(nowMs: midnight + 60_000) == 1_000)
        #expect(table.capacity < full / 4)
        #expect(table.capacity >= 1_000)
        #expect(table[perUser(9_999).key]?.used == 1)

        // Nothing idle: the table is left as it is.
        let kept = table.capacity
        #expect(table.sweep(nowMs: midnight + 60_000) == 1_000)
        #expect(table.capacity == kept)

        #expect(table.sweep(nowMs: midnight + 90_000) == 0)
        #expect(table.capacity == empty)
    }

    @Test("a sweep dropping a few counters of a large table removes them in place")
    func sweepInPlace() {
        var table = CounterTable()
        for user in 0..<1_000 {
            _ = LimitDecider.decide([perUser(user)], counters: &table, nowMs: midnight + Int64(user < 100 ? 0 : 30_000))
        }
        let full = table.capacity
        #expect(table.sweep(nowMs: midnight + 60_000) == 900)
        #expect(table.capacity == full)
        #expect(table[perUser(50).key] == nil)
    }

    @Test("the live view shows a counter's latest quota when a preset changes under it")
    func latestQuota() {
        var table = CounterTable()
        let before = LimitCheck(counterKey: "k|rpm", name: "rpm", kind: .rolling(windowSeconds: 60), mode: .whole, quota: 10, amount: 1,
                                unit: .requests, summary: "10 requests per 60 s")
        var after = before
        after.quota = 20
        _ = LimitDecider.decide([before], counters: &table, nowMs: midnight)
        #expect(table.live(nowMs: midnight).map(\.check.quota) == [10])
        _ = LimitDecider.decide([after], counters: &table, nowMs: midnight + 1)
        #expect(table.live(nowMs: midnight + 1).map(\.check.quota) == [20])
        #expect(table.live(nowMs: midnight + 1).map(\.counter.used) == [2])
    }

    @Test("counter keys are equal exactly when their texts are")
    func keyEquality() {
        let a = CounterKey("key_a|rpm")
        #expect(a == CounterKey("key_a|" + "rpm"))
        #expect(a != CounterKey("key_b|rpm"))
        #expect(Set([a, CounterKey("key_a|rpm"), CounterKey("key_a|tpm")]).count == 2)
    }
}
