/// Counters by key, each with the check that last decided it (which names and sizes it for
/// `/admin/limits`). Pure: the in-memory store keeps one table per shard under the shard's lock,
/// and `LimitDecider` decides on it.
///
/// Built for the hot path: a decision finds each of its counters with one hash lookup and then
/// changes them in place; counters holding nothing are dropped by `sweep`, which also gives
/// memory back (a Swift dictionary never shrinks by itself).
public struct CounterTable: Sendable {
    struct Entry: Sendable {
        var counter: LimitCounter
        var check: LimitCheck
    }

    typealias Position = Dictionary<CounterKey, Entry>.Index

    private(set) var entries: [CounterKey: Entry] = [:]

    public init() {}

    /// Counters held now (idle ones included until the next sweep).
    public var count: Int { entries.count }

    /// Buckets the table has room for; what it holds in memory whatever `count` is.
    public var capacity: Int { entries.capacity }

    public subscript(key: CounterKey) -> LimitCounter? { entries[key]?.counter }

    public subscript(text: String) -> LimitCounter? { entries[CounterKey(text)]?.counter }

    /// Every counter by its key's text, as held (not refreshed).
    public var counters: [String: LimitCounter] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.key.text, $0.value.counter) })
    }

    /// Every counter with the check that last decided it, refreshed to `nowMs`.
    public func live(nowMs: Int64) -> [(check: LimitCheck, counter: LimitCounter)] {
        entries.values.map { entry in
            var counter = entry.counter
            counter.refresh(nowMs: nowMs)
            return (entry.check, counter)
        }
    }

    /// Finds or creates the counter of each check, refreshed to `nowMs`, and writes each
    /// check's position into `positions` (one per check, in order).
    mutating func resolve(_ checks: [LimitCheck], into positions: UnsafeMutableBufferPointer<Position>, nowMs: Int64) {
        var created = false
        for (offset, check) in checks.enumerated() {
            if let position = entries.index(forKey: check.key) {
                positions[offset] = position
            } else {
                entries[check.key] = Entry(counter: LimitCounter(kind: check.kind), check: check)
                created = true
            }
        }
        // An insertion may move every entry: look the positions up again (only when a counter
        // was new, so not in the steady state).
        if created {
            for (offset, check) in checks.enumerated() { positions[offset] = entries.index(forKey: check.key)! }
        }
        for (offset, check) in checks.enumerated() {
            let position = positions[offset]
            entries.values[position].counter.refresh(nowMs: nowMs)
            // A preset edited while its counters live: show the new quota.
            let known = entries.values[position].check
            if known.quota != check.quota || known.name != check.name { entries.values[position].check = check }
        }
    }

    func counter(at position: Position) -> LimitCounter { entries.values[position].counter }

    mutating func reserve(_ amount: Int64, at position: Position, nowMs: Int64) -> Int64 {
        entries.values[position].counter.reserve(amount, nowMs: nowMs)
    }

    /// Applies a settlement to the counter it was reserved in, if that counter is still held.
    mutating func settle(_ entry: SettlementEntry) {
        let reservation = entry.reservation
        guard let position = entries.index(forKey: reservation.key) else { return }
        switch reservation.unit {
        case .requests:
            return
        case .concurrentRequests:
            entries.values[position].counter.settle(slot: reservation.slot, delta: 0, reserved: reservation.amount)
        case .tokens, .cents:
            entries.values[position].counter.settle(slot: reservation.slot, delta: entry.actual - reservation.amount, reserved: reservation.amount)
        }
    }

    /// Drops the counters that hold nothing at `nowMs`; returns how many are left. When that
    /// leaves the table mostly empty, it is rebuilt at the size of what is left, so memory
    /// follows the live counters rather than the most there ever were.
    @discardableResult
    public mutating func sweep(nowMs: Int64) -> Int {
        // Reading only: writing refreshed counters back while iterating would copy the whole
        // table. Counters refresh on their next decision anyway.
        var idle: [CounterKey] = []
        for (key, entry) in entries where entry.counter.isIdle(nowMs: nowMs) { idle.append(key) }
        guard !idle.isEmpty else { return entries.count }
        let left = entries.count - idle.count
        if left * 4 < entries.capacity && entries.capacity > Self.smallestKeptCapacity {
            var kept: [CounterKey: Entry] = [:]
            kept.reserveCapacity(left)
            for (key, entry) in entries where !entry.counter.isIdle(nowMs: nowMs) { kept[key] = entry }
            entries = kept
        } else {
            for key in idle { entries[key] = nil }
        }
        return entries.count
    }

    /// Below this many buckets a table is not worth rebuilding.
    static let smallestKeptCapacity = 64
}
