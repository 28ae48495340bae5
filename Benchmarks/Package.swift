// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks of Sluice, kept out of the main package so `swift test` never builds them
// (nor ordo-one/benchmark). Run them with `scripts/bench-limits` and `scripts/bench-counters`.
let package = Package(
    name: "sluice-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "sluice", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The rate limiter: decisions through the in-memory store and the pure decider, and the
        // memory of many user segments before and after idle counters are swept.
        .executableTarget(
            name: "Limits",
            dependencies: [
                .product(name: "SluiceLimits", package: "sluice"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Limits",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
        // The counter stores side by side: decide + settle per second in memory and in Redis at
        // 1, 16 and 64 requests in flight, and Redis round trips per request. A plain executable
        // that prints a markdown table (requests in flight don't fit ordo-one's per-iteration model).
        .executableTarget(
            name: "CounterStores",
            dependencies: [
                .product(name: "SluiceLimits", package: "sluice"),
            ],
            path: "Benchmarks/CounterStores"
        ),
    ]
)
