import SluiceCore
import Synchronization

/// Counters in this process's memory: sharded by key id so requests of different keys never
/// wait on one lock; idle counters are dropped by `sweep`, so memory follows the live counters,
/// not the number of user ids or property values ever seen.
public final class MemoryCounterStore: CounterStore {
    struct Shard {
        var counters: [String: LimitCounter] = [:]
        /// The last check seen per counter: how `/admin/limits` names and sizes it.
        var checks: [String: LimitCheck] = [:]
        var keyIDs: [String: String] = [:]
    }

    /// A lock and its shard; a class because `Mutex` cannot be copied into an array.
    final class LockedShard: Sendable {
        let lock = Mutex(Shard())
        func withLock<T>(_ body: (inout Shard) -> T) -> T { lock.withLock { body(&$0) } }
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
        shard(name).withLock { shard in
            let decision = LimitDecider.decide(checks, counters: &shard.counters, nowMs: nowMs)
            for check in checks {
                shard.checks[check.counterKey] = check
                shard.keyIDs[check.counterKey] = name
            }
            return decision
        }
    }

    public func settle(_ entries: [SettlementEntry], shard name: String, nowMs: Int64) async throws {
        settleNow(entries, shard: name, nowMs: nowMs)
    }

    public func settleNow(_ entries: [SettlementEntry], shard name: String, nowMs: Int64) {
        shard(name).withLock { shard in
            LimitDecider.settle(entries, counters: &shard.counters, nowMs: nowMs)
        }
    }

    public func liveCounters(shard name: String?, nowMs: Int64) async throws -> [LiveCounter] {
        let selected = name.map { [shard($0)] } ?? shards
        var result: [LiveCounter] = []
        for shard in selected {
            shard.withLock { shard in
                for (counterKey, var counter) in shard.counters {
                    guard let check = shard.checks[counterKey], let keyID = shard.keyIDs[counterKey], name == nil || keyID == name else { continue }
                    counter.refresh(nowMs: nowMs)
                    result.append(LiveCounter(check: check, counter: counter, keyID: keyID, nowMs: nowMs))
                }
            }
        }
        return result.sorted { ($0.keyID, $0.limit, $0.segment ?? "") < ($1.keyID, $1.limit, $1.segment ?? "") }
    }

    /// Drops counters that no longer hold anything; returns how many are left.
    @discardableResult
    public func sweep(nowMs: Int64) -> Int {
        var left = 0
        for shard in shards {
            left += shard.withLock { shard in
                for (counterKey, var counter) in shard.counters {
                    counter.refresh(nowMs: nowMs)
                    if counter.isIdle(nowMs: nowMs) {
                        shard.counters[counterKey] = nil
                        shard.checks[counterKey] = nil
                        shard.keyIDs[counterKey] = nil
                    } else {
                        shard.counters[counterKey] = counter
                    }
                }
                return shard.counters.count
            }
        }
        return left
    }

    /// Counters held now (idle ones included until the next sweep).
    public var counterCount: Int {
        shards.reduce(0) { total, shard in total + shard.withLock { $0.counters.count } }
    }
}

extension LiveCounter {
    /// The admin view of a counter: names from the check, amounts in the limit's own unit.
    init(check: LimitCheck, counter: LimitCounter, keyID: String, nowMs: Int64) {
        let state = counter.state(check, nowMs: nowMs)
        let per = check.unit.counterUnitsPerUnit
        let parts = check.counterKey.split(separator: "|", omittingEmptySubsequences: false)
        let isPolicy = parts.count >= 4 && parts[1] == "policy"
        let limit = isPolicy ? (check.name.hasPrefix("header") ? "header:" + parts[2] : check.name) : check.name
        let segment = isPolicy && !parts[3].isEmpty ? String(parts[3...].joined(separator: "|")) : nil
        self.init(keyID: keyID, limit: limit, segment: segment, used: counter.used / per, quota: check.quota / per,
                  remaining: state.remaining / per, resetSeconds: state.resetSeconds, unit: check.unit)
    }
}
