import Foundation
import Store

/// What a rule measures (docs/alerting.md, "Metric types"). The store computes the built-in
/// types (`AlertMetric`) and `metric` (`MetricQueries.aggregate`); `custom_sql` runs through its
/// `RuleQueryRunner`.
public enum MetricType: String, Sendable, CaseIterable, Codable {
    /// Failed spans plus ERROR/CRITICAL log records in the window.
    case errorCount = "error_count"
    /// Percentage (0–100) of spans in the window that failed; no spans is "no data".
    case errorRate = "error_rate"
    /// 95th/99th percentile of span duration in milliseconds (interpolated like `percentile_cont`).
    case latencyP95 = "latency_p95"
    case latencyP99 = "latency_p99"
    /// `latency_p95` over spans whose operation name contains "rag" (unless the rule names an
    /// operation); one of the default rules uses it.
    case ragLatencyP95 = "rag_latency_p95"
    /// Log records in the window.
    case logCount = "log_count"
    /// USD spent on LLM calls in the window.
    case llmCostHourly = "llm_cost_hourly"
    /// Tokens used by LLM calls in the window.
    case llmTokens = "llm_tokens"
    /// Cache hits as a percentage of lookups; no lookups is "no data".
    case cacheHitRate = "cache_hit_rate"
    /// Host memory use in percent: the window's average of the `memory_percent` readings that
    /// OTLP `system.memory.utilization` fills (docs/metrics.md); none is "no data".
    case memoryPercent = "memory_percent"
    /// The rule's own read-only query, returning one number (docs/security-customsql.md).
    case customSQL = "custom_sql"
    /// An ingested OTLP metric (`metric_name`), its window's points reduced by
    /// `metric_aggregation`, optionally only the series carrying `metric_attributes`.
    case metric

    /// Whether `service_name` narrows the metric.
    var hasService: Bool {
        switch self {
        case .errorCount, .errorRate, .latencyP95, .latencyP99, .ragLatencyP95, .logCount, .metric: true
        default: false
        }
    }

    /// Whether `operation_name` narrows the metric.
    var hasOperation: Bool { hasService && self != .metric }
}

/// How a value is compared with the threshold.
public enum AlertCondition: String, Sendable, CaseIterable, Codable {
    case gt, gte, lt, lte, eq, neq

    public func holds(_ value: Double, threshold: Double) -> Bool {
        switch self {
        case .gt: value > threshold
        case .gte: value >= threshold
        case .lt: value < threshold
        case .lte: value <= threshold
        case .eq: value == threshold
        case .neq: value != threshold
        }
    }

    var symbol: String {
        switch self {
        case .gt: ">"
        case .gte: ">="
        case .lt: "<"
        case .lte: "<="
        case .eq: "=="
        case .neq: "!="
        }
    }
}

public enum AlertSeverity: String, Sendable, CaseIterable, Codable {
    case info, warning, critical
}

/// Where a rule's notifications go.
public enum NotificationChannel: String, Sendable, CaseIterable, Codable {
    case slack, email, webhook, alertmanager
}

/// Per-rule destinations overriding the process-wide ones (`notification_config`):
/// `{"slack_webhook_url", "webhook_url", "alertmanager_url", "email_to": [..]}`. Secret:
/// never returned by the API (only which keys are set).
public struct NotificationOverrides: Sendable, Equatable, Codable {
    public var slackWebhookURL: String?
    public var webhookURL: String?
    public var alertmanagerURL: String?
    public var emailTo: [String]?

    public init(slackWebhookURL: String? = nil, webhookURL: String? = nil, alertmanagerURL: String? = nil, emailTo: [String]? = nil) {
        self.slackWebhookURL = slackWebhookURL
        self.webhookURL = webhookURL
        self.alertmanagerURL = alertmanagerURL
        self.emailTo = emailTo
    }

    enum CodingKeys: String, CodingKey {
        case slackWebhookURL = "slack_webhook_url"
        case webhookURL = "webhook_url"
        case alertmanagerURL = "alertmanager_url"
        case emailTo = "email_to"
    }

    var isEmpty: Bool { self == NotificationOverrides() }

    /// The names of the keys that are set, for API answers.
    var setKeys: [String] {
        var keys: [String] = []
        if slackWebhookURL != nil { keys.append(CodingKeys.slackWebhookURL.rawValue) }
        if webhookURL != nil { keys.append(CodingKeys.webhookURL.rawValue) }
        if alertmanagerURL != nil { keys.append(CodingKeys.alertmanagerURL.rawValue) }
        if emailTo != nil { keys.append(CodingKeys.emailTo.rawValue) }
        return keys
    }

