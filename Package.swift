// swift-tools-version:6.0
import PackageDescription

// StreamCast: a streaming online demand forecaster.
// Data flow (one module per stage): Kafka/Replay source → Events (decode) → Windows → Forecasting → sink,
// with Checkpoint holding state + offsets in one SQLite transaction and Pipeline wiring it all.
let package = Package(
    name: "StreamCast",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "streamcast", targets: ["streamcast"]),
        // libFuzzer target (scripts/fuzz.sh); built plainly it replays saved inputs.
        .executable(name: "streamcast-fuzz", targets: ["StreamcastFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        // C libraries: module maps only.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka",
                       providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CXGBoost", providers: [.apt(["libxgboost-dev"])]),
        // Tiny C helpers librdkafka needs (fixed-port mock broker listener).
        .target(name: "CKafkaShim", linkerSettings: [.linkedLibrary("dl")]),

        .target(name: "Kafka", dependencies: ["CRdKafka", "CKafkaShim",
                                              .product(name: "Logging", package: "swift-log")]),
        .target(name: "Events"),
        .target(name: "Windows", dependencies: ["Events"]),
        .target(name: "NeuralNet", dependencies: ["COpenBLAS"]),
        // Gradient-boosted trees (XGBoost's C API behind one small wrapper).
        .target(name: "Boosting", dependencies: ["CXGBoost"]),
        .target(name: "Forecasting", dependencies: ["Windows", "NeuralNet", "Boosting"]),
        .target(name: "Checkpoint", dependencies: ["CSQLite"]),
        .target(name: "Monitoring"),
        .target(name: "Decisions", dependencies: ["Events"]),
        .target(name: "Simulation", dependencies: ["Events", "Windows"]),
        .target(name: "Datasets", dependencies: ["Events", "Pipeline", "CZlib"]),
        .target(name: "Pipeline", dependencies: [
            "Kafka", "Events", "Windows", "Forecasting", "Checkpoint", "Monitoring", "Decisions", "CZlib",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // The measurements behind docs/benchmarks.md (`streamcast bench` reads options and prints).
        .target(name: "Benchmarks", dependencies: [
            "Pipeline", "Kafka", "Events", "Windows", "Forecasting", "Checkpoint", "Simulation", "NeuralNet", "Monitoring",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "streamcast", dependencies: [
            "Pipeline", "Benchmarks", "Kafka", "Events", "Windows", "Forecasting", "Boosting", "Checkpoint", "Simulation", "Datasets", "NeuralNet", "Monitoring", "Decisions",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ], resources: [.embedInCode("Resources/dashboard.html")]),
        .systemLibrary(name: "CFuzzerDriver"),
        .executableTarget(name: "StreamcastFuzz", dependencies: ["Events", "Pipeline", "CFuzzerDriver"]),

        .testTarget(name: "EventsTests", dependencies: ["Events"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet"]),
        .testTarget(name: "BoostingTests", dependencies: ["Boosting"]),
        .testTarget(name: "WindowsTests", dependencies: ["Windows", "Events"]),
        .testTarget(name: "ForecastingTests", dependencies: ["Forecasting", "Windows", "NeuralNet", "Boosting"]),
        .testTarget(name: "MonitoringTests", dependencies: ["Monitoring"]),
        .testTarget(name: "DecisionsTests", dependencies: ["Decisions"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "Pipeline", "Simulation"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Events", "Windows"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Events", "Windows"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Forecasting", "Checkpoint", "Windows"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Kafka", "Pipeline", "Forecasting", "Events", "Checkpoint", "Windows", "Decisions"]),
    ]
)
