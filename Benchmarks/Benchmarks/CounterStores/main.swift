import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SluiceCore
import SluiceStore

// Decide + settle throughput of the rate-limit counter stores, in memory and in Redis, side by
// side in one release-build run, and Redis round trips per request. Prints a markdown table.
// Run it with `scripts/bench-counters`; the Redis rows need SLUICE_BENCH_REDIS_URL.
//
// Not an ordo-one/benchmark target: what is measured is many requests in flight at once (a task
// group of workers), which that harness's one-closure-per-iteration model does not express.
//
// Environment:
//   SLUICE_BENCH_REDIS_URL    a Redis to measure (a database of its own: keys are written there)
//   SLUICE_BENCH_REDIS_FLUSH  1: FLUSHDB that database before and after (scripts/bench-counters
//                             sets it for the database it picked itself)
//   SLUICE_BENCH_SECONDS      seconds per measured round (default 2)
//   SLUICE_BENCH_ROUNDS       rounds per row; the table shows the median rate (default 3)

enum Settings {
    static let environment = ProcessInfo.processInfo.environment
    static let roundSeconds = Double(environment["SLUICE_BENCH_SECONDS"] ?? "") ?? 2
    static let rounds = max(1, Int(environment["SLUICE_BENCH_ROUNDS"] ?? "") ?? 3)
    static let inFlightCounts = [1, 16, 64]
}

// MARK: The workload (that of Tests/SluiceStoreTests/CounterStoreBenchmark.swift)

/// A typical request: rpm, tpm, daily cap and max_concurrent from the preset plus one per-user
/// header policy; quotas out of reach, so every decision admits and counts (the costly path).
/// 100 requests over 20 keys, each of its own user.
enum Workload {
    static let requests: [(shard: String, checks: [LimitCheck])] = (0..<100).map { index in
        let keyID = "key_\(index % 20)"
        let checks = try! LimitPlanner.checks(
            keyID: keyID,
            limits: KeyLimits(rpm: 1_000_000_000, tpm: 1_000_000_000, dailyTokenCap: 1_000_000_000, maxConcurrent: 1_000_000),
            headerPolicies: try! PolicyParser.parseList("1000000000;w=60;s=user"),
            segments: RequestSegments(userID: "user-\(index)", properties: [:]),
            estimate: UsageEstimate(tokens: 300, cost: .zero))
        precondition(checks.count == 5, "expected 5 limits per request, planned \(checks.count)")
        return (keyID, checks)
    }
}

@Sendable func wallMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// One request: decide, then settle what was reserved (250 tokens used of the 300 reserved).
@inline(__always)
func decideAndSettle(_ store: any CounterStore, _ request: Int, nowMs: @Sendable () -> Int64) async throws {
    let (shard, checks) = Workload.requests[request % Workload.requests.count]
    guard case .admitted(let reservations, _) = try await store.decide(checks, shard: shard, nowMs: nowMs()) else {
        fatalError("a request was refused: the quotas are meant to be out of reach")
    }
    try await store.settle(reservations.map { SettlementEntry(reservation: $0, actual: 250) }, shard: shard, nowMs: nowMs())
}

