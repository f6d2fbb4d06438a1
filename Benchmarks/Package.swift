// swift-tools-version: 6.2
// Benchmarks of Hygie's hot paths (ordo-one/benchmark). Run: cd Benchmarks && swift package benchmark
// The main package never resolves this one.
import PackageDescription

let package = Package(
    name: "hygie-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "hygie", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HygieBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "HygieCore", package: "hygie"),
                .product(name: "HygieStorage", package: "hygie"),
                .product(name: "Sigma", package: "hygie"),
                .product(name: "STIX", package: "hygie"),
                .product(name: "HygieIntel", package: "hygie"),
            ],
            path: "Benchmarks/HygieBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
