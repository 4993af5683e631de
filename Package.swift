// swift-tools-version:6.2
import PackageDescription
import Foundation

/// Migrations are plain `.sql` files under `migrations/<dialect>/` (the same names for both
/// dialects), embedded into the binary so `sightline` stays one self-contained file. Listed here
/// rather than found by listing the folder: SwiftPM caches this manifest by its text, so a new
/// file would go unseen until the manifest changed.
let migrationFiles = [
    "007_observability_tables.sql", "008_tracing_tables.sql", "009_structured_logs.sql", "010_alert_tables.sql",
    "011_otlp_fidelity.sql", "012_alert_engine.sql", "013_llm_call_spans.sql", "014_query_indexes.sql",
    "015_log_search_vector.sql", "016_events_in_logs.sql", "017_time_partitions.sql", "018_metrics.sql", "019_stored_contexts.sql",
    "020_error_group_minutes.sql", "021_service_edge_minutes.sql", "022_metric_alerts_and_partitions.sql", "023_log_hour_index.sql",
    "024_attributes_in_tags.sql", "025_log_attributes_in_extra.sql", "027_service_rollups.sql",
]

func migrationResources(_ dialect: String) -> [Resource] {
    migrationFiles.map { .embedInCode($0) }
}

/// The admin pages' files (Sources/AdminPages/web), embedded into the binary. Listed rather than
/// found by listing the folder, for the same reason as the migrations; a test checks this list
/// against the folder.
let adminPageFiles = [
    "alerts.html", "alerts.js", "app.css", "charts.css", "charts.js", "common.js", "errors.css",
    "errors.html", "errors.js", "index.html", "llm.html", "llm.js", "logs.html", "logs.js",
    "metrics-explorer.html", "metrics-explorer.js", "overview.js", "services.css", "services.html", "services.js",
    "trace-charts.js", "traces.html", "traces.js",
]

func adminPageResources() -> [Resource] {
    adminPageFiles.map { .embedInCode("web/\($0)") }
}

let package = Package(
    name: "sightline",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sightline", targets: ["sightline"]),
        .executable(name: "sightline-loadgen", targets: ["sightline-loadgen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Exact: the committed generated code (script/generate-protos) is made for this version.
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // OTLP/gRPC: the core and the HTTP/2 transport. Not grpc-swift-protobuf: its code
        // generator plugin makes `swift build` compile protoc from source.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    ],
    targets: [
        // Wire model: OTLP messages and their JSON and protobuf forms. No I/O.
        .target(name: "OTLP", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // SQL migrations, embedded.
        .target(name: "SQLiteMigrations", path: "migrations/sqlite", resources: migrationResources("sqlite")),
        .target(name: "PostgresMigrations", path: "migrations/postgres", resources: migrationResources("postgres")),
        // Rows, the store protocol, the SQLite and PostgreSQL stores.
        .target(
            name: "Store",
            dependencies: [
                "SQLiteMigrations", "PostgresMigrations",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test support only: one store test suite for SQLite and PostgreSQL.
        .target(
            name: "StoreTestSupport",
            dependencies: [
                "Store",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test support only: Sightline started over loopback on either store, one answer type.
        .target(
            name: "ServerTestSupport",
            dependencies: [
                "SightlineServer", "Store", "StoreTestSupport", "OTLP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // OTLP/HTTP receiver, mapping OTLP onto rows, the group-commit writer.
        .target(
            name: "Ingest",
            dependencies: [
                "OTLP", "Store",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // OTLP/gRPC receiver: TraceService/Export and LogsService/Export onto the OTLP/HTTP
        // receiver's ingest path (same validation, limits, admission, durability).
        .target(
            name: "GRPCReceiver",
            dependencies: [
                "Ingest",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The query API under /api/observability, the live log stream, and API keys.
        .target(
            name: "QueryAPI",
            dependencies: [
                "OTLP", "Store",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Grafana's Tempo and Loki data sources: TraceQL and LogQL subsets over the store.
        .target(
            name: "GrafanaAPI",
            dependencies: [
                "OTLP", "Store", "QueryAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Sightline tracing its own API requests (W3C Trace Context), stored like any trace.
        .target(
            name: "SelfTracing",
            dependencies: [
                "OTLP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ]
        ),
        // The admin pages (/, /traces, /logs, /alerts): static HTML, CSS and JavaScript, embedded.
        .target(
            name: "AdminPages",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            resources: adminPageResources()
        ),
        // Prometheus /metrics: self metrics (swift-metrics over swift-prometheus), span-derived
        // RED metrics and LLM token/cost counters.
        .target(
            name: "Exposition",
            dependencies: [
                "Store", "Ingest",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Alert rules, the evaluator, notifiers (Slack, webhook, e-mail, Alertmanager) and /alerts routes.
        .target(
            name: "Alerting",
            dependencies: [
                "Store",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Configuration, API port, service lifecycle.
        .target(
            name: "SightlineServer",
            dependencies: [
                "OTLP", "Store", "Ingest", "GRPCReceiver", "QueryAPI", "SelfTracing", "GrafanaAPI", "AdminPages", "Exposition",
                "Alerting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "sightline",
            dependencies: [
                "SightlineServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // Benchmark load generator: realistic OTLP/HTTP (or OTLP/gRPC) traffic, latency percentiles, backpressure counts.
        .executableTarget(
            name: "sightline-loadgen",
            dependencies: [
                "OTLP", "Ingest", "Store",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ]
        ),
        .testTarget(name: "OTLPTests", dependencies: ["OTLP"]),
        .testTarget(
            name: "AlertingTests",
            dependencies: [
                "Alerting", "SightlineServer", "Store", "StoreTestSupport", "ServerTestSupport", "OTLP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "AdminPagesTests",
            dependencies: ["AdminPages", .product(name: "HummingbirdTesting", package: "hummingbird")]
        ),
        .testTarget(
            name: "SelfTracingTests",
            dependencies: [
                "SelfTracing", "OTLP",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "W3CTraceContext", package: "swift-w3c-trace-context"),
            ]
        ),
        .testTarget(
            name: "StoreTests",
            dependencies: [
                "Store", "StoreTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "ExpositionTests",
            dependencies: [
                "Exposition", "Ingest", "OTLP", "Store",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "IngestTests",
            dependencies: ["Ingest", "OTLP", "Store", .product(name: "CompressNIO", package: "compress-nio")]
        ),
        .testTarget(
            name: "GrafanaAPITests",
            dependencies: [
                "GrafanaAPI", "SightlineServer", "OTLP", "Store", "StoreTestSupport", "ServerTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(
            name: "QueryAPITests",
            dependencies: ["QueryAPI", "SightlineServer", "OTLP", "Store", "StoreTestSupport", "ServerTestSupport"]
        ),
        .testTarget(
            name: "SightlineServerTests",
            dependencies: [
                "SightlineServer", "GRPCReceiver", "Ingest", "OTLP", "Store", "StoreTestSupport", "ServerTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
    ]
)
