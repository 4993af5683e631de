import Foundation
import StoreTestSupport
import Testing

@Suite("Alert rules API and custom_sql safety", .serialized)
struct AlertRulesAPITests {
    @Test("the five default rules are listed; CRUD works; secrets never come back", arguments: StoreKind.available)
    func crud(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database, environment: ["SIGHTLINE_ALERTS_ENABLED": "false"]) { sightline in
                let rules = try await http(.GET, sightline.api + "/alerts/rules").json["rules"] as? [[String: Any]] ?? []
                #expect(Set(rules.compactMap { $0["name"] as? String }) ==
                        ["High Error Rate", "Slow RAG Queries", "LLM Cost Spike", "Low Cache Hit Rate", "High Memory Usage"])
                #expect(rules.allSatisfy { $0["enabled"] as? Bool == true })

                let secret = "https://hooks.slack.example/services/T000/B000/SECRET"
                let created = try await http(.POST, sightline.api + "/alerts/rules", json: [
                    "name": "Slow checkout", "metric_type": "latency_p99", "condition": "gte", "threshold": 250,
                    "window_minutes": 10, "evaluation_interval_seconds": 30, "service_name": "checkout", "operation_name": "POST /pay",
                    "for_minutes": 2, "repeat_interval_minutes": 60, "notification_channels": ["slack", "alertmanager"],
                    "notification_config": ["slack_webhook_url": secret],
                ])
                #expect(created.status == 201, "\(created.body)")
                #expect(!created.body.contains("SECRET"))
                let id = try #require(created.json["id"] as? String)
                let rule = created.json["rule"] as? [String: Any] ?? [:]
                #expect(rule["for_minutes"] as? Int == 2)
                #expect(rule["operation_name"] as? String == "POST /pay")
                #expect(rule["notification_channels"] as? [String] == ["slack", "alertmanager"])
                #expect(rule["notification_config"] as? [String: String] == ["slack_webhook_url": "(set)"])

                let updated = try await http(.PUT, sightline.api + "/alerts/rules/\(id)", json: ["threshold": 300, "enabled": false])
                #expect(updated.status == 200, "\(updated.body)")
                #expect((updated.json["rule"] as? [String: Any])?["threshold"] as? Double == 300)
                #expect((updated.json["rule"] as? [String: Any])?["enabled"] as? Bool == false)
                #expect((updated.json["rule"] as? [String: Any])?["service_name"] as? String == "checkout")
                let listed = try await http(.GET, sightline.api + "/alerts/rules")
                #expect(!listed.body.contains("SECRET"))

