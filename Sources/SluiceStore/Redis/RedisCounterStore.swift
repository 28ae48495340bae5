import SluiceCore

/// Rate-limit counters in Redis, shared by every gateway process that points at it (SPEC §7).
///
/// Each `decide` is one round trip: one Lua script (`RedisCounterScripts.decide`, run with
/// EVALSHA) reads, decides and counts all of a request's limits atomically, with window times from
/// Redis' own clock, so gateways whose clocks disagree still share one window. Each `settle` is
/// one round trip too. Counters expire by themselves when idle (PEXPIRE), so Redis' memory follows
/// the live counters; concurrency leases expire `leaseTimeout` after they were taken, so a
/// gateway that dies holding leases does not block a key forever.
///
/// The decision is the in-memory store's, to the slot: the script returns the counters' state
/// (a rolling window whole only when it refuses; otherwise just what its state reads) and the
/// same `LimitCounter` code turns it into remaining, reset and Retry-After.
/// Differences, by design: a lease held longer than `leaseTimeout` stops counting; idle counters
/// vanish by themselves (the memory store keeps them until its next `sweep`), so `liveCounters`
/// never lists an idle one; reservation slots of concurrency limits are lease ids (the memory
/// store's are 0) — slots are the store's own business and only come back to it in `settle`.
public final class RedisCounterStore: CounterStore {
    /// Where window times come from.
    public enum TimeSource: Sendable {
        /// Redis' clock (`TIME` inside the script): every gateway shares one clock. The default.
        case redisServer
        /// The `nowMs` the caller passes, as the memory store uses it. For tests that pin the
        /// clock (the conformance suite); with several gateways their clocks must agree.
        case caller
    }

    public let client: RedisClient
    public let timeSource: TimeSource
    public let leaseTimeout: Duration
    let keys: RedisCounterKeys

    /// The key prefix, so tests and tools can find the store's keys.
    public var keyPrefix: String { keys.prefix }

    /// - Parameters:
    ///   - keyPrefix: the first part of every key (`sluice:{key_abc}:...`); give each
    ///     deployment sharing one Redis its own.
    ///   - leaseTimeout: how long a concurrency lease counts if it is never settled (a crashed
    ///     gateway); longer than any call a gateway lets run.
    public init(client: RedisClient, keyPrefix: String = "sluice", leaseTimeout: Duration = .seconds(3_600),
                timeSource: TimeSource = .redisServer) {
        self.client = client
        self.keys = RedisCounterKeys(prefix: keyPrefix)
        self.leaseTimeout = leaseTimeout
        self.timeSource = timeSource
    }

    /// Loads both scripts into Redis now rather than on first use. Optional: a script Redis does
    /// not know (never loaded, or lost in a restart or SCRIPT FLUSH) is loaded when it is needed.
    public func prepare() async throws(RedisError) {
        for script in [RedisCounterScripts.decide, RedisCounterScripts.settle] {
            _ = try await client.send(RedisCommand("SCRIPT", "LOAD", script))
        }
    }

    /// `nowMs` is used only with `TimeSource.caller`; otherwise Redis' clock decides.
    public func decide(_ checks: [LimitCheck], shard: String, nowMs: Int64) async throws -> LimitDecision {
        try await decideTyped(checks, shard: shard, nowMs: nowMs)
    }

    /// `decide` with its error type spelled out.
    public func decideTyped(_ checks: [LimitCheck], shard: String, nowMs: Int64) async throws(RedisError) -> LimitDecision {
        guard !checks.isEmpty else { return .admitted(reservations: [], states: []) }
        let plan = RedisDecidePlan(checks: checks, shard: shard, keys: keys, nowMs: timeSource == .caller ? nowMs : -1,
                                   leaseMs: leaseTimeout.wholeMilliseconds)
        let reply = try await evaluate(RedisCounterScripts.decide, sha: RedisCounterScripts.decideSHA, keys: plan.keys, arguments: plan.arguments)
        do {
            return try plan.decision(from: reply)
        } catch {
            throw .protocolViolation(endpoint: client.url.endpoint, detail: "decide script: \(error)")
        }
    }

    /// Needs no time: a settlement names the slot, day or lease it corrects.
    public func settle(_ entries: [SettlementEntry], shard: String, nowMs: Int64) async throws {
        try await settleTyped(entries, shard: shard)
    }

