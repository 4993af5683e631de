import Foundation
import Store

extension AlertRule {
    /// A stored rule; `nil` when it names an unknown metric type, condition or aggregation, or
    /// is a `metric` rule without a metric name. Columns left NULL take the defaults of a new rule.
    init?(record: AlertRuleRecord) {
        guard let metric = MetricType(rawValue: record.metricType), let condition = AlertCondition(rawValue: record.condition) else {
            return nil
        }
        var metricQuery: MetricRuleQuery?
        if metric == .metric {
            guard let name = record.metricName, !name.isEmpty,
                  let aggregation = MetricAggregation(rawValue: record.metricAggregation ?? MetricAggregation.avg.rawValue) else { return nil }
            let attributes = (try? JSONSerialization.jsonObject(with: Data(record.metricAttributesJSON.utf8))) as? [String: String] ?? [:]
            metricQuery = MetricRuleQuery(name: name, aggregation: aggregation, attributes: attributes)
        }
        let channelNames = (record.notificationChannelsJSON.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String]) ?? []
        self.init(
            id: record.id, name: record.name, description: record.description, metricType: metric, condition: condition,
            threshold: record.threshold, windowMinutes: Int(record.windowMinutes ?? 5),
            evaluationIntervalSeconds: Int(record.evaluationIntervalSeconds ?? 60), customSQL: record.customSQL,
            severity: AlertSeverity(rawValue: record.severity ?? "") ?? .warning,
            channels: channelNames.compactMap(NotificationChannel.init(rawValue:)),
            cooldownMinutes: Int(record.cooldownMinutes ?? 15), enabled: record.enabled ?? true,
            serviceName: record.serviceName, operationName: record.operationName,
            forMinutes: Int(record.forMinutes), repeatIntervalMinutes: Int(record.repeatIntervalMinutes),
            overrides: NotificationOverrides(json: record.notificationConfigJSON) ?? NotificationOverrides(), metricQuery: metricQuery)
    }

    /// What the store keeps of the rule's definition.
    public var definition: AlertRuleDefinition {
        AlertRuleDefinition(
            name: name, description: description, metricType: metricType.rawValue, condition: condition.rawValue, threshold: threshold,
            windowMinutes: windowMinutes, evaluationIntervalSeconds: evaluationIntervalSeconds, customSQL: customSQL,
            severity: severity.rawValue, notificationChannelsJSON: "[" + channels.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]",
            cooldownMinutes: cooldownMinutes, enabled: enabled, serviceName: serviceName, operationName: operationName,
            forMinutes: forMinutes, repeatIntervalMinutes: repeatIntervalMinutes, notificationConfigJSON: overrides.json,
            metricName: metricQuery?.name, metricAggregation: metricQuery?.aggregation.rawValue,
            metricAttributesJSON: Self.json(metricQuery?.attributes ?? [:]))
    }

    /// A flat object as JSON text (keys sorted).
    static func json(_ object: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// A new instance of this rule's alert, pending or firing, at `value`.
    func newInstance(firing: Bool, value: Double, at time: Date) -> NewAlertInstance {
        NewAlertInstance(ruleID: id, firing: firing, metricValue: value, thresholdValue: threshold, message: message(value: value),
                         fingerprint: fingerprint, labelsJSON: labelsJSON, at: time)
    }

    /// The alert's labels as a JSON object (keys sorted).
    var labelsJSON: String { Self.json(labels) }
}

extension NotificationOverrides {
    /// Stored destinations (`notification_config`); `nil` when the text is not such an object.
    init?(json: String) {
        guard let decoded = try? JSONDecoder().decode(NotificationOverrides.self, from: Data(json.utf8)) else { return nil }
        self = decoded
    }
}