                #expect(try await http(.PUT, sightline.api + "/alerts/rules/00000000-0000-4000-8000-000000000000", json: ["threshold": 1]).status == 404)
                #expect(try await http(.DELETE, sightline.api + "/alerts/rules/\(id)").status == 200)
                #expect(try await http(.DELETE, sightline.api + "/alerts/rules/\(id)").status == 404)
                #expect(try await http(.DELETE, sightline.api + "/alerts/rules/nonsense").status == 404)
            }
        }
    }

    @Test("a rule is previewed: evaluated once on the stored data, nothing saved", arguments: StoreKind.available)
    func preview(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database, environment: ["SIGHTLINE_ALERTS_ENABLED": "false"]) { sightline in
                let start = nowNano(minus: 30)
                try await sightline.sendSpans((0..<3).map { TestSpan(startNano: start + Int64($0), error: true) })
                try await sightline.sendSpans([TestSpan(startNano: start, error: false)])
                let rule: [String: Any] = ["name": "Preview", "metric_type": "error_count", "condition": "gt", "threshold": 2,
                                           "window_minutes": 5, "service_name": "checkout"]
                let preview = try await http(.POST, sightline.api + "/alerts/rules/preview", json: rule)
                #expect(preview.status == 200, "\(preview.body)")
                #expect(preview.json["value"] as? Double == 3)
                #expect(preview.json["breached"] as? Bool == true)
                #expect(preview.json["evaluated_in_ms"] is Double)
                var higher = rule
                higher["threshold"] = 3
                #expect(try await http(.POST, sightline.api + "/alerts/rules/preview", json: higher).json["breached"] as? Bool == false)
                let noData = try await http(.POST, sightline.api + "/alerts/rules/preview", json: [
                    "name": "Memory", "metric_type": "memory_percent", "condition": "gt", "threshold": 90,
                ])
                #expect(noData.status == 200)
                #expect(noData.json["value"] is NSNull)
                let custom = try await http(.POST, sightline.api + "/alerts/rules/preview", json: [
                    "name": "Custom", "metric_type": "custom_sql", "condition": "gt", "threshold": 1,
                    "custom_sql": "SELECT count(*) FROM enterprise.trace_spans WHERE status = 'error'",
                ])
                #expect(custom.json["value"] as? Double == 3, "\(custom.body)")
                // Validated like a saved rule; nothing is saved.
                let bad = try await http(.POST, sightline.api + "/alerts/rules/preview", json: ["name": "Bad", "metric_type": "nope"])
                #expect(bad.status == 400)
                #expect(bad.body.contains("metric_type"))
                let writes = try await http(.POST, sightline.api + "/alerts/rules/preview", json: [
                    "name": "Writes", "metric_type": "custom_sql", "condition": "gt", "threshold": 1,
                    "custom_sql": "DELETE FROM enterprise.trace_spans",
                ])
                #expect(writes.status == 400)
                #expect(writes.body.contains("custom_sql"))
                let rules = try await http(.GET, sightline.api + "/alerts/rules").json["rules"] as? [[String: Any]] ?? []
                #expect(rules.count == 5, "only the default rules")
                let instances = try await http(.GET, sightline.api + "/alerts/instances").json["instances"] as? [[String: Any]] ?? []
                #expect(instances.isEmpty)
            }
        }
    }

    @Test("invalid rules are refused with 400 naming the field", arguments: StoreKind.available)
    func validation(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            nonisolated(unsafe) let valid: [String: Any] = ["name": "x", "metric_type": "error_count", "condition": "gt", "threshold": 1]
            nonisolated(unsafe) let cases: [(String, [String: Any])] = [
                ("metric_type", ["metric_type": "cpu_magic"]),
                ("condition", ["condition": "greater"]),
                ("threshold", ["threshold": "ten"]),
                ("window_minutes", ["window_minutes": 0]),
                ("window_minutes", ["window_minutes": -5]),
                ("evaluation_interval_seconds", ["evaluation_interval_seconds": 0]),
                ("evaluation_interval_seconds", ["evaluation_interval_seconds": 1.5]),
                ("cooldown_minutes", ["cooldown_minutes": -1]),
                ("notification_channels", ["notification_channels": ["pager"]]),
                ("notification_channels", ["notification_channels": "slack"]),
                ("severity", ["severity": "apocalyptic"]),
                ("enabled", ["enabled": "yes"]),
                ("name", ["name": ""]),
                ("custom_sql", ["metric_type": "custom_sql"]),
                ("notification_config.webhook_url", ["notification_config": ["webhook_url": "ftp://x"]]),
                ("notification_config.token", ["notification_config": ["token": "x"]]),
                ("bogus", ["bogus": 1]),
                ("metric_name", ["metric_type": "metric"]),
                ("metric_name", ["metric_name": "orders"]),
                ("metric_aggregation", ["metric_type": "metric", "metric_name": "orders", "metric_aggregation": "median"]),
                ("metric_aggregation", ["metric_aggregation": "avg"]),
                ("metric_attributes", ["metric_type": "metric", "metric_name": "orders", "metric_attributes": "shop=north"]),
                ("metric_attributes.shop", ["metric_type": "metric", "metric_name": "orders", "metric_attributes": ["shop": ["north"]]]),
                ("operation_name", ["metric_type": "metric", "metric_name": "orders", "operation_name": "GET /"]),
            ]
            try await Sightline.with(database: database, environment: ["SIGHTLINE_ALERTS_ENABLED": "false"]) { sightline in
                for (field, change) in cases {
                    let body = valid.merging(change) { _, new in new }
                    let answer = try await http(.POST, sightline.api + "/alerts/rules", json: body)
                    #expect(answer.status == 400, "\(field): \(answer.body)")
                    #expect((answer.json["error"] as? String)?.hasPrefix("\(field):") == true, "\(field): \(answer.body)")
                }
                for raw in ["not json", "[1,2]", ""] {
                    let answer = try await http(.POST, sightline.api + "/alerts/rules", raw: raw)
                    #expect(answer.status == 400)
                }
                #expect(try await http(.POST, sightline.api + "/alerts/rules", json: valid).status == 201)
            }
        }
    }

    @Test("custom_sql that writes, has side effects or several statements is refused at save", arguments: StoreKind.available)
    func customSQLRefused(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            let refused = [
                "DELETE FROM enterprise.alert_rules",
                "INSERT INTO enterprise.alert_rules (name) VALUES ('x')",
                "UPDATE enterprise.alert_rules SET threshold = 0",
                "DROP TABLE enterprise.trace_spans",
                "SELECT 1; DELETE FROM enterprise.alert_rules",
                "SELECT 1; SELECT 2",
                "WITH gone AS (DELETE FROM enterprise.alert_rules RETURNING 1) SELECT count(*) FROM gone",
                "SELECT * INTO enterprise.copy FROM enterprise.trace_spans",
                "SELECT pg_sleep(30)",
                "SELECT pg_terminate_backend(1)",
                "SELECT nextval('enterprise.some_sequence')",
                "SELECT load_extension('/tmp/evil')",
                "SELECT count(*) FROM enterprise.trace_spans FOR UPDATE",
                "PRAGMA writable_schema = ON",
                "ATTACH DATABASE '/tmp/x.db' AS x",
                "SELECT count(*), max(duration_ms) FROM enterprise.trace_spans",
                "SELECT count(* FROM enterprise.trace_spans",
                "SELECT 'unterminated",
                "",
            ]
            try await Sightline.with(database: database, environment: ["SIGHTLINE_ALERTS_ENABLED": "false"]) { sightline in
                for sql in refused {
                    let answer = try await http(.POST, sightline.api + "/alerts/rules", json: [
                        "name": "custom", "metric_type": "custom_sql", "condition": "gt", "threshold": 1, "custom_sql": sql,
                    ])
                    #expect(answer.status == 400, "\(sql): \(answer.body)")
                    #expect((answer.json["error"] as? String)?.hasPrefix("custom_sql:") == true, "\(sql): \(answer.body)")
                }
                // Accepted: reads, CTEs, comments and literals that merely mention forbidden words.
                for sql in [
                    "SELECT count(*) FROM enterprise.trace_spans WHERE status = 'error'",
                    "WITH recent AS (SELECT duration_ms FROM enterprise.trace_spans) SELECT coalesce(max(duration_ms), 0) FROM recent;",
                    "SELECT count(*) FROM enterprise.structured_logs WHERE message LIKE '%delete from%' -- update; drop",
                ] {
                    let answer = try await http(.POST, sightline.api + "/alerts/rules", json: [
                        "name": "custom", "metric_type": "custom_sql", "condition": "gt", "threshold": 1, "custom_sql": sql,
                    ])
                    #expect(answer.status == 201, "\(sql): \(answer.body)")
                }
                // Nothing was written by the refused queries.
                let rules = try await http(.GET, sightline.api + "/alerts/rules").json["rules"] as? [[String: Any]] ?? []
                #expect(rules.count == 8)
            }
        }
    }

    @Test("custom_sql runs read-only; one that runs too long is cancelled and recorded", arguments: StoreKind.available)
    func customSQLTimeout(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database, environment: ["SIGHTLINE_ALERT_CUSTOM_SQL_TIMEOUT": "1"]) { sightline in
                try await sightline.disableDefaultRules()
                let slow = try await sightline.createRule([
                    "name": "slow", "metric_type": "custom_sql", "condition": "gt", "threshold": 1, "evaluation_interval_seconds": 1,
                    "custom_sql": "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 2000000000) SELECT count(*) FROM r",
                    "notification_channels": [],
                ])
                let counting = try await sightline.createRule([
                    "name": "count", "metric_type": "custom_sql", "condition": "gt", "threshold": 1000, "evaluation_interval_seconds": 1,
                    "custom_sql": "SELECT count(*) FROM enterprise.trace_spans WHERE status = 'error'", "notification_channels": [],
                ])
                try await sightline.sendSpans((0..<3).map { TestSpan(startNano: nowNano(minus: 1), error: $0 < 2) })
                // The slow rule does not hold up the other one.
                #expect(try await eventually(20) {
                    let rule = try await sightline.rule(slow)
                    return rule["last_error"] as? String == "custom_sql: timed out after 1 s"
                })
                #expect(try await eventually(10) { try await sightline.rule(counting)["last_value"] as? Double == 2 })
                #expect(try await sightline.rule(counting)["last_error"] is NSNull)
                #expect(try await sightline.instances(ruleID: slow).isEmpty)
            }
        }
    }
}
