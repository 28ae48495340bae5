import SluiceCore
import SluiceStore

/// A stream of requests over 1,000 keys and an injected clock, decided and settled either
/// through `MemoryCounterStore` (shard lock included) or by `LimitDecider` on one plain
/// dictionary (no lock), so the two can be compared on the same work.
///
/// The clock moves 1 ms per request: 1,000 requests per simulated second, so each key sees one
/// request a second and its 60 s windows hold all 60 slots, as a busy key's do.
final class DecisionRig: @unchecked Sendable {
    let limitCount: Int
    let requests: [LimitRequest]
    let store = MemoryCounterStore()
    private var counters = CounterTable()
    private var nowMs = LimitFixtures.startMs
    private var cursor = 0

    /// Builds the requests and runs 60 simulated seconds of them through the path to be
    /// measured, so every window is full before anything is measured.
    init(limitCount: Int, throughStore: Bool) {
        self.limitCount = limitCount
        requests = LimitFixtures.requests(limitCount: limitCount)
        for _ in 0..<60_000 {
            if throughStore { decideThroughStore() } else { decideWithoutLock() }
        }
    }

    private func next() -> LimitRequest {
        let request = requests[cursor]
        cursor += 1
        if cursor == requests.count { cursor = 0 }
        nowMs += 1
        return request
    }

    /// One request through the in-memory store: decide, then settle, as the gateway does.
    @inline(never)
    func decideThroughStore() {
        let request = next()
        let decision = store.decideNow(request.checks, shard: request.keyID, nowMs: nowMs)
        store.settleNow(LimitFixtures.settlement(decision), shard: request.keyID, nowMs: nowMs)
    }

    /// The same through the pure decider on a plain dictionary.
    @inline(never)
    func decideWithoutLock() {
        let request = next()
        let decision = LimitDecider.decide(request.checks, counters: &counters, nowMs: nowMs)
        LimitDecider.settle(LimitFixtures.settlement(decision), counters: &counters, nowMs: nowMs)
    }
}

/// Fills a store with one counter per user of a `s=user` policy: one request from each of
/// `users` distinct users, spread over the 1,000 keys and over 50 s, so all are still inside
/// the policy's 60 s window when the last one is counted.
enum UserSegmentFill {
    static let policy = try! PolicyParser.parseList("\(LimitFixtures.unreachable);w=60;s=user")

    /// Decides and settles the requests; returns the time of the last one.
    @discardableResult
    static func fill(_ store: MemoryCounterStore, users: Int) -> Int64 {
        let keyIDs = (0..<LimitFixtures.keyCount).map(LimitFixtures.keyID)
        let limits = KeyLimits()
        var nowMs = LimitFixtures.startMs
        for user in 0..<users {
            nowMs = LimitFixtures.startMs + Int64(user) * 50_000 / Int64(max(1, users))
            let keyID = keyIDs[user % keyIDs.count]
            let segments = RequestSegments(userID: "user-\(user)", properties: [:])
            let checks = try! LimitPlanner.checks(keyID: keyID, limits: limits, headerPolicies: policy, segments: segments, estimate: LimitFixtures.estimate)
            let decision = store.decideNow(checks, shard: keyID, nowMs: nowMs)
            store.settleNow(LimitFixtures.settlement(decision), shard: keyID, nowMs: nowMs)
        }
        return nowMs
    }
}
