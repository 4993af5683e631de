import Alerting
import Ingest

/// Every setting Sightline reads: its flag, environment variable, default and rule, in one
/// table (`definition`). `SightlineConfiguration.resolve` reads them all from it, the
/// `sightline` command derives its options from it, and a test holds README.md's
/// configuration table to it.
///
/// Adding a setting: a case here and its row in `definition`, the configuration field the
/// row's rule fills, and one row in README.md's table.
public enum Setting: String, CaseIterable, Sendable {
    case storage, otlpHost, otlpPort, grpcHost, grpcPort, httpHost, httpPort, apiKeys, ingestTokens
    case maxBodyBytes, maxInflatedBytes, queueCapacity, maxConcurrentDecodes, queryCountLimit, allowUnauthenticated, logLevel
    case postgresTLS, postgresPoolSize, postgresStatementTimeout, tracecontextTestRoute
    case spanMetricsMaxSeries, llmPrices, allowedHosts, allowUnauthenticatedIngest
    case rulesStorage, alertCustomSQLConcurrency, queryTimeout, metricSeriesExpiry, readStorage
    // Retention (docs/retention.md).
    case traceRetention, logRetention, llmRetention, alertHistoryRetention
    case requestMetricsRetention, systemMetricsRetention, ragMetricsRetention, cacheMetricsRetention, metricRetention
    // The alert engine's.
    case slackWebhookURL, alertWebhookURL, alertmanagerURL
    case smtpHost, smtpPort, smtpUser, smtpPassword, smtpTLSVerify, alertEmailFrom, alertEmailTo
    case alertsEnabled, alertTick, alertNotifyTimeout, alertRetryAttempts, alertRetryInitialDelay, alertCustomSQLTimeout
    case alertAllowedHosts, alertEmailDomains, externalURL