/// Fills the rolling windows: 60 passes over every request, one second apart in counter time and
/// ending now, so each rolling counter holds (about) its 60 one-second slots, as under steady
/// traffic. `store` must take its time from `nowMs` (Redis: `TimeSource.caller`).
func warm(_ store: any CounterStore) async throws {
    for pass in 0..<60 {
        let secondsAgo = Int64(59 - pass)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for request in stride(from: worker, to: Workload.requests.count, by: 16) {
                        try await decideAndSettle(store, request) { wallMs() - secondsAgo * 1000 }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// Runs decide + settle with `inFlight` requests in flight (one worker task each) for `seconds`;
/// returns how many requests completed and the seconds they took.
func run(_ store: any CounterStore, inFlight: Int, seconds: Double) async throws -> (requests: Int, seconds: Double) {
    let started = ContinuousClock.now
    let deadline = started + .milliseconds(Int(seconds * 1000))
    let done = try await withThrowingTaskGroup(of: Int.self) { group in
        for worker in 0..<inFlight {
            group.addTask {
                var request = worker
                var count = 0
                while ContinuousClock.now < deadline {
                    try await decideAndSettle(store, request, nowMs: wallMs)
                    request += inFlight
                    count += 1
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = ContinuousClock.now - started
    return (done, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

/// CPU time of this process (all threads), in microseconds.
func processCPUMicros() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) * 1e6 + Double(spec.tv_nsec) / 1e3
}

struct Row {
    var store: String
    var inFlight: Int
    var rates: [Double] = []
    var requests = 0
    var clientCPUMicros = 0.0
    var roundTrips: String = "0"
    var redisMicrosPerCall: String = "—"
    var redisCPUMicrosPerRequest: String = "—"

    var medianRate: Double { rates.sorted()[rates.count / 2] }
}

func measure(_ row: inout Row, _ store: any CounterStore) async throws {
    for _ in 0..<Settings.rounds {
        let cpu = processCPUMicros()
        let result = try await run(store, inFlight: row.inFlight, seconds: Settings.roundSeconds)
        row.clientCPUMicros += processCPUMicros() - cpu
        row.rates.append(Double(result.requests) / result.seconds)
        row.requests += result.requests
    }
}

// MARK: Redis' own accounting

/// Top-level script calls (EVALSHA + EVAL: what clients sent; commands a script runs inside are
/// not round trips; INFO counts those too, under their own names), the microseconds Redis spent in
/// them, connected clients and Redis' CPU seconds. Server-wide figures: another client of the same
/// server would show up in them, so the run notes any.
struct RedisStats {
    var scriptCalls: Int64 = 0
    var scriptMicros: Int64 = 0
    var clients: Int64 = 0
    var cpuSeconds: Double = 0

    static func read(_ client: RedisClient) async throws -> RedisStats {
        let info = try await client.send(RedisCommand("INFO", "all")).string ?? ""
        var stats = RedisStats()
        for line in info.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("cmdstat_") {
                let name = line.prefix { $0 != ":" }
                for field in line.drop(while: { $0 != ":" }).dropFirst().split(separator: ",") {
                    let parts = field.split(separator: "=")
                    guard parts.count == 2, let value = Int64(parts[1]) else { continue }
                    guard name == "cmdstat_evalsha" || name == "cmdstat_eval" else { continue }
                    if parts[0] == "calls" { stats.scriptCalls += value }
                    if parts[0] == "usec" { stats.scriptMicros += value }
                }
            } else if line.hasPrefix("connected_clients:") {
                stats.clients = Int64(line.split(separator: ":")[1]) ?? 0
            } else if line.hasPrefix("used_cpu_sys:") || line.hasPrefix("used_cpu_user:") {
                stats.cpuSeconds += Double(line.split(separator: ":")[1]) ?? 0
            }
        }
        return stats
    }
}

func formatted(_ value: Double, decimals: Int = 0) -> String {
    let text = String(format: "%.\(decimals)f", value)
    guard decimals == 0, value >= 1_000 else { return text }
    var grouped = ""
    for (offset, character) in text.reversed().enumerated() {
        if offset > 0, offset % 3 == 0 { grouped.append(",") }
        grouped.append(character)
    }
    return String(grouped.reversed())
}

// MARK: Run

var rows: [Row] = []
var notes: [String] = []

let memory = MemoryCounterStore()
try await warm(memory)
for inFlight in Settings.inFlightCounts {
    var row = Row(store: "in memory", inFlight: inFlight)
    try await measure(&row, memory)
    rows.append(row)
}

if let url = Settings.environment["SLUICE_BENCH_REDIS_URL"].flatMap({ $0.isEmpty ? nil : $0 }) {
    // Two connections: what the gateway opens (CounterStoreSetup uses RedisClient's default).
    let client = try RedisClient(url: url, commandTimeout: .seconds(10), connections: 2)
    let flush = Settings.environment["SLUICE_BENCH_REDIS_FLUSH"] == "1"
    if flush { _ = try await client.send(RedisCommand("FLUSHDB")) }
    let info = try await client.send(RedisCommand("INFO", "server")).string ?? ""
    let version = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("redis_version:") }?.split(separator: ":").last ?? "?"
    let prefix = "sluice-bench-\(UUID().uuidString.prefix(8))"
    // The gateway's store: window times from Redis' clock. Warmed through a second store on the
    // same keys that takes the caller's (past) times; both run the same scripts.
    let store = RedisCounterStore(client: client, keyPrefix: prefix)
    try await store.prepare()
    try await warm(RedisCounterStore(client: client, keyPrefix: prefix, timeSource: .caller))
    for inFlight in Settings.inFlightCounts {
        var row = Row(store: "Redis", inFlight: inFlight)
        let before = try await RedisStats.read(client)
        try await measure(&row, store)
        let after = try await RedisStats.read(client)
        let calls = after.scriptCalls - before.scriptCalls
        let perRequest = Double(calls) / Double(row.requests)
        row.roundTrips = formatted(perRequest, decimals: 2)
        row.redisMicrosPerCall = formatted(Double(after.scriptMicros - before.scriptMicros) / Double(max(1, calls)), decimals: 0)
        row.redisCPUMicrosPerRequest = formatted((after.cpuSeconds - before.cpuSeconds) * 1e6 / Double(row.requests), decimals: 0)
        let others = max(before.clients, after.clients) - 2
        if others > 0 { notes.append("Redis, \(inFlight) in flight: \(others) other client(s) connected to the server; their calls would count in its figures") }
        if abs(perRequest - 2) > 0.005 { notes.append("Redis, \(inFlight) in flight: \(formatted(perRequest, decimals: 3)) script calls per request, not 2") }
        rows.append(row)
    }
    // Leave the server as found.
    var cursor = "0"
    repeat {
        let reply = try await client.send(RedisCommand("SCAN", cursor, "MATCH", prefix + ":*", "COUNT", "1000"))
        guard let parts = reply.array, parts.count == 2, let next = parts[0].string else { break }
        let keys = parts[1].array?.compactMap(\.string) ?? []
        if !keys.isEmpty { _ = try await client.send(RedisCommand("DEL", arguments: keys)) }
        cursor = next
    } while cursor != "0"
    if flush { _ = try await client.send(RedisCommand("FLUSHDB")) }
    await client.shutdown()
    notes.insert("Redis \(version) at \(try RedisURL(url).endpoint), 2 client connections", at: 0)
} else {
    notes.insert("Redis: skipped (SLUICE_BENCH_REDIS_URL is not set; e.g. SLUICE_BENCH_REDIS_URL=redis://127.0.0.1:6379/9, a database of its own)", at: 0)
}

print("| store | requests in flight | decide + settle per second | Redis round trips per request | µs inside Redis per script call | Redis CPU µs per request | gateway-process CPU µs per request |")
print("|---|---|---|---|---|---|---|")
for row in rows {
    let cells = [row.store, String(row.inFlight), formatted(row.medianRate), row.roundTrips, row.redisMicrosPerCall,
                 row.redisCPUMicrosPerRequest, formatted(row.clientCPUMicros / Double(row.requests), decimals: row.store == "Redis" ? 0 : 1)]
    print("| " + cells.joined(separator: " | ") + " |")
}
print("")
print("Median of \(Settings.rounds) rounds of \(formatted(Settings.roundSeconds, decimals: 1)) s per row; 5 limits per request (rpm, tpm, daily cap, max_concurrent, per-user header policy), 20 keys, 100 users, windows warmed to 60 slots.")
for note in notes { print("- " + note) }
