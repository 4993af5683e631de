import Alerting
import Exposition
import Logging
import SelfTracing
import Store
import Synchronization

extension SightlineServer {
    /// The alert evaluator over `database`: one per PostgreSQL database (advisory lock), the
    /// only one on SQLite. Notifications carry `traceparent` from Sightline's own tracer.
    ///
    /// `observer` is the hook for `/metrics` (evaluations, notifications, firing alerts).
    static func alertEvaluator(_ configuration: AlertingConfiguration, database: AlertDatabase, tracer: SightlineTracer,
                               observer: AlertObserver? = nil, logger: Logger) -> AlertEvaluator {
        let dispatcher = NotificationDispatcher(database: database, configuration: configuration, tracer: tracer,
                                                observer: observer, logger: logger)
        return AlertEvaluator(database: database,
                              metrics: AlertMetrics(database: database, customSQLTimeout: configuration.customSQLTimeout),
                              dispatcher: dispatcher, configuration: configuration, leadership: database.leadership,
                              observer: observer, logger: logger)
    }

    /// Alert evaluations, notification attempts and firing alerts as `/metrics` series
    /// (`sightline_alert_evaluations_total`, `sightline_alert_notifications_total`,
    /// `sightline_alerts_firing`).
    static func alertObserver(_ metrics: SightlineMetrics) -> AlertObserver {
        let firing = FiringAlerts(metrics: metrics)
        return AlertObserver(
            ruleEvaluated: { rule, outcome, _ in metrics.alertEvaluated(rule: rule.name, outcome: outcome) },
            notificationAttempted: { channel, success in
                metrics.notificationAttempted(channel: channel.rawValue, outcome: success ? "sent" : "failed")
            },
            firingChanged: { rule, isFiring in firing.set(rule, firing: isFiring) })
    }
}

/// The rules firing now, by id, republished whole to `/metrics` on each change.
final class FiringAlerts: Sendable {
    private let metrics: SightlineMetrics
    private let rules = Mutex<[String: (name: String, severity: String)]>([:])

    init(metrics: SightlineMetrics) { self.metrics = metrics }

    func set(_ rule: AlertRule, firing: Bool) {
        let snapshot = rules.withLock { rules in
            if firing { rules[rule.id] = (rule.name, rule.severity.rawValue) } else { rules[rule.id] = nil }
            return rules.values.map { (rule: $0.name, severity: $0.severity, count: 1) }
        }
        metrics.setFiringAlerts(snapshot)
    }
}
