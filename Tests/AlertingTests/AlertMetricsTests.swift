import Foundation
import Store
import StoreTestSupport
import Testing

/// Every metric type computed by the running evaluator (`last_value` of its rule) on data
/// ingested through the receiver, against values computed here from the data sent.
@Suite("Alert metrics", .serialized)
struct AlertMetricsTests {
    /// `percentile_cont`: linear interpolation between the closest ranks.
    static func percentile(_ fraction: Double, _ values: [Double]) -> Double {
        let sorted = values.sorted()
        let rank = fraction * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - Double(lower))
    }

    @Test("each metric type on ingested data", arguments: StoreKind.available)
    func metrics(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database) { sightline in
                try await sightline.disableDefaultRules()
                // checkout: 20 spans of 1…20 ms, 3 failed; "rag.retrieve" spans of 2000 and 4000 ms;
                // another service's spans must not count; an old span outside every window.
                let start = nowNano(minus: 30)
                var spans: [TestSpan] = []
                var durations: [Double] = []
                for index in 1...20 {
                    spans.append(TestSpan(name: "POST /pay", startNano: start + Int64(index), durationNano: Int64(index) * 1_000_000, error: index <= 3))
                    durations.append(Double(index))
                }
                spans.append(TestSpan(name: "rag.retrieve", startNano: start, durationNano: 2_000_000_000))
                spans.append(TestSpan(name: "rag.retrieve", startNano: start, durationNano: 4_000_000_000))
                try await sightline.sendSpans(spans)
                try await sightline.sendSpans((0..<5).map { _ in TestSpan(startNano: start, durationNano: 900_000_000, error: true) }, service: "billing")
                try await sightline.sendSpans([TestSpan(startNano: nowNano(minus: 7200), error: true)])
                // Logs: 4 ERROR, 1 CRITICAL (severity 21), 6 INFO for checkout; 2 ERROR for billing.
                let logTime = nowNano(minus: 20)
                try await sightline.sendLogs(Array(repeating: (17, logTime), count: 4) + [(21, logTime)] + Array(repeating: (9, logTime), count: 6))
                try await sightline.sendLogs(Array(repeating: (17, logTime), count: 2), service: "billing")
                // LLM calls and cache lookups, written as their producers would.
                let stamp = database.kind == .postgres ? "now() - interval '10 minutes'" : "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 minutes')"
                let old = database.kind == .postgres ? "now() - interval '3 hours'" : "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-3 hours')"
                let llm: [(tokens: Int, cost: Double)] = [(1200, 0.25), (800, 1.5), (3000, 0.125)]
                for call in llm {
                    try await database.execute("INSERT INTO enterprise.llm_call_metrics (timestamp, model, provider, total_tokens, elapsed_ms, cost_usd) VALUES (\(stamp), 'gpt-x', 'openai', \(call.tokens), 100, \(call.cost))")
                }
                try await database.execute("INSERT INTO enterprise.llm_call_metrics (timestamp, model, provider, total_tokens, elapsed_ms, cost_usd) VALUES (\(old), 'gpt-x', 'openai', 99999, 100, 99)")
                try await database.execute("INSERT INTO enterprise.cache_metrics (timestamp, cache_type, hits, misses) VALUES (\(stamp), 'rag', 30, 70)")
                try await database.execute("INSERT INTO enterprise.cache_metrics (timestamp, cache_type, hits, misses) VALUES (\(stamp), 'embedding', 10, 40)")

                let expected: [(rule: [String: Any], value: Double?)] = [
                    (["metric_type": "error_count", "service_name": "checkout"], 3 + 5),
                    (["metric_type": "error_count"], 3 + 5 + 5 + 2),
                    (["metric_type": "error_rate", "service_name": "checkout"], 3.0 / 22.0 * 100),
                    (["metric_type": "latency_p95", "service_name": "checkout", "operation_name": "POST /pay"], Self.percentile(0.95, durations)),
                    (["metric_type": "latency_p99", "service_name": "checkout", "operation_name": "POST /pay"], Self.percentile(0.99, durations)),
                    (["metric_type": "latency_p95", "service_name": "billing"], 900),
                    (["metric_type": "rag_latency_p95"], Self.percentile(0.95, [2000, 4000])),
                    (["metric_type": "log_count", "service_name": "checkout"], 11),
                    (["metric_type": "log_count"], 13),
                    (["metric_type": "llm_cost_hourly", "window_minutes": 60], llm.map(\.cost).reduce(0, +)),
                    (["metric_type": "llm_tokens", "window_minutes": 60], Double(llm.map(\.tokens).reduce(0, +))),
                    (["metric_type": "cache_hit_rate", "window_minutes": 60], 40.0 / 150.0 * 100),
                    (["metric_type": "custom_sql", "custom_sql": "SELECT count(*) FROM enterprise.trace_spans WHERE service_name = 'billing'"], 5),
                ]
                var ids: [String] = []
                for (index, item) in expected.enumerated() {
                    var rule: [String: Any] = ["name": "metric \(index)", "condition": "gt", "threshold": 1e12, "window_minutes": 5,
                                               "evaluation_interval_seconds": 1, "notification_channels": []]
                    rule.merge(item.rule) { _, new in new }
                    ids.append(try await sightline.createRule(rule))
                }
                let memory = try await sightline.createRule(["name": "memory", "metric_type": "memory_percent", "condition": "gt",
                                                             "threshold": -1, "evaluation_interval_seconds": 1])
                let since = Date()
                #expect(try await eventually(20) {
                    for id in ids + [memory] {
                        let rule = try await sightline.rule(id)
                        guard let text = rule["last_evaluated_at"] as? String, text >= isoText(since) else { return false }
                    }
                    return true
                })
                for (index, item) in expected.enumerated() {
                    let rule = try await sightline.rule(ids[index])
                    let value = rule["last_value"] as? Double
                    let want = try #require(item.value)
                    #expect(value != nil && abs(value! - want) < 1e-6, "\(item.rule): got \(String(describing: value)), expected \(want)")
                    #expect(rule["last_error"] is NSNull, "\(item.rule): \(rule["last_error"] ?? "")")
                }
                // memory_percent: "no data" — no value, no error, never fires (threshold -1).
                let memoryRule = try await sightline.rule(memory)
                #expect(memoryRule["last_value"] is NSNull)
                #expect(try await sightline.instances(ruleID: memory).isEmpty)
            }
        }
    }
}

