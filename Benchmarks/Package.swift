// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks of Sluice, kept out of the main package so `swift test` never builds them
// (nor ordo-one/benchmark). Run them with `scripts/bench-limits`.
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
    ]
)
