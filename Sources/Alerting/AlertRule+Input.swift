import Foundation
import Store

/// A refused rule: the field and the problem (`"threshold: expected a number"`).
public struct RuleValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public var description: String { "\(field): \(problem)" }
}

extension AlertRule {
    /// A rule from an API body: all fields for a new rule (`base == nil`), or the fields given
    /// applied over `base` (an update). Every field is checked, destinations in
    /// `notification_config` against `egress` as far as possible without a lookup; the first
    /// problem is thrown.
    static func from(json object: [String: JSONValue], base: AlertRule?, egress: EgressPolicy) throws(RuleValidationError) -> AlertRule {
        func fail(_ field: String, _ problem: String) -> RuleValidationError { RuleValidationError(field: field, problem: problem) }
        let known: Set<String> = [
            "name", "description", "metric_type", "condition", "threshold", "window_minutes", "evaluation_interval_seconds",
            "custom_sql", "severity", "notification_channels", "cooldown_minutes", "enabled", "service_name", "operation_name",
            "for_minutes", "repeat_interval_minutes", "notification_config", "created_by", "metric_name", "metric_aggregation",
            "metric_attributes",
        ]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) { throw fail(unknown, "unknown field") }

        func text(_ field: String, maxLength: Int = 255) throws(RuleValidationError) -> String?? {
            guard let value = object[field] else { return .none }
            if value == .null { return .some(nil) }
            guard case .string(let string) = value else { throw fail(field, "expected a string") }
            guard string.count <= maxLength else { throw fail(field, "longer than \(maxLength) characters") }
            let trimmed = string.trimmingWhitespace
            return .some(trimmed.isEmpty ? nil : trimmed)
        }
        func integer(_ field: String, _ range: ClosedRange<Int>) throws(RuleValidationError) -> Int? {
            guard let value = object[field] else { return nil }
            guard case .number(let number) = value, number.rounded() == number, abs(number) < 1e9 else {
                throw fail(field, "expected a whole number")
            }
            let int = Int(number)
            guard range.contains(int) else {
                throw fail(field, range.lowerBound == 1 ? "must be positive (at most \(range.upperBound))" : "must be between \(range.lowerBound) and \(range.upperBound)")
            }
            return int
        }
        func choice<T: RawRepresentable & CaseIterable>(_ field: String, _ type: T.Type) throws(RuleValidationError) -> T? where T.RawValue == String {
            guard let value = object[field] else { return nil }
            guard case .string(let string) = value, let match = T(rawValue: string.lowercased()) else {
                throw fail(field, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return match
        }

        var rule = base ?? AlertRule(name: "", metricType: .errorCount, condition: .gt, threshold: 0)
        if let name = try text("name") { rule.name = name ?? "" }
        if rule.name.isEmpty { throw fail("name", "required") }
        if let description = try text("description", maxLength: 2000) { rule.description = description }
        if let metric = try choice("metric_type", MetricType.self) { rule.metricType = metric } else if base == nil { throw fail("metric_type", "required") }
        if let condition = try choice("condition", AlertCondition.self) { rule.condition = condition } else if base == nil { throw fail("condition", "required") }
        if let value = object["threshold"] {
            guard case .number(let number) = value, number.isFinite else { throw fail("threshold", "expected a number") }
            rule.threshold = number
        } else if base == nil {
            throw fail("threshold", "required")
        }
        if let minutes = try integer("window_minutes", 1...10_080) { rule.windowMinutes = minutes }
        if let seconds = try integer("evaluation_interval_seconds", 1...86_400) { rule.evaluationIntervalSeconds = seconds }
        if let minutes = try integer("cooldown_minutes", 0...10_080) { rule.cooldownMinutes = minutes }
        if let minutes = try integer("for_minutes", 0...10_080) { rule.forMinutes = minutes }
        if let minutes = try integer("repeat_interval_minutes", 0...10_080) { rule.repeatIntervalMinutes = minutes }
        if let severity = try choice("severity", AlertSeverity.self) { rule.severity = severity }
        if let value = object["enabled"] {
            guard case .bool(let flag) = value else { throw fail("enabled", "expected true or false") }
            rule.enabled = flag
        }
        if let value = object["notification_channels"] {
            guard case .array(let names) = value else { throw fail("notification_channels", "expected an array of channel names") }
            var channels: [NotificationChannel] = []
            for name in names {
                guard case .string(let name) = name, let channel = NotificationChannel(rawValue: name.lowercased()) else {
                    throw fail("notification_channels", "expected known channel names; known: \(NotificationChannel.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if !channels.contains(channel) { channels.append(channel) }
            }
            rule.channels = channels
        }
        if let service = try text("service_name") { rule.serviceName = service }
        if let operation = try text("operation_name") { rule.operationName = operation }
        if let sql = try text("custom_sql", maxLength: CustomSQLPrecheck.maxLength) { rule.customSQL = sql }
        if let value = object["notification_config"] {
            if value == .null {
                rule.overrides = NotificationOverrides()
            } else {
                guard case .object(let config) = value else { throw fail("notification_config", "expected an object") }
                rule.overrides = try overrides(config, egress: egress)
            }
        }
        if rule.metricType == .customSQL {
            guard let sql = rule.customSQL else { throw fail("custom_sql", "required when metric_type is custom_sql") }
            if let problem = CustomSQLPrecheck.problem(in: sql) { throw fail("custom_sql", problem) }
        } else if rule.customSQL != nil, object["custom_sql"] != nil {
            throw fail("custom_sql", "only for metric_type custom_sql")
        }
        if object["service_name"] != nil, rule.serviceName != nil, !rule.metricType.hasService {
            throw fail("service_name", "does not apply to \(rule.metricType.rawValue)")
        }
        if object["operation_name"] != nil, rule.operationName != nil, !rule.metricType.hasOperation {
            throw fail("operation_name", "does not apply to \(rule.metricType.rawValue)")
        }

        // The `metric` type's fields: required name, aggregation `avg` unless given, filters.
        var query = rule.metricQuery ?? MetricRuleQuery(name: "")
        if let name = try text("metric_name") { query.name = name ?? "" }
        if let aggregation = try choice("metric_aggregation", MetricAggregation.self) { query.aggregation = aggregation }
        if let value = object["metric_attributes"] { query.attributes = try metricAttributes(value) }
        if rule.metricType == .metric {
            if query.name.isEmpty { throw fail("metric_name", "required when metric_type is metric") }
            rule.metricQuery = query
        } else {
            let given = ["metric_name", "metric_aggregation", "metric_attributes"].first { field in
                guard let value = object[field] else { return false }
                return value != .null && value != .object([:])
            }
            if let given { throw fail(given, "only for metric_type metric") }
            rule.metricQuery = nil
        }
        return rule
    }

    /// `metric_attributes`: an object of at most 20 attribute names and their values (strings,
    /// or numbers and booleans kept as their text, as the store compares them).
    private static func metricAttributes(_ value: JSONValue) throws(RuleValidationError) -> [String: String] {
        let field = "metric_attributes"
        if value == .null { return [:] }
        guard case .object(let object) = value else { throw RuleValidationError(field: field, problem: "expected an object of attribute names and values") }
        guard object.count <= 20 else { throw RuleValidationError(field: field, problem: "at most 20 attributes") }
        var attributes: [String: String] = [:]
        for (key, value) in object {
            guard !key.isEmpty, key.count <= 255 else { throw RuleValidationError(field: field, problem: "attribute names are 1 to 255 characters") }
            switch value {
            case .string(let text) where text.count <= 1000: attributes[key] = text
            case .number(let number) where number.isFinite:
                attributes[key] = number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            case .bool(let flag): attributes[key] = flag ? "true" : "false"
            default: throw RuleValidationError(field: "\(field).\(key)", problem: "expected a string, number or boolean value")
            }
        }
        return attributes
    }

    private static func overrides(_ config: [String: JSONValue], egress: EgressPolicy) throws(RuleValidationError) -> NotificationOverrides {
        var overrides = NotificationOverrides()
        for (key, value) in config {
            let field = "notification_config.\(key)"
            switch key {
            case "slack_webhook_url", "webhook_url", "alertmanager_url":
                guard case .string(let url) = value else {
                    throw RuleValidationError(field: field, problem: EgressPolicy.URLProblem.notHTTP.description)
                }
                if let problem = egress.problem(withURL: url) { throw RuleValidationError(field: field, problem: problem.description) }
                if key == "slack_webhook_url" { overrides.slackWebhookURL = url }
                if key == "webhook_url" { overrides.webhookURL = url }
                if key == "alertmanager_url" { overrides.alertmanagerURL = url }
            case "email_to":
                let list = Self.strings(value)
                guard !list.isEmpty, list.allSatisfy({ $0.contains("@") && $0.count <= 254 && !$0.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "<" || $0 == ">" }) }) else {
                    throw RuleValidationError(field: field, problem: "expected a non-empty array of e-mail addresses")
                }
                if let outside = egress.refusedRecipient(in: list) {
                    throw RuleValidationError(field: field, problem: "\(outside): domain not in SIGHTLINE_ALERT_EMAIL_DOMAINS")
                }
                overrides.emailTo = list
            default:
                throw RuleValidationError(field: field, problem: "unknown key; known: slack_webhook_url, webhook_url, alertmanager_url, email_to")
            }
        }
        return overrides
    }

    private static func strings(_ value: JSONValue) -> [String] {
        guard case .array(let items) = value else { return [] }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item else { return [] }
            strings.append(text)
        }
        return strings
    }
}
