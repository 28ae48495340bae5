import Benchmark
import SluiceCore
import SluiceStore

/// Custom columns of the results table.
enum LimitMetrics {
    /// Wall-clock nanoseconds per limit checked (time per decision ÷ limits per request).
    static let nsPerLimit = BenchmarkMetric.custom("ns per limit", polarity: .prefersSmaller, useScalingFactor: false)
    /// Counters the store holds when the measurement ends (`counterCount`).
    static let counters = BenchmarkMetric.custom("counters held", polarity: .prefersSmaller, useScalingFactor: false)
    /// Resident memory (`/proc/self/statm`) at the end of the measurement, minus at its start.
    static let residentGrowth = BenchmarkMetric.custom("RSS growth (statm)", polarity: .prefersSmaller, useScalingFactor: false)
    /// The same after `malloc_trim(0)`: what the process holds, not what the allocator keeps for reuse.
    static let residentGrowthTrimmed = BenchmarkMetric.custom("RSS growth after malloc_trim", polarity: .prefersSmaller, useScalingFactor: false)
}

/// Distinct user segments in the memory benchmarks.
private let userSegments = 1_000_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.timeUnits = .nanoseconds
    /// Requests decided per outer iteration: the table's times and throughput are per decision.
    let decisionsPerIteration = BenchmarkScalingFactor.kilo

    let decisionConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, LimitMetrics.nsPerLimit],
        warmupIterations: 10,
        scalingFactor: decisionsPerIteration,
        maxDuration: .seconds(5),
        maxIterations: 5_000
    )

    for limitCount in [1, 3, 8] {
        let noun = limitCount == 1 ? "limit" : "limits"

        // The whole in-memory path: shard hash, shard lock, LimitDecider, the store's own
        // bookkeeping of checks and key ids, then the settlement under the lock again.
        Benchmark("MemoryCounterStore decide+settle, \(limitCount) \(noun)", configuration: decisionConfiguration) { benchmark, rig in
            let start = ContinuousClock.now
            for _ in benchmark.scaledIterations {
                rig.decideThroughStore()
            }
            let elapsed = ContinuousClock.now - start
            benchmark.stopMeasurement()
            benchmark.measurement(LimitMetrics.nsPerLimit, nanosecondsPerLimit(elapsed, decisions: benchmark.scaledIterations.count, limits: limitCount))
        } setup: {
            DecisionRig(limitCount: limitCount, throughStore: true)
        }

        // The same decisions by the pure decider on one plain dictionary: no lock, no shard.
        Benchmark("LimitDecider decide+settle (no lock), \(limitCount) \(noun)", configuration: decisionConfiguration) { benchmark, rig in
            let start = ContinuousClock.now
            for _ in benchmark.scaledIterations {
                rig.decideWithoutLock()
            }
            let elapsed = ContinuousClock.now - start
            benchmark.stopMeasurement()
            benchmark.measurement(LimitMetrics.nsPerLimit, nanosecondsPerLimit(elapsed, decisions: benchmark.scaledIterations.count, limits: limitCount))
        } setup: {
            DecisionRig(limitCount: limitCount, throughStore: false)
        }
    }

    // What the gateway does before the store sees a request: plan the checks of the 8-limit
    // request (counter keys and 429 summaries are built per request).
    Benchmark("LimitPlanner.checks, 8 limits", configuration: .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10, scalingFactor: decisionsPerIteration, maxDuration: .seconds(2), maxIterations: 2_000
    )) { (benchmark: Benchmark, inputs: PlannerInputs) in
        for index in benchmark.scaledIterations {
            let checks = try! LimitPlanner.checks(keyID: inputs.keyIDs[index % inputs.keyIDs.count], limits: inputs.preset,
                                                  headerPolicies: inputs.header, segments: inputs.segments[index % inputs.segments.count],
                                                  estimate: LimitFixtures.estimate)
            blackHole(checks)
        }
    } setup: {
        PlannerInputs()
    }

    let memoryConfiguration = Benchmark.Configuration(
        metrics: [.memoryLeakedBytes, .mallocCountTotal, .peakMemoryResidentDelta, .wallClock, LimitMetrics.counters, LimitMetrics.residentGrowth, LimitMetrics.residentGrowthTrimmed],
        timeUnits: .milliseconds,
        warmupIterations: 0,
        maxDuration: .seconds(120),
        maxIterations: 1
    )

    // The baseline: what an empty store (64 shards) holds.
    Benchmark("Memory: empty MemoryCounterStore", configuration: memoryConfiguration) { benchmark in
        let residentBefore = ProcessMemory.residentBytes()
        let store = MemoryCounterStore()
        benchmark.stopMeasurement()
        reportMemory(benchmark, store: store, residentBefore: residentBefore)
    }

    // 1,000,000 distinct users, one request each on a `s=user` policy, all inside the window.
    // `memoryLeakedBytes` is what the store holds for them (requested bytes, net of frees).
    Benchmark("Memory: 1M user segments, live", configuration: memoryConfiguration) { benchmark in
        let residentBefore = ProcessMemory.residentBytes()
        let store = MemoryCounterStore()
        UserSegmentFill.fill(store, users: userSegments)
        benchmark.stopMeasurement()
        reportMemory(benchmark, store: store, residentBefore: residentBefore)
    }

    // The same, then the injected clock moves past the window and `sweep` drops the idle
    // counters: what the store still holds should be back at the empty store's.
    Benchmark("Memory: 1M user segments, expired and swept", configuration: memoryConfiguration) { benchmark in
        let residentBefore = ProcessMemory.residentBytes()
        let store = MemoryCounterStore()
        let lastMs = UserSegmentFill.fill(store, users: userSegments)
        store.sweep(nowMs: lastMs + 61_000)
        benchmark.stopMeasurement()
        reportMemory(benchmark, store: store, residentBefore: residentBefore)
    }

    // A sweep that finds nothing to drop, as most sweeps of a busy gateway are: what it costs
    // in time and allocation with 1,000,000 live counters.
    Benchmark("Sweep: 1M live counters, none idle", configuration: .init(
        metrics: [.wallClock, .mallocCountTotal, .mallocBytesCount, .memoryLeakedBytes],
        timeUnits: .milliseconds, warmupIterations: 0, maxDuration: .seconds(60), maxIterations: 5
    )) { benchmark, filled in
        blackHole(filled.store.sweep(nowMs: filled.lastMs))
    } setup: {
        let store = MemoryCounterStore()
        let lastMs = UserSegmentFill.fill(store, users: userSegments)
        return (store: store, lastMs: lastMs)
    }
}