    public func settleTyped(_ entries: [SettlementEntry], shard: String) async throws(RedisError) {
        var redisKeys: [String] = []
        var arguments: [String] = []
        for entry in entries {
            let reservation = entry.reservation
            let kind: String
            let delta: Int64
            switch (reservation.unit, reservation.kind) {
            case (.requests, _):
                continue  // requests stay counted as admitted
            case (_, .concurrency):
                (kind, delta) = ("c", 0)
            case (_, .rolling):
                (kind, delta) = ("r", entry.actual - reservation.amount)
            case (_, .utcDay):
                (kind, delta) = ("d", entry.actual - reservation.amount)
            }
            redisKeys.append(keys.key(shard: shard, counterKey: reservation.counterKey))
            arguments += [kind, String(reservation.slot), String(delta)]
        }
        guard !redisKeys.isEmpty else { return }
        _ = try await evaluate(RedisCounterScripts.settle, sha: RedisCounterScripts.settleSHA, keys: redisKeys, arguments: arguments)
    }

    /// Every live counter (SCAN over the shard's keys, or all of this prefix). `nowMs` is used
    /// only with `TimeSource.caller`; otherwise Redis' clock.
    public func liveCounters(shard: String?, nowMs: Int64) async throws -> [LiveCounter] {
        try await liveCountersTyped(shard: shard, nowMs: nowMs)
    }

    public func liveCountersTyped(shard: String?, nowMs: Int64) async throws(RedisError) -> [LiveCounter] {
        var found = Set<String>()
        var cursor = "0"
        repeat {
            let reply = try await client.send(RedisCommand("SCAN", cursor, "MATCH", keys.pattern(shard: shard), "COUNT", "1000"))
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let batch = parts[1].array else {
                throw .protocolViolation(endpoint: client.url.endpoint, detail: "SCAN reply of an unexpected shape")
            }
            for key in batch { if let key = key.string { found.insert(key) } }
            cursor = next
        } while cursor != "0"

        var now = nowMs
        if timeSource == .redisServer {
            let time = try await client.send(RedisCommand("TIME"))
            guard let parts = time.array, parts.count == 2, let seconds = parts[0].integer, let micros = parts[1].integer else {
                throw .protocolViolation(endpoint: client.url.endpoint, detail: "TIME reply of an unexpected shape")
            }
            now = seconds * 1000 + micros / 1000
        }
        var result: [LiveCounter] = []
        let sorted = found.sorted()
        for start in stride(from: 0, to: sorted.count, by: 500) {
            let chunk = sorted[start..<min(start + 500, sorted.count)]
            let replies = try await client.pipeline(chunk.map { RedisCommand("HGETALL", $0) })
            for (key, reply) in zip(chunk, replies) {
                guard let counterKey = keys.counterKey(of: key), let flat = reply.array else { continue }
                var fields: [String: String] = [:]
                for pair in stride(from: 0, to: flat.count - 1, by: 2) {
                    if let name = flat[pair].string, let value = flat[pair + 1].string { fields[name] = value }
                }
                if let counter = RedisCounterSnapshot(counterKey: counterKey, fields: fields)?.liveCounter(nowMs: now) {
                    result.append(counter)
                }
            }
        }
        return result.sorted { ($0.keyID, $0.limit, $0.segment ?? "") < ($1.keyID, $1.limit, $1.segment ?? "") }
    }

    /// Runs a script by its SHA-1; when Redis does not have it (`NOSCRIPT`: first use, a restart,
    /// SCRIPT FLUSH), runs it once with EVAL, which also loads it for the next EVALSHA. (SCRIPT
    /// LOAD then EVALSHA would leave a gap in which another flush loses it again.)
    func evaluate(_ script: String, sha: String, keys redisKeys: [String], arguments: [String]) async throws(RedisError) -> RESPValue {
        let tail = [String(redisKeys.count)] + redisKeys + arguments
        let reply = try await client.pipeline([RedisCommand("EVALSHA", arguments: [sha] + tail)])[0]
        guard let message = reply.errorMessage else { return reply }
        guard message.hasPrefix("NOSCRIPT") else { throw .server(endpoint: client.url.endpoint, message: message) }
        return try await client.send(RedisCommand("EVAL", arguments: [script] + tail))
    }
}
