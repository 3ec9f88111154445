// swift-tools-version:6.0
import PackageDescription

// One module per role boundary; see README "Code layout".
let package = Package(
    name: "devtrack-hub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "devtrack", targets: ["devtrack"]),
        .executable(name: "devtrack-bench", targets: ["devtrack-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        // Already there through postgres-nio and hummingbird; named for the outbound HTTP client.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Already there through hummingbird; named for the HTTP request parts a connection guard reads.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // Operators' metrics: the swift-metrics API everywhere, exposed in Prometheus' text format on each role's ops listener.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // librdkafka (Debian's librdkafka-dev), including the mock cluster API.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // Our librdkafka wrapper: producer, consumer, admin, mock cluster. No DevTrack knowledge.
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Pure domain logic: payload decoding, facts, signatures, bucketing, streaks. No I/O.
        .target(
            name: "DevTrackCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto")
            ]
        ),
        // A private PostgreSQL cluster on this machine (initdb, start, stop, as root too), for `devtrack dev`,
        // `devtrack postgres`, benchmarks and tests; and the child processes it runs.
        .target(
            name: "DevTrackLocalCluster",
            dependencies: [
                "DevTrackStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        // PostgreSQL: migrations and queries.
        .target(
            name: "DevTrackStore",
            dependencies: [
                "DevTrackCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // What both HTTP roles share: JSON error bodies, JSON responses, health routes, connection limits.
        .target(
            name: "DevTrackHTTP",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        // HTTP ingest: GitHub webhooks, custom webhooks and heartbeats -> raw Kafka topics.
        .target(
            name: "DevTrackIngest",
            dependencies: [
                "DevTrackCore", "DevTrackStore", "DevTrackHTTP", "Kafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Kafka consumer groups: normalize, metrics.
        .target(
            name: "DevTrackWorkers",
            dependencies: [
                "DevTrackCore", "DevTrackStore", "Kafka",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The SSRF-checked outbound HTTP client (resolves, refuses non-public addresses, bounded answers), for
        // deliveries and the API's test sends alike.
        .target(
            name: "DevTrackOutbound",
            dependencies: [
                "DevTrackCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // GitHub's API as the hub calls it: the OAuth code exchange, `/user`, GraphQL and the REST commits listing,
        // with GitHub's errors and rate limits read from every answer. No storage (the queries, their answers'
        // shapes and the sync's steps are pure, in DevTrackCore).
        .target(
            name: "DevTrackGitHub",
            dependencies: [
                "DevTrackCore", "DevTrackOutbound",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `devtrack github-sync`: a developer's history from GitHub's API, as activity facts on Kafka.
        .target(
            name: "DevTrackGitHubSync",
            dependencies: [
                "DevTrackCore", "DevTrackStore", "DevTrackGitHub", "DevTrackWorkers", "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Outbound deliveries from the outbox: the deliverer loop and its Discord and webhook channels.
        .target(
            name: "DevTrackDelivery",
            dependencies: [
                "DevTrackCore", "DevTrackStore", "DevTrackOutbound",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // HTTP query API for web clients.
        .target(
            name: "DevTrackAPI",
            dependencies: [
                "DevTrackCore", "DevTrackStore", "DevTrackHTTP", "DevTrackOutbound", "DevTrackGitHub",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
            ]
        ),
        // What operators watch: the Prometheus registry behind swift-metrics, and each role's ops listener (`/metrics`,
        // `/healthz`, `/readyz`) with the figures read when it is scraped (process, PostgreSQL connections, consumer lag,
        // the outbox).
        .target(
            name: "DevTrackOps",
            dependencies: [
                "DevTrackCore", "DevTrackStore", "DevTrackHTTP", "Kafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // CLI wiring: one subcommand per role.
        .executableTarget(
            name: "devtrack",
            dependencies: [
                "DevTrackCore", "DevTrackStore", "DevTrackLocalCluster", "DevTrackIngest", "DevTrackWorkers", "DevTrackDelivery", "DevTrackOutbound",
                "DevTrackAPI", "DevTrackGitHub", "DevTrackGitHubSync", "DevTrackOps", "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // `devtrack-bench`: the baseline route, the freshness probes and the worker throughput run that scripts/bench drives.
        .executableTarget(
            name: "devtrack-bench",
            dependencies: [
                "DevTrackCore", "DevTrackStore", "DevTrackLocalCluster", "DevTrackWorkers", "DevTrackDelivery", "DevTrackOutbound", "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Test helpers: the tests' PostgreSQL, GitHub fixtures, polling, a fake Discord and a fake GitHub.
        .target(
            name: "DevTrackTestSupport",
            dependencies: [
                "DevTrackStore", "DevTrackLocalCluster",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/DevTrackTestSupport"
        ),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"]),
        // Pure logic, no I/O: the domain, and GitHub's answers read by the sync.
        .testTarget(name: "DevTrackCoreTests", dependencies: ["DevTrackCore", "DevTrackGitHub", "DevTrackTestSupport"]),
        .testTarget(name: "DevTrackOpsTests", dependencies: ["DevTrackOps", .product(name: "Logging", package: "swift-log")]),
        // Real PostgreSQL + librdkafka's mock cluster.
        .testTarget(
            name: "DevTrackIntegrationTests",
            dependencies: [
                "DevTrackStore", "DevTrackCore", "DevTrackWorkers", "DevTrackDelivery", "DevTrackOutbound", "Kafka", "DevTrackTestSupport",
                "DevTrackGitHub", "DevTrackLocalCluster",
            ]
        ),
        // Ingest's routes in process (HummingbirdTesting) on real PostgreSQL and the mock cluster.
        .testTarget(
            name: "DevTrackIngestTests",
            dependencies: [
                "DevTrackIngest", "DevTrackHTTP", "DevTrackStore", "DevTrackCore", "Kafka", "DevTrackTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        // The query API's router in process (HummingbirdTesting) on real PostgreSQL: every controller's validation and errors.
        .testTarget(
            name: "DevTrackAPITests",
            dependencies: [
                "DevTrackAPI", "DevTrackHTTP", "DevTrackStore", "DevTrackCore", "DevTrackTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // The built `devtrack` binary over HTTP, several processes.
        .testTarget(
            name: "DevTrackEndToEndTests",
            dependencies: ["DevTrackCore", "DevTrackStore", "DevTrackLocalCluster", "DevTrackTestSupport"]
        ),
    ]
)

// `scripts/fuzz` builds the libFuzzer targets of Fuzz/ (with -sanitize=fuzzer,address, in .build-fuzz); ordinary
// builds never see them: their entry point is libFuzzer's, not a main.
if Context.environment["DEVTRACK_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "devtrack-fuzz", dependencies: ["DevTrackCore"], path: "Fuzz", exclude: ["corpus"]))
}
