import AsyncHTTPClient
import Foundation

/// Slack incoming webhook: a message with a colour per severity, value, threshold and message.
public struct SlackNotifier: Notifier {
    public var channel: NotificationChannel { .slack }
    let poster: JSONPoster

    /// `egress`: the policy for a destination set through the API; `nil` for one from the
    /// environment (trusted).
    public init(webhookURL: String, egress: EgressPolicy? = nil, client: HTTPClient = .shared) {
        self.poster = JSONPoster(url: webhookURL, client: client, egress: egress)
    }

    static func colour(_ notification: AlertNotification) -> String {
        if notification.isResolved { return "#2eb886" }
        switch notification.severity {
        case .info: return "#36a64f"
        case .warning: return "#ffcc00"
        case .critical: return "#ff0000"
        }
    }

    static func payload(_ notification: AlertNotification) -> [String: Any] {
        let prefix = notification.isResolved ? "[RESOLVED]" : "[\(notification.severity.rawValue.uppercased())]"
        var fields: [[String: Any]] = [
            ["title": "Severity", "value": notification.severity.rawValue.uppercased(), "short": true],
            ["title": "Threshold", "value": "\(notification.condition.symbol) \(AlertRule.format(notification.threshold))", "short": true],
        ]
        if let value = notification.value {
            fields.insert(["title": "Value", "value": AlertRule.format((value * 100).rounded() / 100), "short": true], at: 1)
        }
        return [
            "text": "\(prefix) *\(notification.ruleName)*",
            "attachments": [[
                "color": colour(notification),
                "title": notification.ruleName,
                "text": notification.message,
                "fields": fields,
                "footer": "Sightline alerting · \(notification.fingerprint)",
                "ts": Int(notification.endsAt?.timeIntervalSince1970 ?? notification.startsAt.timeIntervalSince1970),
            ] as [String: Any]],
        ]
    }

    public func send(_ notification: AlertNotification, headers: [(String, String)], timeout: Duration) async throws(NotificationError) -> NotificationOutcome {
        try await poster.post(Self.payload(notification), headers: headers, timeout: timeout)
    }
}

/// A generic webhook receiving Alertmanager's webhook payload, version 4.
public struct WebhookNotifier: Notifier {
    public var channel: NotificationChannel { .webhook }
    let poster: JSONPoster
    let externalURL: String

    /// `egress`: the policy for a destination set through the API; `nil` for one from the
    /// environment (trusted).
    public init(url: String, externalURL: String = "", egress: EgressPolicy? = nil, client: HTTPClient = .shared) {
        self.poster = JSONPoster(url: url, client: client, egress: egress)
        self.externalURL = externalURL
    }

    static func payload(_ notification: AlertNotification, externalURL: String) -> [String: Any] {
        let status = notification.isResolved ? "resolved" : "firing"
        let alert: [String: Any] = [
            "status": status,
            "labels": notification.labels,
            "annotations": notification.annotations,
            "startsAt": notification.startsAt.rfc3339,
            // Alertmanager's zero time for "not ended".
            "endsAt": notification.endsAt?.rfc3339 ?? "0001-01-01T00:00:00Z",
            "generatorURL": externalURL,
            "fingerprint": notification.fingerprint,
        ]
        let common = ["alertname", "severity", "rule_id"].reduce(into: [String: String]()) { result, key in
            if let value = notification.labels[key] { result[key] = value }
        }
        return [
            "version": "4",
            "groupKey": "{}:{alertname=\"\(notification.ruleName)\"}",
            "truncatedAlerts": 0,
            "status": status,
            "receiver": "sightline",
            "groupLabels": ["alertname": notification.ruleName],
            "commonLabels": common,
            "commonAnnotations": notification.annotations,
            "externalURL": externalURL,
            "alerts": [alert],
        ]
    }

    public func send(_ notification: AlertNotification, headers: [(String, String)], timeout: Duration) async throws(NotificationError) -> NotificationOutcome {
        try await poster.post(Self.payload(notification, externalURL: externalURL), headers: headers, timeout: timeout)
    }
}

/// A real Alertmanager: `POST /api/v2/alerts` with the alert, `endsAt` set on resolution.
public struct AlertmanagerNotifier: Notifier {
    public var channel: NotificationChannel { .alertmanager }
    let poster: JSONPoster
    let generatorURL: String

    /// `baseURL` is the Alertmanager's address, e.g. `http://127.0.0.1:9093`. `egress`: the
    /// policy for a destination set through the API; `nil` for one from the environment (trusted).
    public init(baseURL: String, generatorURL: String = "", egress: EgressPolicy? = nil, client: HTTPClient = .shared) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.poster = JSONPoster(url: base + "/api/v2/alerts", client: client, egress: egress)
        self.generatorURL = generatorURL
    }

    static func payload(_ notification: AlertNotification, generatorURL: String) -> [[String: Any]] {
        var alert: [String: Any] = [
            "labels": notification.labels,
            "annotations": notification.annotations,
            "startsAt": notification.startsAt.rfc3339,
        ]
        if !generatorURL.isEmpty { alert["generatorURL"] = generatorURL }
        if let endsAt = notification.endsAt { alert["endsAt"] = endsAt.rfc3339 }
        return [alert]
    }

    public func send(_ notification: AlertNotification, headers: [(String, String)], timeout: Duration) async throws(NotificationError) -> NotificationOutcome {
        try await poster.post(Self.payload(notification, generatorURL: generatorURL), headers: headers, timeout: timeout)
    }
}
