import Foundation
import Store
import StoreTestSupport
import Testing

/// A span of `service` starting `secondsBefore` the test's end of window.
func windowSpan(_ service: String, _ name: String, secondsBefore: Double, durationMs: Double, error: Bool = false,
                end: Int64 = AlertMetricQueriesContractTests.end) -> (SpanRow, TraceRow) {
    let start = end - Int64(secondsBefore * 1e9)
    var (row, trace) = span(String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()),
                            String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)),
                            start: start, end: start + Int64(durationMs * 1e6), error: error, name: name)
    row.serviceName = service
    trace.context.serviceName = service
    return (row, trace)
}

/// `AlertMetricQueries` on both databases: every built-in metric over a window, with its scope,
/// against values computed here from the data written.
@Suite struct AlertMetricQueriesContractTests {
    /// The window's end: whole seconds, so its bounds are exact in the stores' microsecond times.
    static let end: Int64 = 1_800_000_000_000_000_000
    static let minute: Int64 = 60_000_000_000

    /// `percentile_cont`: linear interpolation between the closest ranks.
    static func percentile(_ fraction: Double, _ values: [Double]) -> Double {
        let sorted = values.sorted()
        let rank = fraction * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - Double(lower))
    }

    static func window(minutes: Int64 = 5, service: String? = nil, operation: String? = nil) -> AlertMetricWindow {
        AlertMetricWindow(sinceUnixNano: end - minutes * minute, untilUnixNano: end, serviceName: service, operationName: operation)
    }

    static func llmCall(_ span: SpanRow, tokens: Int64, cost: Double) -> LLMCallRow {
        LLMCallRow(traceID: span.traceID, spanID: span.spanID, timestampUnixNano: span.startTimeUnixNano, model: "gpt-x", provider: "openai",
                   promptTokens: tokens / 2, completionTokens: tokens - tokens / 2, totalTokens: tokens, elapsedMs: span.durationMs,
                   firstTokenMs: nil, userEmail: nil, department: nil, costUSD: cost, success: true, errorMessage: nil)
    }

    @Test("each metric over its window and scope", arguments: StoreKind.available)
    func metrics(_ kind: StoreKind) async throws {
        try await withTestStore(kind) { store, database in
            // checkout: 20 spans of 1…20 ms, 3 failed, and two "rag.retrieve" of 2 and 4 s;
            // billing: 5 failed spans of 900 ms; edge: failed spans at the window's start
            // (outside) and at its end (inside); an old failed checkout span outside every window.
            var spans: [(SpanRow, TraceRow)] = []
            var durations: [Double] = []
            for index in 1...20 {
                spans.append(windowSpan("checkout", "POST /pay", secondsBefore: 100 - Double(index), durationMs: Double(index), error: index <= 3))
                durations.append(Double(index))
            }
            spans.append(windowSpan("checkout", "rag.retrieve", secondsBefore: 90, durationMs: 2000))
            spans.append(windowSpan("checkout", "RAG.rerank", secondsBefore: 90, durationMs: 4000))
            spans += (0..<5).map { _ in windowSpan("billing", "charge", secondsBefore: 60, durationMs: 900, error: true) }
            spans.append(windowSpan("edge", "GET /", secondsBefore: 300, durationMs: 1, error: true))
            spans.append(windowSpan("edge", "GET /", secondsBefore: 0, durationMs: 1, error: true))
            spans.append(windowSpan("checkout", "POST /pay", secondsBefore: 7200, durationMs: 1, error: true))
            // LLM calls: three in the last hour, one three hours before.
            let llm: [(tokens: Int64, cost: Double, secondsBefore: Double)] = [(1200, 0.25, 600), (800, 1.5, 600), (3000, 0.125, 60), (99999, 99, 10_800)]
            let llmSpans = llm.map { windowSpan("assistant", "chat", secondsBefore: $0.secondsBefore, durationMs: 100) }
            let calls = zip(llmSpans, llm).map { Self.llmCall($0.0, tokens: $1.tokens, cost: $1.cost) }
            // Logs: 4 ERROR, 1 CRITICAL and 6 INFO for checkout, 2 ERROR for billing, 20 s before
            // the end; an old ERROR outside.
            func record(_ service: String, _ level: String, secondsBefore: Double) -> LogRow {
                var row = log("\(level) in \(service)", level: level, at: Self.end - Int64(secondsBefore * 1e9))
                row.serviceName = service
                return row
            }
            let logs = Array(repeating: record("checkout", "ERROR", secondsBefore: 20), count: 4) + [record("checkout", "CRITICAL", secondsBefore: 20)]
                + Array(repeating: record("checkout", "INFO", secondsBefore: 20), count: 6)
                + Array(repeating: record("billing", "ERROR", secondsBefore: 20), count: 2) + [record("checkout", "ERROR", secondsBefore: 7200)]
            try await store.write(WriteBatch(traces: (spans + llmSpans).map(\.1), spans: (spans + llmSpans).map(\.0), logs: logs, llmCalls: calls))
            // Cache lookups (no writer writes them): two in the last hour, one before.
            let recent = "'\(Timestamp.iso8601(unixNano: Self.end - 10 * Self.minute))'"
            let old = "'\(Timestamp.iso8601(unixNano: Self.end - 180 * Self.minute))'"
            for (stamp, type, hits, misses) in [(recent, "rag", 30, 70), (recent, "embedding", 10, 40), (old, "rag", 1000, 0)] {
                try await database.execute("INSERT INTO enterprise.cache_metrics (timestamp, cache_type, hits, misses) VALUES (\(stamp), '\(type)', \(hits), \(misses))")
            }

            let metrics = store.queries.alertMetrics
            let expected: [(AlertMetric, AlertMetricWindow, Double?)] = [
                (.errorCount, Self.window(service: "checkout"), 3 + 5),
                (.errorCount, Self.window(), 3 + 5 + 1 + 5 + 2),
                (.errorCount, Self.window(service: "edge"), 1),
                (.errorRate, Self.window(service: "checkout"), 3.0 / 22.0 * 100),
                (.latencyP95, Self.window(service: "checkout", operation: "POST /pay"), Self.percentile(0.95, durations)),
                (.latencyP99, Self.window(service: "checkout", operation: "POST /pay"), Self.percentile(0.99, durations)),
                (.latencyP95, Self.window(service: "billing"), 900),
                (.ragLatencyP95, Self.window(), Self.percentile(0.95, [2000, 4000])),
                (.ragLatencyP95, Self.window(service: "checkout", operation: "POST /pay"), Self.percentile(0.95, durations)),
                (.logCount, Self.window(service: "checkout"), 11),
                (.logCount, Self.window(), 13),
                (.llmCostHourly, Self.window(minutes: 60), 0.25 + 1.5 + 0.125),
                (.llmTokens, Self.window(minutes: 60), 1200 + 800 + 3000),
                (.cacheHitRate, Self.window(minutes: 60), 40.0 / 150.0 * 100),
                (.memoryPercent, Self.window(), nil),
            ]
            for (metric, window, want) in expected {
                let value = try await metrics.value(of: metric, over: window)
                if let want {
                    #expect(value.map { abs($0 - want) < 1e-9 } == true, "\(metric) \(window): got \(String(describing: value)), expected \(want)")
                } else {
                    #expect(value == nil, "\(metric) \(window)")
                }
            }

            // An empty window: counts are zero; rates and percentiles have no data.
            let empty = AlertMetricWindow(sinceUnixNano: Self.end - 1000 * Self.minute, untilUnixNano: Self.end - 900 * Self.minute)
            for metric in AlertMetric.allCases {
                let value = try await metrics.value(of: metric, over: empty)
                switch metric {
                case .errorCount, .logCount, .llmCostHourly, .llmTokens: #expect(value == 0, "\(metric)")
                default: #expect(value == nil, "\(metric)")
                }
            }
        }
    }

    @Test("a window of minutes ends at the given time", arguments: [0.0, 0.25])
    func windowOfMinutes(_ fraction: Double) {
        let end = Date(timeIntervalSince1970: 1_800_000_000 + fraction)
        let window = AlertMetricWindow(minutes: 5, endingAt: end, serviceName: "checkout", operationName: "POST /pay")
        #expect(window.untilUnixNano == Int64(end.timeIntervalSince1970 * 1e9))
        #expect(window.untilUnixNano - window.sinceUnixNano == 5 * Self.minute)
        #expect(window.serviceName == "checkout" && window.operationName == "POST /pay")
    }
}
