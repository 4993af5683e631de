import Foundation
import Store

extension AlertRule {
    /// A stored rule; `nil` when it names an unknown metric type or condition. Columns left
    /// NULL take the defaults of a new rule.
    init?(record: AlertRuleRecord) {
        guard let metric = MetricType(rawValue: record.metricType), let condition = AlertCondition(rawValue: record.condition) else {
            return nil
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
            overrides: NotificationOverrides(json: record.notificationConfigJSON) ?? NotificationOverrides())
    }

    /// What the store keeps of the rule's definition.
    public var definition: AlertRuleDefinition {
        AlertRuleDefinition(
            name: name, description: description, metricType: metricType.rawValue, condition: condition.rawValue, threshold: threshold,
            windowMinutes: windowMinutes, evaluationIntervalSeconds: evaluationIntervalSeconds, customSQL: customSQL,
            severity: severity.rawValue, notificationChannelsJSON: "[" + channels.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]",
            cooldownMinutes: cooldownMinutes, enabled: enabled, serviceName: serviceName, operationName: operationName,
            forMinutes: forMinutes, repeatIntervalMinutes: repeatIntervalMinutes, notificationConfigJSON: overrides.json)
    }

    /// A new instance of this rule's alert, pending or firing, at `value`.
    func newInstance(firing: Bool, value: Double, at time: Date) -> NewAlertInstance {
        NewAlertInstance(ruleID: id, firing: firing, metricValue: value, thresholdValue: threshold, message: message(value: value),
                         fingerprint: fingerprint, labelsJSON: labelsJSON, at: time)
    }

    /// The alert's labels as a JSON object (keys sorted).
    var labelsJSON: String {
        let data = (try? JSONSerialization.data(withJSONObject: labels, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

extension NotificationOverrides {
    /// Stored destinations (`notification_config`); `nil` when the text is not such an object.
    init?(json: String) {
        guard let decoded = try? JSONDecoder().decode(NotificationOverrides.self, from: Data(json.utf8)) else { return nil }
        self = decoded
    }
}
