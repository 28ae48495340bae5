import SluiceCore
import Synchronization

/// A shared counter store (Redis) with SPEC §7's answer for when it fails,
/// `on_counter_store_failure`:
/// * `local` — decide on this process's own memory counters (each instance enforces the full
///   quota, so up to N × quota across N instances while the shared store is down);
/// * `open` — admit, reserving nothing; states report the full quota remaining;
/// * `closed` — throw `CounterStoreUnavailable`, which the server renders as 503 + Retry-After.
///
/// After a failure the shared store is left alone and tried again at most once per
/// `probeIntervalMs` (one request probes; the others meanwhile go to the fallback at once, so a
/// hung Redis costs one command timeout per interval, not one per request). When a probe
/// succeeds, decisions go back to the shared store, without a restart. Starting while the store
/// is down works: the first decision finds out, like any other.
///
/// Settlements go to the store that made the reservation: reservations made locally carry
/// `localSlotTag` in their slot (slots are slot indices, day numbers or lease ids, all far below
/// 2^62), which `settle` strips before handing them to the local store. `open` makes no
/// reservations, and `closed` admits nothing, so neither has anything to settle.
public final class FailoverCounterStore: CounterStore {
    /// Set in the slot of a reservation made by the local fallback.
    public static let localSlotTag: Int64 = 1 << 62

    public let primary: any CounterStore
    public let mode: CounterStoreFailureMode
    /// The fallback of `local` mode; sweep it like any memory store.
    public let local: MemoryCounterStore
    public let probeIntervalMs: Int64
    private let clock: @Sendable () -> Int64
    private let onFailure: @Sendable (any Error) -> Void
    private let onRecovery: @Sendable () -> Void

    private struct Health {
        var down = false
        var nextProbeMs: Int64 = 0
        var probing = false
        var failures = 0
        var outages = 0
        var lastError = ""
    }

    private let health = Mutex(Health())

    /// - Parameters:
    ///   - clock: milliseconds since 1970; paces the probes.
    ///   - onFailure: called once per outage, with the first error (log a line, bump a gauge).
    ///   - onRecovery: called once when the shared store answers again after an outage.
    public init(primary: any CounterStore, mode: CounterStoreFailureMode, local: MemoryCounterStore = MemoryCounterStore(),
                probeIntervalMs: Int64 = 1_000, clock: @escaping @Sendable () -> Int64,
                onFailure: @escaping @Sendable (any Error) -> Void = { _ in }, onRecovery: @escaping @Sendable () -> Void = {}) {
        self.primary = primary
        self.mode = mode
        self.local = local
        self.probeIntervalMs = max(1, probeIntervalMs)
        self.clock = clock
        self.onFailure = onFailure
        self.onRecovery = onRecovery
    }

    /// Calls to the shared store that failed, over the store's life (for a counter metric).
    public var failureCount: Int { health.withLock { $0.failures } }
    /// Outages seen (each began with a failure after the store was last healthy).
    public var outageCount: Int { health.withLock { $0.outages } }
    /// Whether the shared store is being used (false during an outage).
    public var isPrimaryHealthy: Bool { health.withLock { !$0.down } }

    public func decide(_ checks: [LimitCheck], shard: String, nowMs: Int64) async throws -> LimitDecision {
        if shouldTryPrimary() {
            do {
                let decision = try await primary.decide(checks, shard: shard, nowMs: nowMs)
                recovered()
                return decision
            } catch {
                failed(error)
            }
        }
        return try fallback(checks, shard: shard, nowMs: nowMs)
    }

    public func settle(_ entries: [SettlementEntry], shard: String, nowMs: Int64) async throws {
        var shared: [SettlementEntry] = []
        var local: [SettlementEntry] = []
        for entry in entries {
            if entry.reservation.slot & Self.localSlotTag != 0 {
                var untagged = entry
                untagged.reservation.slot &= ~Self.localSlotTag
                local.append(untagged)
            } else {
                shared.append(entry)
            }
        }
        if !local.isEmpty { self.local.settleNow(local, shard: shard, nowMs: nowMs) }
        guard !shared.isEmpty else { return }
        // Tried even during an outage: a lease left in Redis would block its key until it expires.
        do {
            try await primary.settle(shared, shard: shard, nowMs: nowMs)
        } catch {
            failed(error)
            throw error
        }
    }

    /// Whether the shared store is reachable. During an outage it is asked again when a probe is
    /// due, so readiness recovers even when no request comes in to probe it — a load balancer
    /// that took the instance out of rotation for not being ready sends none.
    public func checkReachable() async throws {
        guard !isPrimaryHealthy else { return }
        guard shouldTryPrimary() else { throw unavailable() }
        do {
            try await primary.checkReachable()
            recovered()
        } catch {
            failed(error)
            throw error
        }
    }

    /// The shared store's counters; during an outage in `local` mode, this process's instead.
    public func liveCounters(shard: String?, nowMs: Int64) async throws -> [LiveCounter] {
        if shouldTryPrimary() {
            do {
                let counters = try await primary.liveCounters(shard: shard, nowMs: nowMs)
                recovered()
                return counters
            } catch {
                failed(error)
            }
        }
        switch mode {
        case .local: return try await local.liveCounters(shard: shard, nowMs: nowMs)
        case .open: return []
        case .closed: throw unavailable()
        }
    }

    private func fallback(_ checks: [LimitCheck], shard: String, nowMs: Int64) throws -> LimitDecision {
        switch mode {
        case .local:
            switch local.decideNow(checks, shard: shard, nowMs: nowMs) {
            case .admitted(let reservations, let states):
                return .admitted(reservations: reservations.map { reservation in
                    var tagged = reservation
                    tagged.slot |= Self.localSlotTag
                    return tagged
                }, states: states)
            case let refused:
                return refused
            }
        case .open:
            // As if every counter were fresh: full quota left, a rolling limit's reset its window.
            return .admitted(reservations: [], states: checks.map { LimitCounter(kind: $0.kind).state($0, nowMs: nowMs) })
        case .closed:
            throw unavailable()
        }
    }

    private func unavailable() -> CounterStoreUnavailable {
        let now = clock()
        let (wait, reason) = health.withLock { (max(0, $0.nextProbeMs - now), $0.lastError) }
        return CounterStoreUnavailable(retryAfterSeconds: Int((wait + 999) / 1000), reason: "\(reason); next try in \(wait) ms")
    }

    /// Whether this call should go to the shared store: always while healthy; during an outage,
    /// one call per probe interval.
    private func shouldTryPrimary() -> Bool {
        let now = clock()
        return health.withLock { health in
            guard health.down else { return true }
            guard !health.probing, now >= health.nextProbeMs else { return false }
            health.probing = true
            health.nextProbeMs = now + probeIntervalMs
            return true
        }
    }

    private func recovered() {
        let wasDown = health.withLock { health in
            defer { health.down = false; health.probing = false }
            return health.down
        }
        if wasDown { onRecovery() }
    }

    private func failed(_ error: any Error) {
        let now = clock()
        let isNewOutage = health.withLock { health in
            health.failures += 1
            health.lastError = "\(error)"
            health.probing = false
            health.nextProbeMs = now + probeIntervalMs
            defer { health.down = true }
            if !health.down { health.outages += 1 }
            return !health.down
        }
        if isNewOutage { onFailure(error) }
    }
}