/// The seed's `memory_percent` rule on host memory use sent as OTLP metrics.
@Suite("memory_percent from OTLP host metrics", .serialized)
struct MemoryPercentAlertTests {
    @Test("system.memory.utilization makes memory_percent fire", arguments: StoreKind.available)
    func memoryPercentFires(kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await Sightline.with(database: database) { sightline in
                try await sightline.disableDefaultRules()
                let time = nowNano(minus: 5)
                // As the SDKs' host metrics send it: a gauge of ratios per memory state.
                let body = """
                    {"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"host"}}]},
                     "scopeMetrics":[{"metrics":[{"name":"system.memory.utilization","unit":"1","gauge":{"dataPoints":[
                       {"asDouble":0.95,"timeUnixNano":"\(time)","attributes":[{"key":"system.memory.state","value":{"stringValue":"used"}}]},
                       {"asDouble":0.05,"timeUnixNano":"\(time)","attributes":[{"key":"system.memory.state","value":{"stringValue":"free"}}]}
                     ]}}]}]}]}
                    """
                let answer = try await http(.POST, sightline.otlp + "/v1/metrics", raw: body)
                #expect(answer.status == 200, "\(answer.body)")
                let rule = try await sightline.createRule(["name": "Memory", "metric_type": "memory_percent", "condition": "gt",
                                                           "threshold": 90, "window_minutes": 5, "evaluation_interval_seconds": 1,
                                                           "notification_channels": []])
                #expect(try await eventually(20) { try await !sightline.instances(ruleID: rule).isEmpty })
                let stored = try await sightline.rule(rule)
                #expect((stored["last_value"] as? Double).map { abs($0 - 95) < 1e-9 } == true, "\(stored)")
            }
        }
    }
}

/// Times as the API writes them, comparable as text (both stores answer ISO 8601 UTC).
func isoText(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date.addingTimeInterval(-0.5)).replacingOccurrences(of: "Z", with: "")
}
