import Alerting
import Foundation
import QueryAPI
import Ingest
import Logging
import Store

/// Sightline's whole configuration, built from flags, then environment variables, then
/// defaults, as `Setting`'s table names and checks them. A value made with `init()` holds
/// every default (what `resolve` gives when nothing is set).
public struct SightlineConfiguration: Sendable, Equatable {
    /// Where data is kept.
    public enum Storage: Sendable, Equatable, CustomStringConvertible {
        /// An embedded SQLite file (created with its folder on first run).
        case sqlite(path: String)
        /// A PostgreSQL server.
        case postgres(url: String)

        public var description: String {
            switch self {
            case .sqlite(let path):
                return "sqlite:\(path)"
            case .postgres(let url):
                // Never the password.
                guard var components = URLComponents(string: url) else { return "postgres://…" }
                if components.password != nil { components.password = "***" }
                components.query = nil
                return components.string ?? "postgres://…"
            }
        }
    }

    /// `--storage` / `SIGHTLINE_STORAGE`; default `sqlite:./sightline-data/sightline.db`.
    public var storage: Storage = .sqlite(path: "./sightline-data/sightline.db")
    /// `--otlp-host` / `SIGHTLINE_OTLP_HOST`; default `127.0.0.1`.
    public var otlpHost = "127.0.0.1"
    /// `--otlp-port` / `SIGHTLINE_OTLP_PORT`; default 4318; 0 picks a free port.
    public var otlpPort = 4318
    /// `--grpc-host` / `SIGHTLINE_GRPC_HOST` (OTLP/gRPC); default `127.0.0.1`. Like `otlpHost`,
    /// a non-loopback address needs ingest tokens or `--allow-unauthenticated-ingest`.
    public var grpcHost = "127.0.0.1"
    /// `--grpc-port` / `SIGHTLINE_GRPC_PORT`; default 4317; `nil` (`0` in the setting) turns the
    /// OTLP/gRPC receiver off. Set in code, 0 picks a free port (tests).
    public var grpcPort: Int? = 4317
    /// `--http-host` / `SIGHTLINE_HTTP_HOST` (API, pages, metrics); default `127.0.0.1`.
    public var httpHost = "127.0.0.1"
    /// `--http-port` / `SIGHTLINE_HTTP_PORT`; default 3200; 0 picks a free port.
    public var httpPort = 3200
    /// `SIGHTLINE_API_KEYS`: comma-separated keys guarding the query and admin API.
    public var apiKeys: [String] = []
    /// `SIGHTLINE_INGEST_TOKENS`: comma-separated bearer tokens required by the receiver.
    public var ingestTokens: [String] = []
    /// `--max-body-bytes` / `SIGHTLINE_MAX_BODY_BYTES`: request body limit on the wire; default 20 MiB.
    public var maxBodyBytes = 20 << 20
    /// `--max-inflated-bytes` / `SIGHTLINE_MAX_INFLATED_BYTES`: limit after gzip/deflate; default 64 MiB.
    public var maxInflatedBytes = 64 << 20
    /// `--queue-capacity` / `SIGHTLINE_QUEUE_CAPACITY`: spans and log records waiting for a
    /// commit before the receiver answers 503; default 10000 (about half a second of ingest).
    public var queueCapacity = 10_000
    /// `--max-concurrent-decodes` / `SIGHTLINE_MAX_CONCURRENT_DECODES`: export requests read and
    /// decoded at once; more are answered 503 before their body is read. Default: 2 per core, at least 8.
    public var maxConcurrentDecodes = OTLPReceiver.Configuration.defaultConcurrentDecodes
    /// `--query-count-limit` / `SIGHTLINE_QUERY_COUNT_LIMIT`: trace and log lists count their
    /// matches up to this many (`total`, then `total_capped: true`); default 10000.
    public var queryCountLimit = 10_000
    /// `--allow-unauthenticated` / `SIGHTLINE_ALLOW_UNAUTHENTICATED`: allow a non-loopback
    /// API address without API keys.
    public var allowUnauthenticated = false
    /// `--allowed-hosts` / `SIGHTLINE_ALLOWED_HOSTS`: host names (or `*.domain`) both ports answer
    /// to besides their bound address and the loopback names; other `Host` headers get 421
    /// (docs/security.md). With a wildcard address and no entries, any name is answered.
    public var allowedHosts: [String] = []
    /// `--allow-unauthenticated-ingest` / `SIGHTLINE_ALLOW_UNAUTHENTICATED_INGEST`: allow a
    /// non-loopback receiver address without ingest tokens.
    public var allowUnauthenticatedIngest = false
    /// `--enable-tracecontext-test-route` / `SIGHTLINE_TRACECONTEXT_TEST_ROUTE`: serve
    /// `POST /_test/tracecontext` for the W3C Trace Context test suite (loopback API only).
    public var tracecontextTestRoute = false
    /// `--log-level` / `SIGHTLINE_LOG_LEVEL`: trace, debug, info, notice, warning, error, critical.
    public var logLevel: Logger.Level = .info
    /// `--postgres-tls` / `SIGHTLINE_POSTGRES_TLS`: disable, prefer or require; default: the
    /// URL's `sslmode`, else prefer.
    public var postgresTLS: PostgresStore.Configuration.TLSMode?
    /// `--postgres-pool-size` / `SIGHTLINE_POSTGRES_POOL_SIZE`: most pooled PostgreSQL connections,
    /// 3 of them the writer's, the rest for reads; default 10.
    public var postgresPoolSize = 10
    /// `--postgres-statement-timeout` / `SIGHTLINE_POSTGRES_STATEMENT_TIMEOUT`: seconds one
    /// statement of the writer's and other non-read sessions may run; default 30.
    public var postgresStatementTimeoutSeconds = 30
    /// `--query-timeout` / `SIGHTLINE_QUERY_TIMEOUT`: seconds (a fraction allowed) one read of
    /// the store may run, on either store (the query API, Loki, Tempo, alert metrics), before it
    /// is stopped and the API answers 422; default 30.
    public var queryTimeout: Duration = ReadTimeLimit.default
    /// How long a live log stream client may take in nothing while messages wait for it before
    /// it is cut off (30 s; not a setting: tests on a loaded machine give it longer).
    public var liveClientStallLimit: Duration = .seconds(30)
    /// `--metric-series-expiry` / `SIGHTLINE_METRIC_SERIES_EXPIRY`: whole seconds after its latest
    /// point a series stops being exposed on `/metrics/otlp` (like the Collector's
    /// `metric_expiration`); default 300.
    public var metricSeriesExpiry: Duration = .seconds(300)
    /// `--span-metrics-max-series` / `SIGHTLINE_SPAN_METRICS_MAX_SERIES`: label sets kept by the
    /// span-derived and LLM metric families each; spans of further label sets are counted in one
    /// `otel_metric_overflow="true"` series. Default 2000.
    public var spanMetricsMaxSeries = 2000
    /// `--llm-prices` / `SIGHTLINE_LLM_PRICES`: USD per million input/output tokens per model,
    /// `MODEL=INPUT/OUTPUT` entries separated by commas (`*` for other models), or `@FILE` holding
    /// such entries one per line; applied over the built-in table (`LLMPriceTable.default`).
    public var llmPrices: LLMPriceTable = .default
    /// `--rules-storage` / `SIGHTLINE_RULES_STORAGE`: a `postgres://` URL for the role that
    /// alert rules' `custom_sql` logs in as, where Sightline's own user may not create it
    /// (`sightline migrate --print-rules-role-sql` prints the SQL); PostgreSQL storage only.
    /// Unset: the role Sightline creates itself. Holds a password: never logged.
    public var rulesStorage: String?
    /// `--read-storage` / `SIGHTLINE_READ_STORAGE`: a `postgres://` URL of a hot standby of
    /// `storage` that the query API, Grafana's data sources and the alert rules' metric reads go
    /// to; ingest, retention, alert rules and state and the live log stream stay on the primary,
    /// and reads go to the primary while the standby cannot be reached (docs/scaling.md).
    /// PostgreSQL storage only. Holds a password: never logged.
    public var readStorage: String?
    /// `--alert-custom-sql-concurrency` / `SIGHTLINE_ALERT_CUSTOM_SQL_CONCURRENCY`: `custom_sql`
    /// statements running at once, previews and evaluations together; a preview beyond it is
    /// answered 429, an evaluation waits (up to 30 s). 1 to 32; default 2.
    public var customSQLConcurrency = 2
    /// How long each kind of data is kept (`--trace-retention` … `--cache-metrics-retention`,
    /// `SIGHTLINE_*_RETENTION`); the retention worker deletes what is older (docs/retention.md).
    public var retention = RetentionPolicy()
    /// The alert engine: notification destinations and evaluator timing, from environment
    /// variables only (`SLACK_WEBHOOK_URL`, `SMTP_*`, `ALERT_*`, `SIGHTLINE_ALERT*`,
    /// `SIGHTLINE_EXTERNAL_URL`).
    public var alerting = AlertingConfiguration()

