import Foundation

/// What defines a rule: the columns of `alert_rules` that the API writes.
public struct AlertRuleDefinition: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var metricType: String
    public var condition: String
    public var threshold: Double
    public var windowMinutes: Int
    public var evaluationIntervalSeconds: Int
    public var customSQL: String?
    public var severity: String
    /// A JSON array of channel names.
    public var notificationChannelsJSON: String
    public var cooldownMinutes: Int
    public var enabled: Bool
    public var serviceName: String?
    public var operationName: String?
    public var forMinutes: Int
    public var repeatIntervalMinutes: Int
    /// A JSON object of per-rule destinations (secret).
    public var notificationConfigJSON: String
    /// The `metric` type: the OTLP metric watched, the aggregation over the window, and the
    /// attributes its series must carry (a flat JSON object of strings).
    public var metricName: String?
    public var metricAggregation: String?
    public var metricAttributesJSON: String

    public init(name: String, description: String?, metricType: String, condition: String, threshold: Double, windowMinutes: Int,
                evaluationIntervalSeconds: Int, customSQL: String?, severity: String, notificationChannelsJSON: String,
                cooldownMinutes: Int, enabled: Bool, serviceName: String?, operationName: String?, forMinutes: Int,
                repeatIntervalMinutes: Int, notificationConfigJSON: String, metricName: String? = nil,
                metricAggregation: String? = nil, metricAttributesJSON: String = "{}") {
        self.name = name
        self.description = description
        self.metricType = metricType
        self.condition = condition
        self.threshold = threshold
        self.windowMinutes = windowMinutes
        self.evaluationIntervalSeconds = evaluationIntervalSeconds
        self.customSQL = customSQL
        self.severity = severity
        self.notificationChannelsJSON = notificationChannelsJSON
        self.cooldownMinutes = cooldownMinutes
        self.enabled = enabled
        self.serviceName = serviceName
        self.operationName = operationName
        self.forMinutes = forMinutes
        self.repeatIntervalMinutes = repeatIntervalMinutes
        self.notificationConfigJSON = notificationConfigJSON
        self.metricName = metricName
        self.metricAggregation = metricAggregation
        self.metricAttributesJSON = metricAttributesJSON
    }
}

/// A rule as stored: every column of `alert_rules`, `nil` where the column is NULL (the
/// columns that have defaults may be NULL in rows not written by Sightline). Times are the
/// store's ISO 8601 UTC text.
public struct AlertRuleRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    public var metricType: String
    public var condition: String
    public var threshold: Double
    public var windowMinutes: Int64?
    public var evaluationIntervalSeconds: Int64?
    public var customSQL: String?
    public var severity: String?
    /// A JSON array of channel names.
    public var notificationChannelsJSON: String?
    public var cooldownMinutes: Int64?
    public var enabled: Bool?
    public var serviceName: String?
    public var operationName: String?
    public var forMinutes: Int64
    public var repeatIntervalMinutes: Int64
    /// A JSON object of per-rule destinations (secret).
    public var notificationConfigJSON: String
    /// The `metric` type's metric, aggregation and attribute filters (a JSON object).
    public var metricName: String?
    public var metricAggregation: String?
    public var metricAttributesJSON: String
    public var lastEvaluatedAt: String?
    public var lastTriggeredAt: String?
    public var lastValue: Double?
    public var lastError: String?
    public var createdAt: String?
    public var createdBy: String?
    public var updatedAt: String?
}

/// An instance's state as the evaluator reads it back: status and the times of its changes.
public struct AlertInstanceState: Sendable, Equatable {
    public var id: String
    public var ruleID: String
    /// `pending`, `firing`, `acknowledged` or `resolved`.
    public var status: String?
    /// `nil` only when the stored text is not a time.
    public var triggeredAt: Date?
    public var pendingSince: Date?
    public var firedAt: Date?
    public var lastNotifiedAt: Date?
    public var resolvedAt: Date?
    public var metricValue: Double?

    public init(id: String, ruleID: String, status: String?, triggeredAt: Date?, pendingSince: Date?, firedAt: Date?,
                lastNotifiedAt: Date?, resolvedAt: Date?, metricValue: Double?) {
        self.id = id
        self.ruleID = ruleID
        self.status = status
        self.triggeredAt = triggeredAt
        self.pendingSince = pendingSince
        self.firedAt = firedAt
        self.lastNotifiedAt = lastNotifiedAt
        self.resolvedAt = resolvedAt
        self.metricValue = metricValue
    }
}

