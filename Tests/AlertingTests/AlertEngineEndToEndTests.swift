import Foundation
import StoreTestSupport
import Testing

/// The alert engine end to end: errors ingested through the real receiver, a rule evaluated by
/// the running evaluator, notifications received by a real HTTP server on 127.0.0.1.
@Suite("Alert engine end to end", .serialized)
struct AlertEngineEndToEndTests {
    static func isTraceparent(_ text: String?) -> Bool {
        guard let text else { return false }
        return text.wholeMatch(of: /00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]/) != nil
    }

    @Test("a rule fires on ingested errors (Slack and webhook v4 payloads), then resolves", arguments: StoreKind.available)
    func firesAndResolves(kind: StoreKind) async throws {
        let receiver = Receiver()
        let port = try await receiver.start()
        try await withCleanup({ await receiver.stop() }) {
            try await withTestDatabase(kind) { database in
                let environment = ["SLACK_WEBHOOK_URL": "http://127.0.0.1:\(port)/slack",
                                   "ALERT_WEBHOOK_URL": "http://127.0.0.1:\(port)/webhook"]
                try await Sightline.with(database: database, environment: environment) { sightline in
                    try await sightline.disableDefaultRules()
                    let ruleID = try await sightline.createRule([
                        "name": "Checkout errors", "description": "errors in checkout", "metric_type": "error_count", "condition": "gt",
                        "threshold": 2, "window_minutes": 1, "evaluation_interval_seconds": 1, "cooldown_minutes": 0,
                        "severity": "critical", "notification_channels": ["slack", "webhook"], "service_name": "checkout",
                    ])
                    // Four failed spans 50 s ago: inside the 1-minute window now, outside it ~10 s later
                    // ("the errors stop"). A span of another service does not count.
                    let start = nowNano(minus: 50)
                    try await sightline.sendSpans((0..<4).map { TestSpan(startNano: start + Int64($0), error: true) })
                    try await sightline.sendSpans([TestSpan(startNano: start, error: true)], service: "billing")

                    #expect(try await eventually(15) { receiver.on("/slack").count >= 1 && receiver.on("/webhook").count >= 1 })
                    let slack = try #require(receiver.on("/slack").first?.json as? [String: Any])
                    let attachment = try #require((slack["attachments"] as? [[String: Any]])?.first)
                    #expect(attachment["color"] as? String == "#ff0000")
                    #expect((slack["text"] as? String)?.contains("Checkout errors") == true)
                    let fields = attachment["fields"] as? [[String: Any]] ?? []
                    #expect(fields.contains { $0["title"] as? String == "Value" && $0["value"] as? String == "4" })
                    #expect(fields.contains { $0["title"] as? String == "Threshold" && $0["value"] as? String == "> 2" })
                    #expect((attachment["text"] as? String)?.contains("error_count is 4") == true)
                    #expect(Self.isTraceparent(receiver.on("/slack").first?.traceparent))

                    let webhook = try #require(receiver.on("/webhook").first?.json as? [String: Any])
                    #expect(webhook["version"] as? String == "4")
                    #expect(webhook["status"] as? String == "firing")
                    #expect(webhook["receiver"] as? String == "sightline")
                    let alert = try #require((webhook["alerts"] as? [[String: Any]])?.first)
                    let labels = alert["labels"] as? [String: String] ?? [:]
                    #expect(labels["alertname"] == "Checkout errors")
                    #expect(labels["severity"] == "critical")
                    #expect(labels["service"] == "checkout")
                    #expect((alert["fingerprint"] as? String)?.count == 16)
                    #expect(alert["endsAt"] as? String == "0001-01-01T00:00:00Z")
                    #expect((alert["annotations"] as? [String: String])?["value"] == "4")
                    #expect(Self.isTraceparent(receiver.on("/webhook").first?.traceparent))

                    // /metrics shows the firing alert and the notifications sent.
                    let metricsURL = sightline.api.replacingOccurrences(of: "/api/observability", with: "/metrics")
                    let scrape = try await http(.GET, metricsURL).body
                    #expect(scrape.contains(#"sightline_alerts_firing{rule="Checkout errors",severity="critical"} 1"#), "\(scrape)")
                    // A notification is counted once Sightline has read the receiver's answer, and the
                    // evaluation once its notifications are dispatched: both may come after the
                    // receivers saw the requests.
                    #expect(try await eventually(10) {
                        try await http(.GET, metricsURL).body.contains(#"sightline_alert_notifications_total{channel="slack",outcome="sent"}"#)
                    })
                    #expect(try await eventually(10) {
                        let scrape = try await http(.GET, metricsURL).body
                        return scrape.contains(#"sightline_alert_evaluations_total{outcome="value",rule="Checkout errors"}"#)
                            || scrape.contains(#"sightline_alert_evaluations_total{rule="Checkout errors",outcome="value"}"#)
                    })

                    let firing = try await sightline.instances(ruleID: ruleID)
                    #expect(firing.count == 1)
                    #expect(firing.first?["status"] as? String == "firing")
                    #expect(firing.first?["fingerprint"] as? String == alert["fingerprint"] as? String)

                    // The errors leave the window: one resolved notification per channel.
                    #expect(try await eventually(25) { receiver.on("/webhook").count >= 2 && receiver.on("/slack").count >= 2 })
                    let resolved = try #require(receiver.on("/webhook").last?.json as? [String: Any])
                    #expect(resolved["status"] as? String == "resolved")
                    let resolvedAlert = try #require((resolved["alerts"] as? [[String: Any]])?.first)
                    #expect(resolvedAlert["endsAt"] as? String != "0001-01-01T00:00:00Z")
                    #expect(resolvedAlert["fingerprint"] as? String == alert["fingerprint"] as? String)
                    let afterResolution = try await http(.GET, metricsURL).body
                    #expect(!afterResolution.contains(#"sightline_alerts_firing{rule="Checkout errors""#), "\(afterResolution)")
                    let resolvedSlack = try #require(receiver.on("/slack").last?.json as? [String: Any])
                    #expect((resolvedSlack["text"] as? String)?.contains("RESOLVED") == true)

                    // Two evaluations later: still exactly one firing and one resolved notification per channel.
                    try await sightline.evaluations(2, ofRule: ruleID)
                    #expect(receiver.on("/slack").count == 2)
                    #expect(receiver.on("/webhook").count == 2)
                    let instances = try await sightline.instances(ruleID: ruleID)
                    #expect(instances.count == 1)
                    #expect(instances.first?["status"] as? String == "resolved")
                    let instanceID = try #require(instances.first?["id"] as? String)
                    let notifications = try await sightline.instance(instanceID)["notifications"] as? [[String: Any]] ?? []
                    #expect(notifications.count == 4)
                    #expect(notifications.allSatisfy { $0["success"] as? Bool == true && $0["status_code"] as? Int == 200 })
                    #expect(Set(notifications.compactMap { $0["kind"] as? String }) == ["firing", "resolved"])
                    let rule = try await sightline.rule(ruleID)
                    #expect(rule["last_evaluated_at"] as? String != nil)
                    #expect(rule["last_triggered_at"] as? String != nil)
                }
            }
        }
    }

    @Test("a receiver that is down, then up, gets the notification; every attempt is recorded", arguments: StoreKind.available)
    func retriesUntilUp(kind: StoreKind) async throws {
        let port = try await Receiver.freePort()
        try await withTestDatabase(kind) { database in
            let environment = ["ALERT_WEBHOOK_URL": "http://127.0.0.1:\(port)/hook",
                               "SIGHTLINE_ALERT_RETRY_ATTEMPTS": "8", "SIGHTLINE_ALERT_RETRY_INITIAL_MS": "300"]
            let receiver = Receiver()
            try await Sightline.with(database: database, environment: environment) { sightline in
                try await sightline.disableDefaultRules()
                let ruleID = try await sightline.createRule([
                    "name": "Any error", "metric_type": "error_count", "condition": "gte", "threshold": 1, "window_minutes": 5,
                    "evaluation_interval_seconds": 1, "notification_channels": ["webhook"],
                ])
                try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5), error: true)])
                var instanceID = ""
                #expect(try await eventually(15) {
                    guard let id = try await sightline.instances(ruleID: ruleID).first?["id"] as? String else { return false }
                    instanceID = id
                    let attempts = try await sightline.instance(id)["notifications"] as? [[String: Any]] ?? []
                    return attempts.count >= 2
                })
                _ = try await receiver.start(port: port)
                #expect(try await eventually(15) { receiver.on("/hook").count == 1 })
                let attempts = try await sightline.instance(instanceID)["notifications"] as? [[String: Any]] ?? []
                try #require(attempts.count >= 3)
                #expect(attempts.map { $0["attempt"] as? Int ?? 0 } == Array(1...attempts.count))
                #expect(attempts.dropLast().allSatisfy { $0["success"] as? Bool == false && $0["channel"] as? String == "webhook" })
                #expect(attempts.last?["success"] as? Bool == true)
                #expect(attempts.last?["status_code"] as? Int == 200)
                // Errors are recorded without the destination (a secret).
                for attempt in attempts.dropLast() {
                    let error = attempt["error"] as? String ?? ""
                    #expect(!error.isEmpty)
                    #expect(!error.contains("127.0.0.1:\(port)"))
                }
            }
            await receiver.stop()
        }
    }

    @Test("a restart neither loses a firing alert nor notifies it again", arguments: StoreKind.available)
    func restart(kind: StoreKind) async throws {
        let receiver = Receiver()
        let port = try await receiver.start()
        try await withCleanup({ await receiver.stop() }) {
            try await withTestDatabase(kind) { database in
                let environment = ["SLACK_WEBHOOK_URL": "http://127.0.0.1:\(port)/slack"]
                let ruleID = RuleIDBox()
                try await Sightline.with(database: database, environment: environment) { sightline in
                    try await sightline.disableDefaultRules()
                    ruleID.value = try await sightline.createRule([
                        "name": "Restart", "metric_type": "error_count", "condition": "gt", "threshold": 0, "window_minutes": 10,
                        "evaluation_interval_seconds": 1,
                    ])
                    try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5), error: true)])
                    #expect(try await eventually(15) { receiver.on("/slack").count == 1 })
                }
                try await Sightline.with(database: database, environment: environment) { sightline in
                    // Several evaluations of the restarted evaluator, the condition still true.
                    let before = try await sightline.rule(ruleID.value)["last_evaluated_at"] as? String
                    #expect(try await eventually(10) { try await sightline.rule(ruleID.value)["last_evaluated_at"] as? String != before })
                    try await sightline.evaluations(2, ofRule: ruleID.value)
                    #expect(receiver.on("/slack").count == 1)
                    let instances = try await sightline.instances(ruleID: ruleID.value)
                    #expect(instances.count == 1)
                    #expect(instances.first?["status"] as? String == "firing")
                }
            }
        }
    }

    @Test("acknowledge and resolve by hand; bad ids and states are refused", arguments: StoreKind.available)
    func acknowledgeAndResolve(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database) { sightline in
                try await sightline.disableDefaultRules()
                let ruleID = try await sightline.createRule([
                    "name": "Ack", "metric_type": "error_count", "condition": "gt", "threshold": 0, "window_minutes": 10,
                    "evaluation_interval_seconds": 1, "notification_channels": [],
                ])
                try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 5), error: true)])
                var id = ""
                #expect(try await eventually(15) {
                    id = try await sightline.instances(ruleID: ruleID).first?["id"] as? String ?? ""
                    return !id.isEmpty
                })
                let missingUser = try await http(.POST, sightline.api + "/alerts/instances/\(id)/acknowledge")
                #expect(missingUser.status == 400)
                #expect((missingUser.json["error"] as? String)?.hasPrefix("user:") == true)
                let acknowledged = try await http(.POST, sightline.api + "/alerts/instances/\(id)/acknowledge", json: ["user": "ops@example.com"])
                #expect(acknowledged.status == 200, "\(acknowledged.body)")
                let instance = acknowledged.json["instance"] as? [String: Any] ?? [:]
                #expect(instance["status"] as? String == "acknowledged")
                #expect(instance["acknowledged_by"] as? String == "ops@example.com")
                #expect(instance["acknowledged_at"] as? String != nil)
                #expect(try await http(.POST, sightline.api + "/alerts/instances/\(id)/acknowledge?user_email=x@y").status == 409)
                let resolved = try await http(.POST, sightline.api + "/alerts/instances/\(id)/resolve")
                #expect(resolved.status == 200)
                #expect((resolved.json["instance"] as? [String: Any])?["status"] as? String == "resolved")
                #expect(try await http(.POST, sightline.api + "/alerts/instances/\(id)/resolve").status == 409)
                #expect(try await http(.POST, sightline.api + "/alerts/instances/00000000-0000-4000-8000-000000000000/resolve").status == 404)
                #expect(try await http(.POST, sightline.api + "/alerts/instances/not-an-id/acknowledge?user_email=a@b").status == 404)
                #expect(try await http(.GET, sightline.api + "/alerts/instances?status=bogus").status == 400)
                #expect(try await http(.GET, sightline.api + "/alerts/instances?hours=0").status == 400)
                let listed = try await http(.GET, sightline.api + "/alerts/instances?status=resolved&hours=1").json["instances"] as? [[String: Any]] ?? []
                #expect(listed.contains { $0["id"] as? String == id })
                // Cooldown (15 minutes by default): the condition still holds, yet nothing fires again.
                try await sightline.evaluations(2, ofRule: ruleID)
                #expect(try await sightline.instances(ruleID: ruleID).count == 1)
            }
        }
    }
}

final class RuleIDBox: @unchecked Sendable {
    var value = ""
}
