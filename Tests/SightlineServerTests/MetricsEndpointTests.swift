import Foundation
import SightlineServer
import Store
import StoreTestSupport
import Testing

/// `GET /metrics` end to end: spans through the real receiver, a real store, the real scrape.
@Suite(.serialized) struct MetricsEndpointTests {
    static let bucketsMs = ["2", "4", "6", "8", "10", "50", "100", "200", "400", "800", "1000", "1400", "2000", "5000",
                            "10000", "15000", "+Inf"]

    /// Spans of known durations: 1 ms, exactly 2 ms (inside `le="2"`), 2 ms + 1 ns, 15 s, 15 s + 1 ms.
    static let durationsNs: [UInt64] = [1_000_000, 2_000_000, 2_000_001, 15_000_000_000, 15_001_000_000]

    static func knownSpans(trace: String = "0af7651916cd43dd8448eb211c80319c") -> [UInt8] {
        let start: UInt64 = 1_700_000_000_000_000_000
        return tracesJSON(durationsNs.enumerated().map { index, duration in
            (trace: trace, span: String(format: "%016x", index + 1), parent: nil, name: "GET /checkout", start: start,
             end: start + duration)
        })
    }

    /// Checks the calls counter and every bucket of the `GET /checkout` server spans.
    static func expectCheckoutSeries(_ text: String, calls: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        let labels = ["service_name": "checkout", "span_name": "GET /checkout", "span_kind": "SPAN_KIND_SERVER",
                      "status_code": "STATUS_CODE_UNSET"]
        let scale = calls / Double(durationsNs.count)
        #expect(Exposition.value(text, "traces_span_metrics_calls_total", labels) == calls, sourceLocation: sourceLocation)
        // Cumulative: 2 spans ≤ 2 ms, 3 ≤ 4 ms … 4 ≤ 15000 ms, 5 in +Inf.
        let expected: [Double] = [2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5].map { $0 * scale }
        for (bound, count) in zip(bucketsMs, expected) {
            #expect(Exposition.value(text, "traces_span_metrics_duration_milliseconds_bucket", labels.merging(["le": bound]) { $1 }) == count,
                    "le=\(bound)", sourceLocation: sourceLocation)
        }
        #expect(Exposition.value(text, "traces_span_metrics_duration_milliseconds_count", labels) == calls, sourceLocation: sourceLocation)
        let sum = Exposition.value(text, "traces_span_metrics_duration_milliseconds_sum", labels) ?? 0
        #expect(abs(sum - 30_006.000001 * scale) < 1e-6, sourceLocation: sourceLocation)
    }

    @Test(arguments: StoreKind.available)
    func countsCommittedSpansExactly(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            #expect(try await server.post("/v1/traces", Self.knownSpans()).status == 200)
            // Re-sent spans are stored once and counted once.
            #expect(try await server.post("/v1/traces", Self.knownSpans()).status == 200)
            let scrape = try await server.get(server.api + "/metrics")
            #expect(scrape.status == 200)
            #expect(scrape.headers.first(name: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            Self.expectCheckoutSeries(scrape.body, calls: 5)
            let receiver = ["receiver": "otlp", "transport": "http", "encoding": "json"]
            #expect(Exposition.value(scrape.body, "otelcol_receiver_accepted_spans_total", receiver) == 10)
            #expect(Exposition.value(scrape.body, "otelcol_receiver_refused_spans_total", receiver) == 0)
            // The OTLP port's requests are timed by route, method and status.
            #expect(Exposition.value(scrape.body, "sightline_http_server_request_duration_seconds_count",
                                     ["route": "/v1/traces", "method": "POST", "status": "200"]) == 2)
            #expect((Exposition.value(scrape.body, "sightline_writer_commit_duration_seconds_count", [:]) ?? 0) >= 2)
            #expect(Exposition.value(scrape.body, "sightline_writer_queue_items", [:]) == 0)
        }
    }

    @Test(arguments: StoreKind.available)
    func overflowSeriesBeyondTheBound(_ kind: StoreKind) async throws {
        try await TestServer.with(kind, flags: [.spanMetricsMaxSeries: "2"]) { server in
            let start: UInt64 = 1_700_000_000_000_000_000
            let spans = (1...4).map { index in
                (trace: "1af7651916cd43dd8448eb211c80319c", span: String(format: "%016x", index), parent: String?.none,
                 name: "op-\(index)", start: start, end: start + 3_000_000)
            }
            #expect(try await server.post("/v1/traces", tracesJSON(spans)).status == 200)
            let text = try await server.get(server.api + "/metrics").body
            let series = Exposition.samples(text, "traces_span_metrics_calls_total")
            #expect(series.count == 3)
            #expect(series.filter { $0.labels["otel_metric_overflow"] == nil }.map(\.value) == [1, 1])
            #expect(Exposition.value(text, "traces_span_metrics_calls_total", ["otel_metric_overflow": "true"]) == 2)
            #expect(Exposition.value(text, "traces_span_metrics_duration_milliseconds_bucket",
                                     ["otel_metric_overflow": "true", "le": "4"]) == 2)
            #expect(Exposition.value(text, "traces_span_metrics_duration_milliseconds_bucket",
                                     ["otel_metric_overflow": "true", "le": "2"]) == 0)
        }
    }

    /// Each process counts what it committed, from zero: a restarted Sightline does not add
    /// the store's spans (which other replicas may have stored) to its counters.
    @Test(arguments: StoreKind.available)
    func countersStartFromZeroAfterARestart(_ kind: StoreKind) async throws {
        try await withTestDatabase(kind) { database in
            try await TestServer.with(kind, database: database) { server in
                let spans = try await server.post("/v1/traces", Self.knownSpans())
                let python = try await server.post("/v1/traces", try fixture("python-sdk/python-json-traces.json"))
                #expect(spans.status == 200 && python.status == 200)
                Self.expectCheckoutSeries(try await server.get(server.api + "/metrics").body, calls: 5)
            }
            #expect(try await database.count("trace_spans") > 5)
            try await TestServer.with(kind, database: database) { server in
                let text = try await server.get(server.api + "/metrics").body
                #expect(Exposition.samples(text, "traces_span_metrics_calls_total").isEmpty)
                #expect(Exposition.samples(text, "sightline_llm_calls_total").isEmpty)
                // New spans count from zero.
                #expect(try await server.post("/v1/traces", Self.knownSpans(trace: "2af7651916cd43dd8448eb211c80319c")).status == 200)
                Self.expectCheckoutSeries(try await server.get(server.api + "/metrics").body, calls: 5)
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func genAISpanFillsLLMCallMetrics(_ kind: StoreKind) async throws {
        // gpt-4o at 2.50/10 USD per million tokens: 1200 in, 350 out.
        let cost = (1200 * 2.5 + 350 * 10) / 1_000_000
        try await TestServer.with(kind, environment: ["SIGHTLINE_LLM_PRICES": "gpt-4o=2.5/10, *=1/1"]) { server in
            let before = try await server.get(server.api + "/metrics").body
            let labels = ["model": "gpt-4o-2024-08-06", "provider": "openai"]
            #expect(Exposition.value(before, "sightline_llm_cost_usd_total", labels) == nil)
            let payload = try fixture("python-sdk/python-json-traces.json")
            #expect(try await server.post("/v1/traces", payload).status == 200)
            #expect(try await server.post("/v1/traces", payload).status == 200)  // re-sent: no second row

            let rows = try await server.rows("""
                SELECT model, provider, prompt_tokens, completion_tokens, total_tokens, elapsed_ms, first_token_ms,
                       trace_id, span_id, cost_usd, success FROM enterprise.llm_call_metrics
                """)
            try #require(rows.count == 1)
            let row = rows[0]
            #expect(row.string("model") == "gpt-4o-2024-08-06")
            #expect(row.string("provider") == "openai")
            #expect(row.int("prompt_tokens") == 1200)
            #expect(row.int("completion_tokens") == 350)
            #expect(row.int("total_tokens") == 1550)
            #expect(row.string("trace_id") == "972a1b8b1aed1d623d5636c5bf0275d1")
            #expect(row.string("span_id") == "1479cf8ee48ab261")
            #expect(abs((row.double("elapsed_ms") ?? 0) - 0.068976) < 1e-9)
            #expect(row.isNull("first_token_ms"))
            #expect(row.int("success") == 1)
            #expect(abs((row.double("cost_usd") ?? 0) - cost) < 1e-12)

            let after = try await server.get(server.api + "/metrics").body
            #expect(abs((Exposition.value(after, "sightline_llm_cost_usd_total", labels) ?? 0) - cost) < 1e-12)
            #expect(Exposition.value(after, "sightline_llm_tokens_total", labels.merging(["type": "output"]) { $1 }) == 350)
            #expect(Exposition.value(after, "sightline_llm_calls_total", labels) == 1)
        }
    }

    @Test func metricsNeedAnAPIKeyWhenKeysAreConfigured() async throws {
        try await TestServer.with(environment: ["SIGHTLINE_API_KEYS": "scrape-key"]) { server in
            #expect(try await server.get(server.api + "/metrics").status == 401)
            let answer = try await server.request(server.api + "/metrics", method: .GET, body: nil, contentType: nil,
                                                  headers: [("Authorization", "Bearer scrape-key")])
            #expect(answer.status == 200)
            #expect(answer.body.contains("# TYPE traces_span_metrics_calls_total counter"))
        }
    }

    @Test func badSettingsAreRefused() {
        #expect(throws: ConfigurationError.self) {
            try SightlineConfiguration.resolve(environment: ["SIGHTLINE_LLM_PRICES": "gpt-4o=cheap"])
        }
        #expect(throws: ConfigurationError.self) {
            try SightlineConfiguration.resolve(flags: [.spanMetricsMaxSeries: "0"])
        }
        do {
            _ = try SightlineConfiguration.resolve(environment: ["SIGHTLINE_LLM_PRICES": "@/nonexistent/prices.txt"])
            Issue.record("accepted a missing price file")
        } catch {
            #expect(error.description.contains("SIGHTLINE_LLM_PRICES"))
        }
    }
}