/// A new instance of a rule's alert.
public struct NewAlertInstance: Sendable, Equatable {
    public var ruleID: String
    /// Opened firing (with its firing and notification times set), else pending.
    public var firing: Bool
    public var metricValue: Double
    public var thresholdValue: Double
    public var message: String
    public var fingerprint: String
    /// A JSON object of the alert's labels.
    public var labelsJSON: String
    /// When it was triggered (also its pending time).
    public var at: Date

    public init(ruleID: String, firing: Bool, metricValue: Double, thresholdValue: Double, message: String, fingerprint: String,
                labelsJSON: String, at: Date) {
        self.ruleID = ruleID
        self.firing = firing
        self.metricValue = metricValue
        self.thresholdValue = thresholdValue
        self.message = message
        self.fingerprint = fingerprint
        self.labelsJSON = labelsJSON
        self.at = at
    }
}

/// An instance as the API shows it: the columns of `alert_instances` the API answers with, and
/// its rule's name and severity. Times are the store's ISO 8601 UTC text.
public struct AlertInstanceRecord: Sendable, Equatable {
    public var id: String
    public var ruleID: String
    public var ruleName: String
    public var severity: String?
    public var triggeredAt: String
    public var resolvedAt: String?
    public var status: String?
    public var acknowledgedBy: String?
    public var acknowledgedAt: String?
    public var metricValue: Double?
    public var thresholdValue: Double?
    public var message: String?
    public var fingerprint: String?
    /// A JSON object of the alert's labels.
    public var labelsJSON: String
    public var pendingSince: String?
    public var firedAt: String?
    public var lastNotifiedAt: String?

    public init(id: String, ruleID: String, ruleName: String, severity: String?, triggeredAt: String, resolvedAt: String?, status: String?,
                acknowledgedBy: String?, acknowledgedAt: String?, metricValue: Double?, thresholdValue: Double?, message: String?,
                fingerprint: String?, labelsJSON: String, pendingSince: String?, firedAt: String?, lastNotifiedAt: String?) {
        self.id = id
        self.ruleID = ruleID
        self.ruleName = ruleName
        self.severity = severity
        self.triggeredAt = triggeredAt
        self.resolvedAt = resolvedAt
        self.status = status
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
        self.metricValue = metricValue
        self.thresholdValue = thresholdValue
        self.message = message
        self.fingerprint = fingerprint
        self.labelsJSON = labelsJSON
        self.pendingSince = pendingSince
        self.firedAt = firedAt
        self.lastNotifiedAt = lastNotifiedAt
    }
}

/// An instance in a list, with its notification attempts counted.
public struct ListedAlertInstance: Sendable, Equatable {
    public var instance: AlertInstanceRecord
    public var notificationAttempts: Int64
    /// The attempts that succeeded.
    public var notificationsDelivered: Int64
}

/// Which instances a list shows.
public struct AlertInstanceFilter: Sendable, Equatable {
    /// Triggered after this time.
    public var since: Date
    public var status: String?
    public var ruleID: String?
    public var limit: Int

    public init(since: Date, status: String? = nil, ruleID: String? = nil, limit: Int) {
        self.since = since
        self.status = status
        self.ruleID = ruleID
        self.limit = limit
    }
}

/// One attempt to deliver a notification, to record.
public struct NewNotificationAttempt: Sendable, Equatable {
    public var instanceID: String
    public var ruleID: String
    public var channel: String
    /// `firing`, `repeat` or `resolved`.
    public var kind: String
    /// 1 for the first try of a channel.
    public var attempt: Int
    public var at: Date
    public var success: Bool
    public var statusCode: Int?
    public var error: String?

    public init(instanceID: String, ruleID: String, channel: String, kind: String, attempt: Int, at: Date, success: Bool,
                statusCode: Int?, error: String?) {
        self.instanceID = instanceID
        self.ruleID = ruleID
        self.channel = channel
        self.kind = kind
        self.attempt = attempt
        self.at = at
        self.success = success
        self.statusCode = statusCode
        self.error = error
    }
}

/// A recorded notification attempt as the API shows it (`sentAt` the store's ISO 8601 UTC text).
public struct NotificationAttemptRecord: Sendable, Equatable {
    public var channel: String
    public var kind: String
    public var attempt: Int64
    public var sentAt: String
    public var success: Bool
    public var statusCode: Int64?
    public var error: String?

    public init(channel: String, kind: String, attempt: Int64, sentAt: String, success: Bool, statusCode: Int64?, error: String?) {
        self.channel = channel
        self.kind = kind
        self.attempt = attempt
        self.sentAt = sentAt
        self.success = success
        self.statusCode = statusCode
        self.error = error
    }
}
