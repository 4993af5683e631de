import Foundation
import StoreTestSupport
import Testing

/// Several Sightlines on one PostgreSQL: one evaluates (advisory lock), so each firing is
/// notified once; when that one stops, another takes over.
@Suite("Evaluator leadership", .serialized)
struct EvaluatorLeadershipTests {
    @Test("two Sightline processes on one PostgreSQL notify each firing exactly once", .enabled(if: StoreKind.available.contains(.postgres)))
    func oneNotificationPerFiring() async throws {
        let receiver = Receiver()
        let port = try await receiver.start()
        try await withCleanup({ await receiver.stop() }) {
            try await withTestDatabase(.postgres) { database in
                let environment = ["ALERT_WEBHOOK_URL": "http://127.0.0.1:\(port)/hook"]
                let first = try await RunningSightline.start(database: database, environment: environment)
                let second = try await RunningSightline.start(database: database, environment: environment)
                var stopped: [RunningSightline] = []
                do {
                    let api = first.sightline
                    try await api.disableDefaultRules()
                    let ruleID = try await api.createRule([
                        "name": "Shared", "metric_type": "error_count", "condition": "gt", "threshold": 0, "window_minutes": 1,
                        "evaluation_interval_seconds": 1, "cooldown_minutes": 0, "notification_channels": ["webhook"],
                    ])
                    // Errors 45 s old: firing now, resolved once they leave the 1-minute window.
                    try await second.sightline.sendSpans([TestSpan(startNano: nowNano(minus: 45), error: true)])
                    #expect(try await eventually(15) { receiver.on("/hook").count >= 1 })
                    // Three evaluations later (by whichever process evaluates), still one.
                    try await second.sightline.evaluations(3, ofRule: ruleID)
                    #expect(receiver.on("/hook").count == 1)
                    #expect((receiver.on("/hook").first?.json as? [String: Any])?["status"] as? String == "firing")

                    // The first process (the evaluator: it started first) stops; the second takes over
                    // and sends the resolution, once.
                    await first.stop()
                    stopped.append(first)
                    #expect(try await eventually(30) { receiver.on("/hook").count >= 2 })
                    try await second.sightline.evaluations(3, ofRule: ruleID)
                    #expect(receiver.on("/hook").count == 2)
                    #expect((receiver.on("/hook").last?.json as? [String: Any])?["status"] as? String == "resolved")
                } catch {
                    Issue.record(error)
                }
                if stopped.isEmpty { await first.stop() }
                await second.stop()
            }
        }
    }
}