/// Reading a Prometheus text exposition back, for assertions.
enum Exposition {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    static func samples(_ text: String, _ name: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#") else { return nil }
            let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
            guard line[..<nameEnd] == name else { return nil }
            var labels: [String: String] = [:]
            var rest = line[nameEnd...]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    guard let equals = rest.firstIndex(of: "=") else { return nil }
                    let key = String(rest[..<equals])
                    rest = rest[rest.index(equals, offsetBy: 2)...]  // skip ="
                    var value = ""
                    while let character = rest.first, character != "\"" {
                        rest = rest.dropFirst()
                        if character == "\\", let escaped = rest.first {
                            rest = rest.dropFirst()
                            value.append(escaped == "n" ? "\n" : escaped)
                        } else {
                            value.append(character)
                        }
                    }
                    rest = rest.dropFirst()  // closing quote
                    if rest.first == "," { rest = rest.dropFirst() }
                    labels[key] = value
                }
                rest = rest.dropFirst()
            }
            guard let value = Double(rest.trimmingCharacters(in: .whitespaces)) else { return nil }
            return Sample(name: name, labels: labels, value: value)
        }
    }

    /// The value of the sample with exactly these labels.
    static func value(_ text: String, _ name: String, _ labels: [String: String]) -> Double? {
        samples(text, name).first { $0.labels == labels }?.value
    }
}
