import Alerting
import Foundation
import Store
import StoreTestSupport
import Synchronization
import Testing

/// Records what would be sent (the channel is not under test here; the end-to-end tests send
/// for real).
final class RecordingNotifier: Notifier {
    let channel: NotificationChannel = .webhook
    private let sent = Mutex<[AlertNotification]>([])
    var notifications: [AlertNotification] { sent.withLock { $0 } }
    var kinds: [AlertNotification.Kind] { notifications.map(\.kind) }

    func send(_ notification: AlertNotification, headers: [(String, String)], timeout: Duration) async throws(NotificationError) -> NotificationOutcome {
        sent.withLock { $0.append(notification) }
        return NotificationOutcome(statusCode: 200)
    }
}

/// The evaluator driven by an injected clock over a real store: pending (for_minutes), firing,
/// repeat, resolution, cooldown and a restart, minutes apart without sleeping. The metric is
/// a `custom_sql` reading a "knob" row (a system metric) the test turns.
@Suite("Alert evaluator with an injected clock", .serialized)
struct AlertEvaluatorClockTests {
    @Test("pending → firing → repeat → resolved → cooldown → pending again; a restart re-sends nothing", arguments: StoreKind.available)
    func lifecycle(kind: StoreKind) async throws {
        try await withTestStore(kind) { store, testDatabase in
            let database = try await AlertDatabase.open(store: store, logger: quiet)
            try await withCleanup({ await database.close() }) {
                // The knob is a telemetry row: a rule's SQL reads nothing else.
                func turn(_ value: Double) async throws {
                    try await testDatabase.execute("DELETE FROM enterprise.system_metrics WHERE metric_name = 'knob'")
                    try await testDatabase.execute("INSERT INTO enterprise.system_metrics (metric_type, metric_name, value) VALUES ('test', 'knob', \(value))")
                }
                try await turn(10)
                var rule = AlertRule(name: "Knob high", metricType: .customSQL, condition: .gt, threshold: 5, windowMinutes: 1,
                                     evaluationIntervalSeconds: 60, customSQL: "SELECT max(value) FROM enterprise.system_metrics WHERE metric_name = 'knob'",
                                     severity: .critical, channels: [.webhook], cooldownMinutes: 10, forMinutes: 2, repeatIntervalMinutes: 5)
                rule.id = try await database.alerts.insertRule(rule.definition, createdBy: "test")

                let recorder = RecordingNotifier()
                func evaluator() -> AlertEvaluator {
                    let dispatcher = NotificationDispatcher(database: database, configuration: AlertingConfiguration(), logger: quiet,
                                                            makeNotifier: { _, _ in recorder })
                    // The test is about the state machine: a custom_sql time limit met on a busy
                    // machine (a CI run failed one evaluation this way, by the look of it) is not.
                    return AlertEvaluator(database: database, metrics: AlertMetrics(database: database, customSQLTimeout: .seconds(60)),
                                          dispatcher: dispatcher,
                                          configuration: AlertingConfiguration(), logger: quiet)
                }
                func status() async throws -> String? {
                    try await testDatabase.rows("SELECT status FROM enterprise.alert_instances ORDER BY triggered_at DESC LIMIT 1").first?.string("status")
                }
                func lastError() async throws -> String? {
                    try await testDatabase.rows("SELECT last_error FROM enterprise.alert_rules WHERE name = 'Knob high'").first?.string("last_error")
                }
                let t0 = Date().addingTimeInterval(-3600)
                func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * 60) }

                var engine = evaluator()
                await engine.evaluate(rule, at: at(0))
                #expect(try await status() == "pending")
                await engine.evaluate(rule, at: at(1))
                #expect(try await status() == "pending")
                #expect(recorder.kinds.isEmpty)
                await engine.evaluate(rule, at: at(2))
                let problem = try await lastError() ?? "none"
                #expect(try await status() == "firing", "last error: \(problem)")
                #expect(recorder.kinds == [.firing])
                #expect(recorder.notifications.first?.value == 10)

                // A restart: a new evaluator on the same store sends nothing new while firing.
                engine = evaluator()
                await engine.evaluate(rule, at: at(3))
                await engine.evaluate(rule, at: at(4))
                #expect(recorder.kinds == [.firing])
                // Repeat interval 5 minutes after the firing notification.
                await engine.evaluate(rule, at: at(7))
                #expect(recorder.kinds == [.firing, .repeated])
                await engine.evaluate(rule, at: at(8))
                #expect(recorder.kinds == [.firing, .repeated])

                try await turn(1)
                await engine.evaluate(rule, at: at(9))
                #expect(try await status() == "resolved")
                #expect(recorder.kinds == [.firing, .repeated, .resolved])
                #expect(recorder.notifications.last?.endsAt == at(9))

                // Cooldown 10 minutes from the resolution: no new alert before minute 19.
                try await turn(50)
                await engine.evaluate(rule, at: at(12))
                await engine.evaluate(rule, at: at(18.9))
                #expect(try await status() == "resolved")
                await engine.evaluate(rule, at: at(19))
                #expect(try await status() == "pending")
                // Flapping below for_minutes: the pending alert is dropped, nothing is sent.
                try await turn(0)
                await engine.evaluate(rule, at: at(20))
                #expect(try await status() == "resolved")
                #expect(recorder.kinds == [.firing, .repeated, .resolved])

                let instances = try await testDatabase.rows("SELECT count(*) AS n FROM enterprise.alert_instances")
                #expect(instances.first?.int("n") == 1)
                let attempts = try await testDatabase.rows("SELECT kind, success FROM enterprise.notifications_sent ORDER BY id")
                #expect(attempts.map { $0.string("kind") ?? "" } == ["firing", "repeat", "resolved"])
                let stored = try await testDatabase.rows("SELECT fired_at, last_notified_at, pending_since, resolved_at FROM enterprise.alert_instances")
                #expect(stored.first.map { row in row.values.values.allSatisfy { !($0 is NSNull) } } == true)
            }
        }
    }
}
