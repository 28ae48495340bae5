import Foundation
import SluiceCore
import SluiceStore
import Synchronization
import Testing

private let midnight: Int64 = 1_767_225_600_000

private func rpm(_ quota: Int64, key: String = "key_a") -> LimitCheck {
    LimitCheck(counterKey: key + "|rpm", name: "rpm", kind: .rolling(windowSeconds: 60), mode: .whole, quota: quota, amount: 1,
               unit: .requests, summary: "")
}

private func tpm(_ quota: Int64, amount: Int64) -> LimitCheck {
    LimitCheck(counterKey: "key_a|tpm", name: "tpm", kind: .rolling(windowSeconds: 60), mode: .upToRemaining, quota: quota, amount: amount,
               unit: .tokens, summary: "")
}

private struct Down: Error {}

/// A shared store that fails on demand, over memory counters of its own.
private final class FlakyStore: CounterStore {
    let counters = MemoryCounterStore()
    let failing = Atomic<Bool>(false)
    let calls = Atomic<Int>(0)

    func decide(_ checks: [LimitCheck], shard: String, nowMs: Int64) async throws -> LimitDecision {
        calls.add(1, ordering: .relaxed)
        if failing.load(ordering: .relaxed) { throw Down() }
        return try await counters.decide(checks, shard: shard, nowMs: nowMs)
    }

    func settle(_ entries: [SettlementEntry], shard: String, nowMs: Int64) async throws {
        if failing.load(ordering: .relaxed) { throw Down() }
        try await counters.settle(entries, shard: shard, nowMs: nowMs)
    }

    func liveCounters(shard: String?, nowMs: Int64) async throws -> [LiveCounter] {
        if failing.load(ordering: .relaxed) { throw Down() }
        return try await counters.liveCounters(shard: shard, nowMs: nowMs)
    }
}

private final class Events: Sendable {
    let log = Mutex<[String]>([])
    func add(_ event: String) { log.withLock { $0.append(event) } }
    var all: [String] { log.withLock { $0 } }
}


@Suite("Failover counter store")
struct FailoverCounterStoreTests {
    private func make(_ mode: CounterStoreFailureMode) -> (FailoverCounterStore, FlakyStore, ManualClock, Events) {
        let primary = FlakyStore()
        let clock = ManualClock(midnight)
        let events = Events()
        let store = FailoverCounterStore(primary: primary, mode: mode, probeIntervalMs: 1_000, clock: { clock.read() },
                                         onFailure: { events.add("failure: \($0)") }, onRecovery: { events.add("recovered") })
        return (store, primary, clock, events)
    }

    @Test("local: while the shared store is down, this instance enforces the quota on its own counters")
    func localMode() async throws {
        let (store, primary, _, events) = make(.local)
        #expect(try await store.decide([rpm(2)], shard: "key_a", nowMs: midnight).isAdmitted)
        primary.failing.store(true, ordering: .relaxed)
        #expect(try await store.decide([rpm(2)], shard: "key_a", nowMs: midnight).isAdmitted)
        #expect(try await store.decide([rpm(2)], shard: "key_a", nowMs: midnight).isAdmitted)
        #expect(try await store.decide([rpm(2)], shard: "key_a", nowMs: midnight).refusal?.limit.name == "rpm")
        #expect(events.all == ["failure: Down()"])
        #expect(store.outageCount == 1 && !store.isPrimaryHealthy)
        #expect(try await store.liveCounters(shard: "key_a", nowMs: midnight).map(\.used) == [2])
    }

