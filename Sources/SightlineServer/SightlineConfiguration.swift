import Alerting
import Foundation
import Ingest
import Logging
import Store

/// Sightline's whole configuration, built from flags, then `SIGHTLINE_*` environment
/// variables, then defaults (see `Setting` for the names), and validated in one place.
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
    public var storage: Storage
    /// `--otlp-host` / `SIGHTLINE_OTLP_HOST`; default `127.0.0.1`.
    public var otlpHost: String
    /// `--otlp-port` / `SIGHTLINE_OTLP_PORT`; default 4318; 0 picks a free port.
    public var otlpPort: Int
    /// `--http-host` / `SIGHTLINE_HTTP_HOST` (API, pages, metrics); default `127.0.0.1`.
    public var httpHost: String
    /// `--http-port` / `SIGHTLINE_HTTP_PORT`; default 3200; 0 picks a free port.
    public var httpPort: Int
    /// `SIGHTLINE_API_KEYS`: comma-separated keys guarding the query and admin API.
    public var apiKeys: [String]
    /// `SIGHTLINE_INGEST_TOKENS`: comma-separated bearer tokens required by the receiver.
    public var ingestTokens: [String]
    /// `--max-body-bytes` / `SIGHTLINE_MAX_BODY_BYTES`: request body limit on the wire; default 20 MiB.
    public var maxBodyBytes: Int
    /// `--max-inflated-bytes` / `SIGHTLINE_MAX_INFLATED_BYTES`: limit after gzip/deflate; default 64 MiB.
    public var maxInflatedBytes: Int
    /// `--queue-capacity` / `SIGHTLINE_QUEUE_CAPACITY`: spans and log records waiting for a
    /// commit before the receiver answers 503; default 10000 (about half a second of ingest).
    public var queueCapacity: Int
    /// `--max-concurrent-decodes` / `SIGHTLINE_MAX_CONCURRENT_DECODES`: export requests read and
    /// decoded at once; more are answered 503 before their body is read. Default: 2 per core, at least 8.
    public var maxConcurrentDecodes: Int
    /// `--query-count-limit` / `SIGHTLINE_QUERY_COUNT_LIMIT`: trace and log lists count their
    /// matches up to this many (`total`, then `total_capped: true`); default 10000.
    public var queryCountLimit: Int
    /// `--allow-unauthenticated` / `SIGHTLINE_ALLOW_UNAUTHENTICATED`: allow a non-loopback
    /// API address without API keys.
    public var allowUnauthenticated: Bool
    /// `--enable-tracecontext-test-route` / `SIGHTLINE_TRACECONTEXT_TEST_ROUTE`: serve
    /// `POST /_test/tracecontext` for the W3C Trace Context test suite (loopback API only).
    public var tracecontextTestRoute: Bool
    /// `--log-level` / `SIGHTLINE_LOG_LEVEL`: trace, debug, info, notice, warning, error, critical.
    public var logLevel: Logger.Level
    /// `--postgres-tls` / `SIGHTLINE_POSTGRES_TLS`: disable, prefer or require; default: the
    /// URL's `sslmode`, else prefer.
    public var postgresTLS: PostgresStore.Configuration.TLSMode?
    /// `--postgres-pool-size` / `SIGHTLINE_POSTGRES_POOL_SIZE`: most pooled PostgreSQL connections,
    /// 3 of them the writer's, the rest for reads; default 10.
    public var postgresPoolSize: Int
    /// `--postgres-statement-timeout` / `SIGHTLINE_POSTGRES_STATEMENT_TIMEOUT`: seconds one
    /// statement of the writer's and other non-read sessions may run; default 30.
    public var postgresStatementTimeoutSeconds: Int
    /// `--query-timeout` / `SIGHTLINE_QUERY_TIMEOUT`: seconds (a fraction allowed) one read of
    /// the store may run, on either store (the query API, Loki, Tempo, alert metrics), before it
    /// is stopped and the API answers 422; default 30.
    public var queryTimeout: Duration = ReadTimeLimit.default
    /// `--span-metrics-max-series` / `SIGHTLINE_SPAN_METRICS_MAX_SERIES`: label sets kept by the
    /// span-derived and LLM metric families each; spans of further label sets are counted in one
    /// `otel_metric_overflow="true"` series. Default 2000.
    public var spanMetricsMaxSeries: Int = 2000
    /// `--llm-prices` / `SIGHTLINE_LLM_PRICES`: USD per million input/output tokens per model,
    /// `MODEL=INPUT/OUTPUT` entries separated by commas (`*` for other models), or `@FILE` holding
    /// such entries one per line; applied over the built-in table (`LLMPriceTable.default`).
    public var llmPrices: LLMPriceTable = .default
    /// The alert engine: notification destinations and evaluator timing, from environment
    /// variables only (`AlertingConfiguration.fromEnvironment`; README lists them).
    public var alerting: AlertingConfiguration = AlertingConfiguration()

    /// Resolves every setting; reports all problems at once.
    ///
    /// - Parameters:
    ///   - flags: values given on the command line, keyed by `Setting`.
    ///   - environment: the process environment (passed in so tests control it).
    public static func resolve(flags: [Setting: String] = [:], environment: [String: String] = [:]) throws(ConfigurationError) -> SightlineConfiguration {
        var problems: [String] = []
        func value(_ setting: Setting) -> (text: String, source: String) {
            if let text = flags[setting] { return (text, "--\(setting.flag)") }
            if let text = environment[setting.environmentVariable] { return (text, setting.environmentVariable) }
            return (setting.defaultValue, "default \(setting.flag)")
        }
        func port(_ setting: Setting) -> Int {
            let (text, source) = value(setting)
            guard let number = Int(text.trimmed), (0...65535).contains(number) else {
                problems.append("\(source)=\"\(text)\": expected a port number from 0 to 65535")
                return 0
            }
            return number
        }
        func host(_ setting: Setting) -> String {
            let (text, source) = value(setting)
            if text.trimmed.isEmpty { problems.append("\(source): expected a host name or address") }
            return text.trimmed
        }
        func size(_ setting: Setting) -> Int {
            let (text, source) = value(setting)
            guard let bytes = ByteSize.parse(text), bytes > 0 else {
                problems.append("\(source)=\"\(text)\": expected a positive size in bytes (suffixes KiB, MiB, GiB allowed)")
                return 1
            }
            return bytes
        }
        func count(_ setting: Setting) -> Int {
            let (text, source) = value(setting)
            guard let number = Int(text.trimmed), number > 0 else {
                problems.append("\(source)=\"\(text)\": expected a positive whole number")
                return 1
            }
            return number
        }
        func flag(_ setting: Setting) -> Bool {
            let (text, source) = value(setting)
            switch text.trimmed.lowercased() {
            case "1", "true", "yes", "on": return true
            case "", "0", "false", "no", "off": return false
            default:
                problems.append("\(source)=\"\(text)\": expected true or false")
                return false
            }
        }
        func list(_ setting: Setting) -> [String] {
            value(setting).text.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
        }

        let storage: Storage
        let (storageText, storageSource) = value(.storage)
        if storageText.hasPrefix("sqlite:"), storageText.count > "sqlite:".count {
            storage = .sqlite(path: String(storageText.dropFirst("sqlite:".count)))
        } else if storageText.hasPrefix("postgres://") || storageText.hasPrefix("postgresql://") {
            do {
                _ = try PostgresStore.Configuration(url: storageText)
            } catch {
                // The URL may hold a password: name the setting, not the value.
                problems.append("\(storageSource): \(error.reason)")
            }
            storage = .postgres(url: storageText)
        } else {
            problems.append("\(storageSource)=\"\(storageText)\": expected sqlite:PATH or a postgres:// URL")
            storage = .sqlite(path: "")
        }

        let levelText = value(.logLevel)
        let logLevel = Logger.Level(rawValue: levelText.text.trimmed.lowercased())
        if logLevel == nil {
            problems.append("\(levelText.source)=\"\(levelText.text)\": expected trace, debug, info, notice, warning, error or critical")
        }

        let tlsText = value(.postgresTLS)
        var postgresTLS: PostgresStore.Configuration.TLSMode?
        if !tlsText.text.trimmed.isEmpty {
            postgresTLS = PostgresStore.Configuration.TLSMode(rawValue: tlsText.text.trimmed.lowercased())
            if postgresTLS == nil { problems.append("\(tlsText.source)=\"\(tlsText.text)\": expected disable, prefer or require") }
        }

        var configuration = SightlineConfiguration(
            storage: storage,
            otlpHost: host(.otlpHost), otlpPort: port(.otlpPort),
            httpHost: host(.httpHost), httpPort: port(.httpPort),
            apiKeys: list(.apiKeys), ingestTokens: list(.ingestTokens),
            maxBodyBytes: size(.maxBodyBytes), maxInflatedBytes: size(.maxInflatedBytes),
            queueCapacity: count(.queueCapacity),
            maxConcurrentDecodes: count(.maxConcurrentDecodes),
            queryCountLimit: count(.queryCountLimit),
            allowUnauthenticated: flag(.allowUnauthenticated),
            tracecontextTestRoute: flag(.tracecontextTestRoute),
            logLevel: logLevel ?? .info,
            postgresTLS: postgresTLS,
            postgresPoolSize: count(.postgresPoolSize),
            postgresStatementTimeoutSeconds: count(.postgresStatementTimeout)
        )
        configuration.spanMetricsMaxSeries = count(.spanMetricsMaxSeries)
        let (timeoutText, timeoutSource) = value(.queryTimeout)
        if let seconds = Double(timeoutText.trimmed), seconds.isFinite, seconds >= 0.001, seconds <= 86_400 {
            configuration.queryTimeout = .milliseconds(Int64((seconds * 1000).rounded()))
        } else {
            problems.append("\(timeoutSource)=\"\(timeoutText)\": expected seconds from 0.001 to 86400 (e.g. 30 or 2.5)")
        }
        // The alert engine's variables (the seeds' SLACK_WEBHOOK_URL, SMTP_*, ALERT_* and
        // SIGHTLINE_ALERT_*), environment only: they hold secrets.
        let (alerting, alertingProblems) = AlertingConfiguration.fromEnvironment(environment)
        configuration.alerting = alerting
        problems += alertingProblems
        let (pricesText, pricesSource) = value(.llmPrices)
        do {
            configuration.llmPrices = try LLMPriceTable.parse(Self.llmPriceText(pricesText))
        } catch let error as LLMPriceTableError {
            problems.append("\(pricesSource): \(error.description)")
        } catch {
            problems.append("\(pricesSource)=\"\(pricesText)\": \(error)")
        }
        if configuration.apiKeys.isEmpty, !configuration.allowUnauthenticated, !Self.isLoopback(configuration.httpHost) {
            problems.append("\(value(.httpHost).source)=\"\(configuration.httpHost)\" is not a loopback address and SIGHTLINE_API_KEYS is empty; configure API keys or pass --allow-unauthenticated")
        }
        if configuration.tracecontextTestRoute, !Self.isLoopback(configuration.httpHost) {
            problems.append("\(value(.tracecontextTestRoute).source): the trace-context test route is only for a loopback API address, not \"\(configuration.httpHost)\"")
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return configuration
    }

    /// The price entries of `--llm-prices`: the text itself, or the contents of `@FILE`.
    static func llmPriceText(_ text: String) throws -> String {
        let trimmed = text.trimmed
        guard trimmed.hasPrefix("@") else { return trimmed }
        let path = String(trimmed.dropFirst())
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LLMPriceFileError(path: path)
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// The settings worth logging at start-up; secrets are counted, never shown.
    public var redactedDescription: String {
        "storage=\(storage) otlp=\(otlpHost):\(otlpPort) http=\(httpHost):\(httpPort) api_keys=\(apiKeys.count) "
            + "ingest_tokens=\(ingestTokens.count) max_body_bytes=\(maxBodyBytes) max_inflated_bytes=\(maxInflatedBytes) "
            + "queue_capacity=\(queueCapacity) query_timeout=\(ReadTimeLimit.text(queryTimeout).filter { $0 != " " }) \(alerting.redactedDescription)"
    }
}

/// `--llm-prices=@FILE` names a file that cannot be read.
struct LLMPriceFileError: Error, CustomStringConvertible {
    var path: String
    var description: String { "cannot read the price file \(path)" }
}

/// An invalid configuration: every problem, each naming the setting, its value and the rule.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]

    /// One line, as printed when start-up stops.
    public var description: String { "invalid configuration: " + problems.joined(separator: "; ") }
}