    var json: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// An alert rule: what it measures, when it fires, where it notifies (docs/alerting.md).
public struct AlertRule: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    public var metricType: MetricType
    public var condition: AlertCondition
    public var threshold: Double
    public var windowMinutes: Int
    public var evaluationIntervalSeconds: Int
    public var customSQL: String?
    public var severity: AlertSeverity
    public var channels: [NotificationChannel]
    public var cooldownMinutes: Int
    public var enabled: Bool
    /// Scope of span and log metrics.
    public var serviceName: String?
    public var operationName: String?
    /// How long the condition must hold before the alert fires (0: at once).
    public var forMinutes: Int
    /// Re-notify a still-firing (not acknowledged) alert this often (0: never).
    public var repeatIntervalMinutes: Int
    public var overrides: NotificationOverrides
    /// What a `metric` rule watches (`nil` for every other type).
    public var metricQuery: MetricRuleQuery?

    public init(id: String = "", name: String, description: String? = nil, metricType: MetricType, condition: AlertCondition,
                threshold: Double, windowMinutes: Int = 5, evaluationIntervalSeconds: Int = 60, customSQL: String? = nil,
                severity: AlertSeverity = .warning, channels: [NotificationChannel] = [.slack], cooldownMinutes: Int = 15,
                enabled: Bool = true, serviceName: String? = nil, operationName: String? = nil, forMinutes: Int = 0,
                repeatIntervalMinutes: Int = 0, overrides: NotificationOverrides = NotificationOverrides(),
                metricQuery: MetricRuleQuery? = nil) {
        self.id = id
        self.name = name
        self.description = description
        self.metricType = metricType
        self.condition = condition
        self.threshold = threshold
        self.windowMinutes = windowMinutes
        self.evaluationIntervalSeconds = evaluationIntervalSeconds
        self.customSQL = customSQL
        self.severity = severity
        self.channels = channels
        self.cooldownMinutes = cooldownMinutes
        self.enabled = enabled
        self.serviceName = serviceName
        self.operationName = operationName
        self.forMinutes = forMinutes
        self.repeatIntervalMinutes = repeatIntervalMinutes
        self.overrides = overrides
        self.metricQuery = metricQuery
    }

    /// The alert's labels: what identifies it (its fingerprint) and what receivers group by.
    public var labels: [String: String] {
        var labels = ["alertname": name, "rule_id": id, "severity": severity.rawValue, "metric_type": metricType.rawValue]
        if let serviceName { labels["service"] = serviceName }
        if let operationName { labels["operation"] = operationName }
        if let metricQuery { labels["metric_name"] = metricQuery.name }
        return labels
    }

    public var fingerprint: String { Fingerprint.of(labels) }

    /// The policy the state machine applies.
    public var policy: AlertPolicy {
        AlertPolicy(forDuration: .seconds(forMinutes * 60), cooldown: .seconds(cooldownMinutes * 60),
                    repeatInterval: repeatIntervalMinutes > 0 ? .seconds(repeatIntervalMinutes * 60) : nil)
    }

    /// `"<name>: <metric> is <value> (threshold: <op> <threshold>)"`; a `metric` rule names its
    /// aggregation and metric (`p95(http.server.request.duration)`).
    public func message(value: Double) -> String {
        let measured = metricQuery.map { "\($0.aggregation.rawValue)(\($0.name))" } ?? metricType.rawValue
        return "\(name): \(measured) is \(Self.format(value)) (threshold: \(condition.symbol) \(Self.format(threshold)))"
    }

    static func format(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.4g", value)
    }
}

/// What a `metric` rule watches: an OTLP metric by name, the aggregation of its window's
/// points (`MetricAggregation`), and attributes its series must carry (point attributes, or
/// failing those resource attributes).
public struct MetricRuleQuery: Sendable, Equatable {
    public var name: String
    public var aggregation: MetricAggregation
    public var attributes: [String: String]

    public init(name: String, aggregation: MetricAggregation = .avg, attributes: [String: String] = [:]) {
        self.name = name
        self.aggregation = aggregation
        self.attributes = attributes
    }
}

/// Alertmanager-style fingerprint: FNV-1a (64 bit) over the sorted label names and values,
/// as 16 hex digits. Stable across restarts and processes.
public enum Fingerprint {
    public static func of(_ labels: [String: String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            hash ^= 0xff
            hash &*= 0x0000_0100_0000_01b3
        }
        for name in labels.keys.sorted() {
            mix(name)
            mix(labels[name] ?? "")
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