    /// The setting's row of the table.
    var definition: Definition {
        switch self {
        case .storage:
            Definition(flag: "storage", "SIGHTLINE_STORAGE", default: "sqlite:./sightline-data/sightline.db",
                       help: "sqlite:PATH or a postgres:// URL", rule: .value(\.storage, Parse.storage))
        case .otlpHost:
            Definition(flag: "otlp-host", "SIGHTLINE_OTLP_HOST", default: "127.0.0.1",
                       help: "OTLP/HTTP receiver address", rule: .value(\.otlpHost, Parse.host))
        case .otlpPort:
            Definition(flag: "otlp-port", "SIGHTLINE_OTLP_PORT", default: "4318",
                       help: "OTLP/HTTP receiver port, 0 for any", rule: .value(\.otlpPort, Parse.port(in: 0...65535)))
        case .grpcHost:
            Definition(flag: "grpc-host", "SIGHTLINE_GRPC_HOST", default: "127.0.0.1",
                       help: "OTLP/gRPC receiver address", rule: .value(\.grpcHost, Parse.host))
        case .grpcPort:
            Definition(flag: "grpc-port", "SIGHTLINE_GRPC_PORT", default: "4317",
                       help: "OTLP/gRPC receiver port, 0 to disable", rule: .value(\.grpcPort, Parse.optionalPort))
        case .httpHost:
            Definition(flag: "http-host", "SIGHTLINE_HTTP_HOST", default: "127.0.0.1",
                       help: "API address", rule: .value(\.httpHost, Parse.host))
        case .httpPort:
            Definition(flag: "http-port", "SIGHTLINE_HTTP_PORT", default: "3200",
                       help: "API port, 0 for any", rule: .value(\.httpPort, Parse.port(in: 0...65535)))
        case .apiKeys:
            Definition(secret: "SIGHTLINE_API_KEYS",
                       help: "comma-separated keys guarding the API port", rule: .value(\.apiKeys, Parse.list))
        case .ingestTokens:
            Definition(secret: "SIGHTLINE_INGEST_TOKENS",
                       help: "comma-separated bearer tokens the receiver requires", rule: .value(\.ingestTokens, Parse.list))
        case .maxBodyBytes:
            Definition(flag: "max-body-bytes", "SIGHTLINE_MAX_BODY_BYTES", default: "20MiB",
                       help: "request body limit on the wire", rule: .value(\.maxBodyBytes, Parse.size))
        case .maxInflatedBytes:
            Definition(flag: "max-inflated-bytes", "SIGHTLINE_MAX_INFLATED_BYTES", default: "64MiB",
                       help: "request body limit after gzip/deflate", rule: .value(\.maxInflatedBytes, Parse.size))
        case .queueCapacity:
            Definition(flag: "queue-capacity", "SIGHTLINE_QUEUE_CAPACITY", default: "10000",
                       help: "spans and log records waiting for a commit before 503", rule: .value(\.queueCapacity, Parse.count))
        case .maxConcurrentDecodes:
            Definition(flag: "max-concurrent-decodes", "SIGHTLINE_MAX_CONCURRENT_DECODES",
                       default: String(OTLPReceiver.Configuration.defaultConcurrentDecodes), documented: "2 per core, at least 8",
                       help: "export requests decoded at once before 503", rule: .value(\.maxConcurrentDecodes, Parse.count))
        case .queryCountLimit:
            Definition(flag: "query-count-limit", "SIGHTLINE_QUERY_COUNT_LIMIT", default: "10000",
                       help: "matches trace and log lists count before total_capped", rule: .value(\.queryCountLimit, Parse.count))
        case .allowUnauthenticated:
            Definition(flag: "allow-unauthenticated", "SIGHTLINE_ALLOW_UNAUTHENTICATED", default: "false",
                       help: "allow a non-loopback API address without API keys", rule: .switch(\.allowUnauthenticated))
        case .logLevel:
            Definition(flag: "log-level", "SIGHTLINE_LOG_LEVEL", default: "info",
                       help: "trace, debug, info, notice, warning, error or critical", rule: .value(\.logLevel, Parse.logLevel))
        case .postgresTLS:
            Definition(flag: "postgres-tls", "SIGHTLINE_POSTGRES_TLS", default: "", documented: "the URL's `sslmode`, else `prefer`",
                       help: "PostgreSQL TLS: disable, prefer or require", rule: .value(\.postgresTLS, Parse.postgresTLS))
        case .postgresPoolSize:
            Definition(flag: "postgres-pool-size", "SIGHTLINE_POSTGRES_POOL_SIZE", default: "10",
                       help: "most PostgreSQL connections, 3 of them the writer's", rule: .value(\.postgresPoolSize, Parse.count))
        case .postgresStatementTimeout:
            Definition(flag: "postgres-statement-timeout", "SIGHTLINE_POSTGRES_STATEMENT_TIMEOUT", default: "30",
                       help: "seconds one PostgreSQL statement may run", rule: .value(\.postgresStatementTimeoutSeconds, Parse.count))
        case .tracecontextTestRoute:
            Definition(flag: "enable-tracecontext-test-route", "SIGHTLINE_TRACECONTEXT_TEST_ROUTE", default: "false",
                       help: "serve POST /_test/tracecontext for the W3C Trace Context test suite, loopback only",
                       rule: .switch(\.tracecontextTestRoute))
        case .spanMetricsMaxSeries:
            Definition(flag: "span-metrics-max-series", "SIGHTLINE_SPAN_METRICS_MAX_SERIES", default: "2000",
                       help: "label sets per span/LLM metric family before overflow", rule: .value(\.spanMetricsMaxSeries, Parse.count))
        case .llmPrices:
            Definition(flag: "llm-prices", "SIGHTLINE_LLM_PRICES", default: "",
                       documented: "the built-in table: `grok-4-1-fast-reasoning`, `grok-4-1`, `claude-3-sonnet` at 3/15, anything else 5/15",
                       help: "LLM prices, MODEL=INPUT/OUTPUT USD per million tokens, comma-separated, or @FILE",
                       rule: .value(\.llmPrices, Parse.llmPrices))
        case .allowedHosts:
            Definition(flag: "allowed-hosts", "SIGHTLINE_ALLOWED_HOSTS", default: "",
                       help: "host names both ports answer to besides their address and localhost, comma-separated",
                       rule: .entries(\.allowedHosts, Parse.hostNames(_:setting:)))
        case .allowUnauthenticatedIngest:
            Definition(flag: "allow-unauthenticated-ingest", "SIGHTLINE_ALLOW_UNAUTHENTICATED_INGEST", default: "false",
                       help: "allow a non-loopback receiver address without ingest tokens", rule: .switch(\.allowUnauthenticatedIngest))
        case .rulesStorage:
            Definition(flag: "rules-storage", "SIGHTLINE_RULES_STORAGE", default: "", secret: true,
                       help: "PostgreSQL URL of the role custom_sql alert rules log in as", rule: .value(\.rulesStorage, Parse.postgresURL))
        case .readStorage:
            Definition(flag: "read-storage", "SIGHTLINE_READ_STORAGE", default: "", secret: true,
                       help: "PostgreSQL URL of a hot standby that query reads go to", rule: .value(\.readStorage, Parse.postgresURL))
        case .alertCustomSQLConcurrency:
            Definition(flag: "alert-custom-sql-concurrency", "SIGHTLINE_ALERT_CUSTOM_SQL_CONCURRENCY", default: "2",
                       help: "custom_sql statements running at once, previews and evaluations",
                       // Each slot may hold a connection of the rules role, whose connection limit is 32.
                       rule: .value(\.customSQLConcurrency, Parse.count(upTo: 32)))
        case .queryTimeout:
            Definition(flag: "query-timeout", "SIGHTLINE_QUERY_TIMEOUT", default: "30",
                       help: "seconds one read of the store may run before the API answers 422",
                       rule: .value(\.queryTimeout, Parse.seconds(upTo: 86_400)))
        case .traceRetention:
            Definition(flag: "trace-retention", "SIGHTLINE_TRACE_RETENTION", default: "14d",
                       help: "how long traces and their spans are kept: 36h, 14d, or 0 for ever", rule: .value(\.retention.traces, Parse.retention))
        case .logRetention:
            Definition(flag: "log-retention", "SIGHTLINE_LOG_RETENTION", default: "30d",
                       help: "how long log records are kept: 36h, 14d, or 0 for ever", rule: .value(\.retention.logs, Parse.retention))
        case .llmRetention:
            Definition(flag: "llm-retention", "SIGHTLINE_LLM_RETENTION", default: "90d",
                       help: "how long LLM call rows are kept: 36h, 14d, or 0 for ever", rule: .value(\.retention.llmCalls, Parse.retention))
        case .alertHistoryRetention:
            Definition(flag: "alert-history-retention", "SIGHTLINE_ALERT_HISTORY_RETENTION", default: "90d",
                       help: "how long resolved alert instances and their notifications are kept: 36h, 14d, or 0 for ever",
                       rule: .value(\.retention.alertHistory, Parse.retention))
        case .requestMetricsRetention:
            Definition(flag: "request-metrics-retention", "SIGHTLINE_REQUEST_METRICS_RETENTION", default: "30d",
                       help: "how long request_metrics rows are kept: 36h, 14d, or 0 for ever",
                       rule: .value(\.retention.requestMetrics, Parse.retention))
        case .systemMetricsRetention:
            Definition(flag: "system-metrics-retention", "SIGHTLINE_SYSTEM_METRICS_RETENTION", default: "7d",
                       help: "how long system_metrics rows are kept: 36h, 14d, or 0 for ever",
                       rule: .value(\.retention.systemMetrics, Parse.retention))
        case .ragMetricsRetention:
            Definition(flag: "rag-metrics-retention", "SIGHTLINE_RAG_METRICS_RETENTION", default: "30d",
                       help: "how long rag_metrics rows are kept: 36h, 14d, or 0 for ever", rule: .value(\.retention.ragMetrics, Parse.retention))
        case .cacheMetricsRetention:
            Definition(flag: "cache-metrics-retention", "SIGHTLINE_CACHE_METRICS_RETENTION", default: "7d",
                       help: "how long cache_metrics rows are kept: 36h, 14d, or 0 for ever",
                       rule: .value(\.retention.cacheMetrics, Parse.retention))
        case .metricRetention:
            Definition(flag: "metric-retention", "SIGHTLINE_METRIC_RETENTION", default: "14d",
                       help: "how long OTLP metric points are kept: 36h, 14d, or 0 for ever",
                       rule: .value(\.retention.metrics, Parse.retention))
        case .metricSeriesExpiry:
            Definition(flag: "metric-series-expiry", "SIGHTLINE_METRIC_SERIES_EXPIRY", default: "300",
                       help: "seconds after its latest point a series leaves /metrics/otlp",
                       rule: .value(\.metricSeriesExpiry, Parse.wholeSeconds))

        case .slackWebhookURL:
            Definition(secret: "SLACK_WEBHOOK_URL",
                       help: "Slack incoming webhook", rule: .value(\.alerting.slackWebhookURL, Parse.httpURL))
        case .alertWebhookURL:
            Definition(secret: "ALERT_WEBHOOK_URL",
                       help: "receives the Alertmanager webhook payload", rule: .value(\.alerting.webhookURL, Parse.httpURL))
        case .alertmanagerURL:
            Definition(environmentOnly: "ALERTMANAGER_URL",
                       help: "an Alertmanager alerts are posted to", rule: .value(\.alerting.alertmanagerURL, Parse.httpURL))
        case .smtpHost:
            Definition(environmentOnly: "SMTP_HOST",
                       help: "SMTP server for the email channel", rule: .smtp(\.host, Parse.text))
        case .smtpPort:
            Definition(environmentOnly: "SMTP_PORT", default: "587",
                       help: "SMTP server port", rule: .smtp(\.port, Parse.port(in: 1...65535)))
        case .smtpUser:
            Definition(environmentOnly: "SMTP_USER",
                       help: "SMTP user name", rule: .smtp(\.username, Parse.optionalText))
        case .smtpPassword:
            Definition(secret: "SMTP_PASSWORD",
                       help: "SMTP password", rule: .smtp(\.password, Parse.optionalText))
        case .smtpTLSVerify:
            Definition(environmentOnly: "SMTP_TLS_VERIFY", default: "true",
                       help: "verify the SMTP server's certificate", rule: .smtp(\.verifyCertificates, Parse.boolean))
        case .alertEmailFrom:
            Definition(environmentOnly: "ALERT_EMAIL_FROM", default: "alerts@sightline.local",
                       help: "sender of alert e-mails", rule: .value(\.alerting.emailFrom, Parse.text))
        case .alertEmailTo:
            Definition(environmentOnly: "ALERT_EMAIL_TO",
                       help: "comma-separated recipients", rule: .value(\.alerting.emailTo, Parse.list))
        case .alertsEnabled:
            Definition(environmentOnly: "SIGHTLINE_ALERTS_ENABLED", default: "true",
                       help: "run the evaluator", rule: .value(\.alerting.evaluatorEnabled, Parse.boolean))
        case .alertTick:
            Definition(environmentOnly: "SIGHTLINE_ALERT_TICK_MS", default: "1000",
                       help: "milliseconds between looks for due rules", rule: .value(\.alerting.tick, Parse.milliseconds))
        case .alertNotifyTimeout:
            Definition(environmentOnly: "SIGHTLINE_ALERT_NOTIFY_TIMEOUT", default: "10",
                       help: "seconds one notification attempt may take", rule: .value(\.alerting.notifyTimeout, Parse.wholeSeconds))
        case .alertRetryAttempts:
            Definition(environmentOnly: "SIGHTLINE_ALERT_RETRY_ATTEMPTS", default: "5",
                       help: "attempts per notification and channel", rule: .value(\.alerting.retry.maxAttempts, Parse.count))
        case .alertRetryInitialDelay:
            Definition(environmentOnly: "SIGHTLINE_ALERT_RETRY_INITIAL_MS", default: "1000",
                       help: "milliseconds before the first retry", rule: .value(\.alerting.retry.initialDelay, Parse.milliseconds))
        case .alertCustomSQLTimeout:
            Definition(environmentOnly: "SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT", default: "5",
                       help: "seconds a custom_sql statement may run", rule: .value(\.alerting.customSQLTimeout, Parse.wholeSeconds))
        case .alertAllowedHosts:
            Definition(environmentOnly: "SIGHTLINE_ALERT_ALLOWED_HOSTS",
                       help: "where a rule's own notification URLs may go despite their addresses",
                       rule: .entries(\.alerting.egress.allowances, EgressPolicy.allowances(_:setting:)))
        case .alertEmailDomains:
            Definition(environmentOnly: "SIGHTLINE_ALERT_EMAIL_DOMAINS", documented: "(none: any)",
                       help: "the only domains a rule's own email_to may name",
                       rule: .entries(\.alerting.egress.emailDomains, EgressPolicy.emailDomains(_:setting:)))
        case .externalURL:
            Definition(environmentOnly: "SIGHTLINE_EXTERNAL_URL",
                       help: "link put into webhook and Alertmanager payloads", rule: .value(\.alerting.externalURL, Parse.text))
        }
    }

