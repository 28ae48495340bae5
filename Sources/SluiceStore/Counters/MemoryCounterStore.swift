import SluiceCore
import Synchronization

/// Counters in this process's memory: sharded by key id so requests of different keys never
/// wait on one lock; idle counters are dropped by `sweep`, so memory follows the live counters,
/// not the number of user ids or property values ever seen.
public final class MemoryCounterStore: CounterStore {
    /// A lock and its shard's counters; a class because `Mutex` cannot be copied into an array.
    final class LockedShard: Sendable {
        let lock = Mutex(CounterTable())
        func withLock<T>(_ body: (inout CounterTable) -> T) -> T { lock.withLock { body(&$0) } }
    }

    private let shards: [LockedShard]

    public init(shardCount: Int = 64) {
        shards = (0..<max(1, shardCount)).map { _ in LockedShard() }
    }

    private func shard(_ name: String) -> LockedShard {
        var hasher = Hasher()
        hasher.combine(name)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
    }

    public func decide(_ checks: [LimitCheck], shard name: String, nowMs: Int64) async throws -> LimitDecision {
        decideNow(checks, shard: name, nowMs: nowMs)
    }

    /// The decision without suspension, for callers and benchmarks that are not async.
    public func decideNow(_ checks: [LimitCheck], shard name: String, nowMs: Int64) -> LimitDecision {
        shard(name).withLock { LimitDecider.decide(checks, counters: &$0, nowMs: nowMs) }
    }

    public func settle(_ entries: [SettlementEntry], shard name: String, nowMs: Int64) async throws {
        settleNow(entries, shard: name, nowMs: nowMs)
    }

    public func settleNow(_ entries: [SettlementEntry], shard name: String, nowMs: Int64) {
        shard(name).withLock { LimitDecider.settle(entries, counters: &$0, nowMs: nowMs) }
    }

    public func liveCounters(shard name: String?, nowMs: Int64) async throws -> [LiveCounter] {
        let selected = name.map { [shard($0)] } ?? shards
        var result: [LiveCounter] = []
        for shard in selected {
            let live = shard.withLock { $0.live(nowMs: nowMs) }
            for (check, counter) in live {
                let counterView = LiveCounter(check: check, counter: counter, nowMs: nowMs)
                if name == nil || counterView.keyID == name { result.append(counterView) }
            }
        }
        return result.sorted { ($0.keyID, $0.limit, $0.segment ?? "") < ($1.keyID, $1.limit, $1.segment ?? "") }
    }

    /// Drops counters that no longer hold anything, giving their memory back; returns how many
    /// are left. Each shard is locked only for its own part.
    @discardableResult
    public func sweep(nowMs: Int64) -> Int {
        shards.reduce(0) { left, shard in left + shard.withLock { $0.sweep(nowMs: nowMs) } }
    }

    /// Counters held now (idle ones included until the next sweep).
    public var counterCount: Int {
        shards.reduce(0) { total, shard in total + shard.withLock { $0.count } }
    }

    /// Buckets the shards have room for: what the store keeps in memory, whatever it holds.
    public var counterCapacity: Int {
        shards.reduce(0) { total, shard in total + shard.withLock { $0.capacity } }
    }
}

extension LiveCounter {
    /// The admin view of a counter: names from the check, amounts in the limit's own unit. The
    /// key id is the counter key's first part (`LimitPlanner` builds them so).
    init(check: LimitCheck, counter: LimitCounter, nowMs: Int64) {
        let state = counter.state(check, nowMs: nowMs)
        let per = check.unit.counterUnitsPerUnit
        let parts = check.counterKey.split(separator: "|", omittingEmptySubsequences: false)
        let isPolicy = parts.count >= 4 && parts[1] == "policy"
        let limit = isPolicy ? (check.name.hasPrefix("header") ? "header:" + parts[2] : check.name) : check.name
        let segment = isPolicy && !parts[3].isEmpty ? String(parts[3...].joined(separator: "|")) : nil
        self.init(keyID: String(parts[0]), limit: limit, segment: segment, used: counter.used / per, quota: check.quota / per,
                  remaining: state.remaining / per, resetSeconds: state.resetSeconds, unit: check.unit)
    }
}