/// The user-facing names of every setting: flag, environment variable and default.
public enum Setting: String, CaseIterable, Sendable {
    case storage, otlpHost, otlpPort, httpHost, httpPort, apiKeys, ingestTokens
    case maxBodyBytes, maxInflatedBytes, queueCapacity, maxConcurrentDecodes, queryCountLimit, allowUnauthenticated, logLevel
    case postgresTLS, postgresPoolSize, postgresStatementTimeout, tracecontextTestRoute
    case spanMetricsMaxSeries, llmPrices, queryTimeout

    /// The command-line flag without dashes, e.g. `otlp-port`.
    public var flag: String {
        switch self {
        case .storage: "storage"
        case .otlpHost: "otlp-host"
        case .otlpPort: "otlp-port"
        case .httpHost: "http-host"
        case .httpPort: "http-port"
        case .apiKeys: "api-keys"
        case .ingestTokens: "ingest-tokens"
        case .maxBodyBytes: "max-body-bytes"
        case .maxInflatedBytes: "max-inflated-bytes"
        case .queueCapacity: "queue-capacity"
        case .maxConcurrentDecodes: "max-concurrent-decodes"
        case .queryCountLimit: "query-count-limit"
        case .allowUnauthenticated: "allow-unauthenticated"
        case .logLevel: "log-level"
        case .postgresTLS: "postgres-tls"
        case .postgresPoolSize: "postgres-pool-size"
        case .postgresStatementTimeout: "postgres-statement-timeout"
        case .tracecontextTestRoute: "enable-tracecontext-test-route"
        case .spanMetricsMaxSeries: "span-metrics-max-series"
        case .llmPrices: "llm-prices"
        case .queryTimeout: "query-timeout"
        }
    }