    /// The retention periods, one per `RetentionSignal`.
    public static let retentionSettings: [Setting] = [
        .traceRetention, .logRetention, .llmRetention, .alertHistoryRetention,
        .requestMetricsRetention, .systemMetricsRetention, .ragMetricsRetention, .cacheMetricsRetention, .metricRetention,
    ]

    /// The command-line flag without dashes (`otlp-port`); `nil` for a setting read from the
    /// environment only (secrets, and the alert engine's variables).
    public var flag: String? { definition.flag }

    /// The environment variable, e.g. `SIGHTLINE_OTLP_PORT`.
    public var environmentVariable: String { definition.environmentVariable }

    /// The text read when neither the flag nor the variable is given.
    public var defaultValue: String { definition.defaultValue }

    /// The default as README.md's configuration table shows it: `` `4318` ``, `(none)` for an
    /// empty one, or words where the value depends on the machine or another setting.
    public var documentedDefault: String { definition.documentedDefault }

    /// What the setting does, in a few words (`sightline --help`).
    public var help: String { definition.help }

    /// Whether the value is a secret: read from the environment only, never logged, never
    /// shown in a problem.
    public var isSecret: Bool { definition.isSecret }

    /// Whether the flag stands alone, without a value (`--allow-unauthenticated`).
    public var isSwitch: Bool { definition.rule.isSwitch }
}

