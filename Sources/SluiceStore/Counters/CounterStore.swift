import SluiceCore

/// Where rate-limit counters live. The seam is two calls, each one atomic step (one lock in
/// memory, one Lua script in Redis): decide all of a request's limits and count it, and settle
/// its reservations once the real usage is known.
public protocol CounterStore: Sendable {
    /// Checks every limit; if all admit, counts the request in each. `shard` groups counters
    /// that are decided together (the key id), so one request touches one shard.
    func decide(_ checks: [LimitCheck], shard: String, nowMs: Int64) async throws -> LimitDecision
    /// Corrects reservations to the real amounts and releases concurrency leases.
    func settle(_ entries: [SettlementEntry], shard: String, nowMs: Int64) async throws
    /// Every live counter, or those of one key, for `sluice limits` and `/admin/limits`.
    func liveCounters(shard: String?, nowMs: Int64) async throws -> [LiveCounter]
    /// Throws when the store cannot be reached now; cheap (a PING for Redis), for readiness.
    func checkReachable() async throws
}

extension CounterStore {
    /// A store in this process's memory is always reachable.
    public func checkReachable() async throws {}
}

/// A counter as `/admin/limits` shows it.
public struct LiveCounter: Sendable, Equatable {
    /// The key id (the shard).
    public var keyID: String
    /// The limit's name: `rpm`, `tpm`, `daily-tokens`, `concurrent`, `preset-N`, or
    /// `header:` + the normalized policy.
    public var limit: String
    /// nil, `user:<id>` or `property:<name>=<value>`.
    public var segment: String?
    /// Used, quota and remaining in the limit's unit (cents for cent limits).
    public var used: Int64
    public var quota: Int64
    public var remaining: Int64
    /// Seconds until more quota frees up; nil for concurrency.
    public var resetSeconds: Int?
    public var unit: LimitUnit

    public init(keyID: String, limit: String, segment: String?, used: Int64, quota: Int64, remaining: Int64, resetSeconds: Int?, unit: LimitUnit) {
        self.keyID = keyID
        self.limit = limit
        self.segment = segment
        self.used = used
        self.quota = quota
        self.remaining = remaining
        self.resetSeconds = resetSeconds
        self.unit = unit
    }
}