    public var environmentVariable: String {
        // DESIGN §8 names this one without the verb.
        if self == .tracecontextTestRoute { return "SIGHTLINE_TRACECONTEXT_TEST_ROUTE" }
        return "SIGHTLINE_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    public var defaultValue: String {
        switch self {
        case .storage: "sqlite:./sightline-data/sightline.db"
        case .otlpHost, .httpHost: "127.0.0.1"
        case .otlpPort: "4318"
        case .httpPort: "3200"
        case .apiKeys, .ingestTokens: ""
        case .maxBodyBytes: "20MiB"
        case .maxInflatedBytes: "64MiB"
        case .queueCapacity: "10000"
        case .maxConcurrentDecodes: String(OTLPReceiver.Configuration.defaultConcurrentDecodes)
        case .queryCountLimit: "10000"
        case .allowUnauthenticated, .tracecontextTestRoute: "false"
        case .logLevel: "info"
        case .postgresTLS: ""
        case .postgresPoolSize: "10"
        case .postgresStatementTimeout: "30"
        case .spanMetricsMaxSeries: "2000"
        case .llmPrices: ""
        case .queryTimeout: "30"
        }
    }
}

/// Sizes like `1048576`, `512KiB`, `20MiB`, `1GiB` (also `k`/`m`/`g`, `KB`/`MB`/`GB` as powers of 1024).
enum ByteSize {
    static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmed
        let digits = trimmed.prefix { $0.isNumber }
        guard let number = Int(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmed.lowercased()
        let multiplier: Int
        switch unit {
        case "", "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1 << 10
        case "m", "mb", "mib": multiplier = 1 << 20
        case "g", "gb", "gib": multiplier = 1 << 30
        default: return nil
        }
        let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }
}

extension StringProtocol {
    var trimmed: String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