extension Setting {
    /// One row of the table.
    struct Definition {
        var flag: String?
        var environmentVariable: String
        var defaultValue: String
        var documentedDefault: String
        var help: String
        var isSecret: Bool
        var rule: SettingRule

        /// A setting with a flag. `documented` is the README's default when it is not the value itself.
        init(flag: String, _ environmentVariable: String, default defaultValue: String, documented: String? = nil,
             secret: Bool = false, help: String, rule: SettingRule) {
            self.init(flag, environmentVariable, defaultValue, documented, secret, help, rule)
        }

        /// A setting read from the environment only.
        init(environmentOnly environmentVariable: String, default defaultValue: String = "", documented: String? = nil,
             help: String, rule: SettingRule) {
            self.init(nil, environmentVariable, defaultValue, documented, false, help, rule)
        }

        /// A secret: from the environment only, never shown.
        init(secret environmentVariable: String, help: String, rule: SettingRule) {
            self.init(nil, environmentVariable, "", nil, true, help, rule)
        }

        private init(_ flag: String?, _ environmentVariable: String, _ defaultValue: String, _ documented: String?,
                     _ isSecret: Bool, _ help: String, _ rule: SettingRule) {
            self.flag = flag
            self.environmentVariable = environmentVariable
            self.defaultValue = defaultValue
            self.documentedDefault = documented ?? (defaultValue.isEmpty ? "(none)" : "`\(defaultValue)`")
            self.help = help
            self.isSecret = isSecret
            self.rule = rule
        }
    }
}