    /// Every setting at its default.
    public init() {}

    /// Resolves every setting of `Setting`'s table, then the rules between settings; reports
    /// all problems at once.
    ///
    /// - Parameters:
    ///   - flags: values given on the command line, keyed by `Setting`.
    ///   - environment: the process environment (passed in so tests control it).
    public static func resolve(flags: [Setting: String] = [:], environment: [String: String] = [:]) throws(ConfigurationError) -> SightlineConfiguration {
        var resolution = SettingsResolution(flags: flags, environment: environment)
        for setting in Setting.allCases {
            setting.definition.rule.apply(resolution.text(of: setting), &resolution)
        }
        var configuration = resolution.configuration
        var problems = resolution.problems
        func source(_ setting: Setting) -> String { resolution.text(of: setting).source }

        if !resolution.smtp.host.isEmpty { configuration.alerting.smtp = resolution.smtp }
        if configuration.rulesStorage != nil, resolution.text(of: .storage).text.hasPrefix("sqlite:") {
            problems.append("\(source(.rulesStorage)): only for PostgreSQL storage")
        }
        if configuration.readStorage != nil, resolution.text(of: .storage).text.hasPrefix("sqlite:") {
            problems.append("\(source(.readStorage)): a read replica is only for PostgreSQL storage (SQLite storage is one file on one machine)")
        }
        if configuration.apiKeys.isEmpty, !configuration.allowUnauthenticated, !Self.isLoopback(configuration.httpHost) {
            problems.append("\(source(.httpHost))=\"\(configuration.httpHost)\" is not a loopback address and SIGHTLINE_API_KEYS is empty; configure API keys or pass --allow-unauthenticated")
        }
        if configuration.ingestTokens.isEmpty, !configuration.allowUnauthenticatedIngest, !Self.isLoopback(configuration.otlpHost) {
            problems.append("\(source(.otlpHost))=\"\(configuration.otlpHost)\" is not a loopback address and SIGHTLINE_INGEST_TOKENS is empty: anyone who reaches the receiver could write telemetry; configure ingest tokens or pass --allow-unauthenticated-ingest")
        }
        if configuration.grpcPort != nil, configuration.ingestTokens.isEmpty, !configuration.allowUnauthenticatedIngest,
           !Self.isLoopback(configuration.grpcHost) {
            problems.append("\(source(.grpcHost))=\"\(configuration.grpcHost)\" is not a loopback address and SIGHTLINE_INGEST_TOKENS is empty: anyone who reaches the gRPC receiver could write telemetry; configure ingest tokens, pass --allow-unauthenticated-ingest, or turn it off with --grpc-port 0")
        }
        if configuration.tracecontextTestRoute, !Self.isLoopback(configuration.httpHost) {
            problems.append("\(source(.tracecontextTestRoute)): the trace-context test route is only for a loopback API address, not \"\(configuration.httpHost)\"")
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return configuration
    }

    /// `localhost`, or an IP literal in 127.0.0.0/8 or `::1` (a name like `127.evil.example` is not).
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || LoopbackAddress.isLoopbackLiteral(host)
    }

    /// The settings worth logging at start-up; secrets are counted, never shown.
    public var redactedDescription: String {
        "storage=\(storage) otlp=\(otlpHost):\(otlpPort) grpc=\(grpcPort.map { "\(grpcHost):\($0)" } ?? "off") http=\(httpHost):\(httpPort) api_keys=\(apiKeys.count) "
            + "ingest_tokens=\(ingestTokens.count) max_body_bytes=\(maxBodyBytes) max_inflated_bytes=\(maxInflatedBytes) "
            + "queue_capacity=\(queueCapacity) rules_storage=\(rulesStorage == nil ? "unset" : "set") "
            + "read_storage=\(readStorage == nil ? "unset" : "set") "
            + "custom_sql_concurrency=\(customSQLConcurrency) retention=\(retention) query_timeout=\(ReadTimeLimit.text(queryTimeout).filter { $0 != " " }) \(alerting.redactedDescription)"
    }
}

/// An invalid configuration: every problem, each naming the setting, its value and the rule.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]

    /// One line, as printed when start-up stops.
    public var description: String { "invalid configuration: " + problems.joined(separator: "; ") }
}