    @Test("open admits with no reservations and full quota left; closed throws CounterStoreUnavailable with Retry-After")
    func openAndClosed() async throws {
        let (open, openPrimary, _, _) = make(.open)
        openPrimary.failing.store(true, ordering: .relaxed)
        let admitted = try await open.decide([rpm(5), tpm(1_000, amount: 300)], shard: "key_a", nowMs: midnight + 12_000)
        #expect(admitted == .admitted(reservations: [], states: [
            LimitState(check: rpm(5), remaining: 5, resetSeconds: 60), LimitState(check: tpm(1_000, amount: 300), remaining: 1_000, resetSeconds: 60),
        ]))
        let (closed, closedPrimary, clock, _) = make(.closed)
        closedPrimary.failing.store(true, ordering: .relaxed)
        do {
            _ = try await closed.decide([rpm(5)], shard: "key_a", nowMs: midnight)
            Issue.record("closed mode admitted")
        } catch let error as CounterStoreUnavailable {
            #expect(error.retryAfterSeconds == 1)
            #expect(error.description.contains("Down()"))
        }
        clock.advance(by: 400)
        await #expect(throws: CounterStoreUnavailable(retryAfterSeconds: 1, reason: "Down(); next try in 600 ms")) {
            _ = try await closed.decide([rpm(5)], shard: "key_a", nowMs: midnight)
        }
    }

    @Test("during an outage the shared store is probed at most once per interval, and used again once it answers")
    func probesAndRecovers() async throws {
        let (store, primary, clock, events) = make(.local)
        primary.failing.store(true, ordering: .relaxed)
        for _ in 0..<10 { _ = try await store.decide([rpm(100)], shard: "key_a", nowMs: midnight) }
        #expect(primary.calls.load(ordering: .relaxed) == 1)
        clock.advance(by: 999)
        _ = try await store.decide([rpm(100)], shard: "key_a", nowMs: midnight)
        #expect(primary.calls.load(ordering: .relaxed) == 1)
        clock.advance(by: 1)
        for _ in 0..<5 { _ = try await store.decide([rpm(100)], shard: "key_a", nowMs: midnight) }
        #expect(primary.calls.load(ordering: .relaxed) == 2)
        primary.failing.store(false, ordering: .relaxed)
        clock.advance(by: 1_000)
        _ = try await store.decide([rpm(100)], shard: "key_a", nowMs: midnight)
        _ = try await store.decide([rpm(100)], shard: "key_a", nowMs: midnight)
        #expect(primary.calls.load(ordering: .relaxed) == 4)
        #expect(store.isPrimaryHealthy)
        #expect(events.all == ["failure: Down()", "recovered"])
        #expect(store.failureCount == 2)
        // A second outage is reported again, once.
        primary.failing.store(true, ordering: .relaxed)
        for _ in 0..<3 { _ = try await store.decide([rpm(100)], shard: "key_a", nowMs: midnight) }
        #expect(events.all == ["failure: Down()", "recovered", "failure: Down()"])
    }

    @Test("settlements go to the store that made the reservation, across an outage and a recovery")
    func settlementRouting() async throws {
        let (store, primary, clock, _) = make(.local)
        let shared = try await store.decide([tpm(1_000, amount: 600)], shard: "key_a", nowMs: midnight)
        primary.failing.store(true, ordering: .relaxed)
        let local = try await store.decide([tpm(1_000, amount: 600)], shard: "key_a", nowMs: midnight)
        #expect(local.reservations.allSatisfy { $0.slot & FailoverCounterStore.localSlotTag != 0 })
        #expect(shared.reservations.allSatisfy { $0.slot & FailoverCounterStore.localSlotTag == 0 })
        primary.failing.store(false, ordering: .relaxed)
        clock.advance(by: 1_000)
        try await store.settle((shared.reservations + local.reservations).map { SettlementEntry(reservation: $0, actual: 100) },
                               shard: "key_a", nowMs: midnight + 10)
        #expect(try await primary.counters.liveCounters(shard: "key_a", nowMs: midnight + 10).map(\.used) == [100])
        #expect(try await store.local.liveCounters(shard: "key_a", nowMs: midnight + 10).map(\.used) == [100])
    }

    @Test("against a real redis-server killed and restarted: local enforces per instance, open admits, closed refuses, and shared counting resumes",
          .enabled(if: RedisTestSupport.enabled))
    func realOutage() async throws {
        let server = try OwnRedisServer()
        try await server.start()
        defer { server.stop() }
        let clock = ManualClock(midnight)
        func gateway(_ mode: CounterStoreFailureMode) -> (FailoverCounterStore, RedisClient) {
            // 10 s rather than 250 ms: this host runs the other suites at once; a killed server refuses at once anyway.
            let client = RedisClient(url: server.url, commandTimeout: .seconds(10), connections: 1,
                                     reconnectBackoff: (.milliseconds(10), .milliseconds(50)))
            let store = FailoverCounterStore(primary: RedisCounterStore(client: client), mode: mode, probeIntervalMs: 500, clock: { clock.read() })
            return (store, client)
        }
        let (first, firstClient) = gateway(.local)
        let (second, secondClient) = gateway(.local)
        let (open, openClient) = gateway(.open)
        let (closed, closedClient) = gateway(.closed)
        // Shared: two gateways together get the quota of 3.
        var admitted = 0
        for store in [first, second, first, second] {
            if try await store.decide([rpm(3)], shard: "key_a", nowMs: 0).isAdmitted { admitted += 1 }
        }
        #expect(admitted == 3)
        #expect(first.failureCount + second.failureCount == 0, "the shared phase should not have failed over")

        server.crash()
        // Each instance now enforces the full quota on its own.
        for store in [first, second] {
            var local = 0
            for _ in 0..<5 {
                if try await store.decide([rpm(3)], shard: "key_a", nowMs: midnight).isAdmitted { local += 1 }
            }
            #expect(local == 3)
            #expect(!store.isPrimaryHealthy)
        }
        #expect(try await open.decide([rpm(3)], shard: "key_a", nowMs: midnight).isAdmitted)
        await #expect(throws: CounterStoreUnavailable.self) { _ = try await closed.decide([rpm(3)], shard: "key_a", nowMs: midnight) }

        try await server.start()
        clock.advance(by: 500)
        // The first decisions after the probe interval may still meet a backed-off client; soon they reach Redis again.
        var recovered = false
        for _ in 0..<50 where !recovered {
            _ = try? await first.decide([rpm(2, key: "key_b")], shard: "key_b", nowMs: 0)
            recovered = first.isPrimaryHealthy
            if !recovered {
                try await Task.sleep(for: .milliseconds(20))
                clock.advance(by: 500)
            }
        }
        #expect(recovered)
        // Shared counting again: the restarted Redis (no persistence) has key_b's one request from `first`.
        clock.advance(by: 500)
        #expect(try await second.decide([rpm(2, key: "key_b")], shard: "key_b", nowMs: 0).isAdmitted)
        #expect(second.isPrimaryHealthy)
        #expect(try await first.decide([rpm(2, key: "key_b")], shard: "key_b", nowMs: 0).refusal?.limit.name == "rpm")
        for client in [firstClient, secondClient, openClient, closedClient] { await client.shutdown() }
    }
}