/// The 8-limit preset and header policies, 1,000 key ids and 10 user ids to plan requests of.
struct PlannerInputs {
    let preset: KeyLimits
    let header: [RateLimitPolicy]
    let keyIDs = (0..<LimitFixtures.keyCount).map(LimitFixtures.keyID)
    let segments = (0..<LimitFixtures.usersPerKey).map { RequestSegments(userID: "user-\($0)", properties: [:]) }

    init() {
        (preset, header) = LimitFixtures.limits(count: 8)
    }
}

private func nanosecondsPerLimit(_ elapsed: Duration, decisions: Int, limits: Int) -> Int {
    let (seconds, attoseconds) = elapsed.components
    let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
    return Int((nanoseconds / Double(decisions * limits)).rounded())
}

private func reportMemory(_ benchmark: Benchmark, store: MemoryCounterStore, residentBefore: Int) {
    benchmark.measurement(LimitMetrics.counters, store.counterCount)
    benchmark.measurement(LimitMetrics.residentGrowth, max(0, ProcessMemory.residentBytes() - residentBefore))
    ProcessMemory.returnFreePages()
    benchmark.measurement(LimitMetrics.residentGrowthTrimmed, max(0, ProcessMemory.residentBytes() - residentBefore))
    withExtendedLifetime(store) {}
}
