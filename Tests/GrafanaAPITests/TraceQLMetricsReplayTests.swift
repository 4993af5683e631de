import Foundation
@testable import OTLP
import StoreTestSupport
import Testing

/// TraceQL metrics panels as Grafana 11's Tempo data source and the Traces Drilldown app ask for
/// them (`GET /api/metrics/query_range?q=&start=&end=&step=` with Unix seconds, and the instant
/// `/api/metrics/query`), on both stores, with the numbers the shop dataset gives: ten spans in
/// five one-minute steps (30…34 of the hour before `now`), two per trace: a server root
/// (10, 20, 30, 40, 1000 ms) and a 2 ms client child.
@Suite struct TraceQLMetricsReplayTests {
    struct Series {
        var labels: [String: [String: Any]]
        var samples: [(ms: Int64, value: Double)]
        var exemplars: [[String: Any]]
        var value: Double?
        var promLabels: String?

        func label(_ key: String) -> Any? { labels[key]?.values.first }
    }

    func metrics(_ server: GrafanaTestServer, _ path: String, _ pairs: [(String, String)]) async throws -> [Series] {
        let answer = try await server.get(path + "?" + FormEncoding.query(pairs), headers: [("Accept", "application/json")])
        try #require(answer.status == 200, "\(pairs): \(answer.body)")
        let object = try #require(answer.json, "\(answer.body)")
        #expect(object["metrics"] is [String: Any])
        return (object["series"] as? [[String: Any]] ?? []).map { series in
            var labels: [String: [String: Any]] = [:]
            for label in series["labels"] as? [[String: Any]] ?? [] { labels[label["key"] as? String ?? ""] = label["value"] as? [String: Any] }
            let samples = (series["samples"] as? [[String: Any]] ?? []).map {
                (ms: Int64($0["timestampMs"] as? String ?? "") ?? -1, value: ($0["value"] as? NSNumber)?.doubleValue ?? .nan)
            }
            return Series(labels: labels, samples: samples, exemplars: series["exemplars"] as? [[String: Any]] ?? [],
                          value: (series["value"] as? NSNumber)?.doubleValue, promLabels: series["promLabels"] as? String)
        }
    }

    @Test(arguments: StoreKind.available)
    func metricsPanelsReplay(_ kind: StoreKind) async throws {
        try await TempoEndpointTests().withData(kind) { server, data in
            // The hour before `now` up to ten minutes before it: the server traces its own requests.
            let range = TraceQLConformanceTests.range(data)
            let hourAgoMs = Int64(data.now / GrafanaDataset.millisecond) - 3_600_000
            let stepMs: Int64 = 60_000

            // A count panel: one series, every step present, two spans in each of steps 30…34.
            let counts = try await metrics(server, "/api/metrics/query_range", [("q", #"{resource.service.name="shop"} | count_over_time()"#), ("step", "60s")] + range)
            try #require(counts.count == 1)
            #expect(counts[0].label("__name__") as? String == "count_over_time")
            #expect(counts[0].samples.count == 50)
            #expect(counts[0].samples.map(\.ms) == (0..<50).map { hourAgoMs + Int64($0) * stepMs })
            #expect(counts[0].samples.map(\.value) == (0..<50).map { (30...34).contains($0) ? 2 : 0 })

            // Drilldown's rate by an attribute, with exemplars (trace ids of the steps' spans).
            let rates = try await metrics(server, "/api/metrics/query_range", [("q", #"{resource.service.name="shop"} | rate() by (kind) with(sample=true)"#), ("step", "1m")] + range)
            #expect(rates.map { $0.label("kind") as? String }.sorted { ($0 ?? "") < ($1 ?? "") } == ["client", "server"])
            for series in rates {
                #expect(series.samples.map(\.value) == (0..<50).map { (30...34).contains($0) ? 1.0 / 60 : 0 })
                #expect(series.promLabels == "{kind=\"\(series.label("kind") as? String ?? "")\"}")
                #expect(series.exemplars.count == 5)
                let ids = series.exemplars.compactMap { (($0["labels"] as? [[String: Any]])?.first?["value"] as? [String: Any])?["stringValue"] as? String }
                #expect(ids == (0..<5).map { data.traceID($0).hex })
                let times = series.exemplars.compactMap { Int64($0["timestampMs"] as? String ?? "") }
                let offset: UInt64 = series.label("kind") as? String == "client" ? 1 : 0
                #expect(times == (0..<5).map { Int64((data.start($0) / GrafanaDataset.millisecond) + offset) })
                #expect(series.exemplars.allSatisfy { ($0["value"] as? NSNumber)?.doubleValue == 1.0 / 60 })
            }

            // Latency quantiles (instant): power-of-two buckets as Tempo keeps them, in seconds.
            let quantiles = try await metrics(server, "/api/metrics/query", [("q", #"{ kind = server } | quantile_over_time(duration, .5, .9)"#)] + range)
            #expect(quantiles.map { $0.label("p") as? Double } == [0.5, 0.9])
            #expect(quantiles.map(\.value) == [Double(1 << 25) / 1e9, Double(1 << 30) / 1e9])

            // A heatmap: one series per bucket, counted over one step spanning the range.
            let histogram = try await metrics(server, "/api/metrics/query", [("q", #"{ kind = server } | histogram_over_time(duration)"#)] + range)
            #expect(histogram.map { $0.label("__bucket") as? Double } == [24, 25, 26, 30].map { Double(1 << $0) / 1e9 })
            #expect(histogram.map(\.value) == [1, 2, 1, 1])

            // Least, greatest, sum and average of durations, in seconds.
            for (function, expected) in [("min_over_time", 0.01), ("max_over_time", 1.0), ("sum_over_time", 1.1), ("avg_over_time", 0.22)] {
                let series = try await metrics(server, "/api/metrics/query", [("q", "{ kind = server } | \(function)(duration)")] + range)
                #expect(series.count == 1 && abs((series.first?.value ?? 0) - expected) < 1e-9, "\(function): \(series.map(\.value))")
            }
            let ratio = try await metrics(server, "/api/metrics/query", [("q", "{ kind = server } | max_over_time(span.ratio) by (resource.service.name)")] + range)
            #expect(ratio.map(\.value) == [1.0] && ratio.first?.label("resource.service.name") as? String == "shop")

            // topk / bottomk over the series.
            let top = try await metrics(server, "/api/metrics/query", [("q", "{ kind = server } | count_over_time() by (span.http.route) | topk(1)")] + range)
            #expect(top.map { $0.label("span.http.route") as? String } == ["/cart"] && top.map(\.value) == [4])
            let bottom = try await metrics(server, "/api/metrics/query", [("q", "{ kind = server } | count_over_time() by (span.http.route) | bottomk(1)")] + range)
            #expect(bottom.map { $0.label("span.http.route") as? String } == ["/pay"] && bottom.map(\.value) == [1])

            // No step: Tempo's default (about 240 steps, 12.5 s rounded down to 10 s here).
            let defaulted = try await metrics(server, "/api/metrics/query_range", [("q", "{ status = error } | count_over_time()")] + range)
            #expect(defaulted.first?.samples.count == 300 && defaulted.first?.samples.reduce(0) { $0 + $1.value } == 1)

            // Bad requests name the parameter.
            for (pairs, fragment) in [([("q", "{} | rate()"), ("step", "-5s")] + range, "step"), ([("q", "{} | rate()"), ("start", "200"), ("end", "100")], "end"),
                                      ([("step", "60")] + range, "q: required"), ([("q", "{} | rate()"), ("step", "1ms")] + range, "step: too small")] {
                let answer = try await server.get("/api/metrics/query_range?" + FormEncoding.query(pairs))
                #expect(answer.status == 400 && answer.body.contains(fragment), "\(pairs): \(answer.status) \(answer.body)")
            }
        }
    }

    /// Metrics over spanset operators and pipelines count the spans the query leaves: the same
    /// series, samples and exemplars as the one-filter query over the same spans, and known
    /// answers for structure.
    @Test(arguments: StoreKind.available)
    func metricsOverSpansetOperatorsAndPipelines(_ kind: StoreKind) async throws {
        try await TempoEndpointTests().withData(kind) { server, data in
            let range = TraceQLConformanceTests.range(data) + [("step", "60s")]
            // Series order is not part of the answer (the stores sort absent values differently).
            func exemplars(_ series: Series) -> [String] {
                series.exemplars.map { "\((($0["labels"] as? [[String: Any]])?.first?["value"] as? [String: Any])?["stringValue"] ?? "") \($0["timestampMs"] ?? "") \($0["value"] ?? "")" }
            }
            func key(_ series: Series) -> String { series.labels.keys.sorted().map { "\($0)=\(series.label($0) ?? "")" }.joined(separator: ",") }
            func same(_ left: [Series], _ right: [Series]) -> Bool {
                let (l, r) = (left.sorted { key($0) < key($1) }, right.sorted { key($0) < key($1) })
                return l.count == r.count && zip(l, r).allSatisfy { l, r in
                    key(l) == key(r) && l.promLabels == r.promLabels && l.samples.map(\.ms) == r.samples.map(\.ms)
                        && zip(l.samples, r.samples).allSatisfy { abs($0.value - $1.value) < 1e-12 } && l.value == r.value
                        && exemplars(l) == exemplars(r)
                }
            }
            for function in ["rate() by (kind)", "count_over_time() by (span.http.route, status)", "quantile_over_time(duration, .5, .9)",
                             "histogram_over_time(duration)", "avg_over_time(duration) by (resource.service.name)", "max_over_time(span.ratio)"] {
                for path in ["/api/metrics/query_range", "/api/metrics/query"] {
                    let direct = try await metrics(server, path, [("q", "{ } | \(function)")] + range)
                    let piped = try await metrics(server, path, [("q", "{ } | count() > 1 | select(span.http.route) | \(function)")] + range)
                    #expect(!direct.isEmpty && same(direct, piped), "\(path) \(function): \(direct.map(key)) \(piped.map(key))")
                }
            }

            // Clients under a server root: one per minute 30…34, with each step's trace as exemplar.
            let clients = try await metrics(server, "/api/metrics/query_range", [("q", "{ kind = server } >> { } | count_over_time()")] + range)
            try #require(clients.count == 1)
            #expect(clients[0].samples.map(\.value) == (0..<50).map { (30...34).contains($0) ? 1 : 0 })
            #expect(clients[0].exemplars.compactMap { (($0["labels"] as? [[String: Any]])?.first?["value"] as? [String: Any])?["stringValue"] as? String }
                == (0..<5).map { data.traceID($0).hex })
            let union = try await metrics(server, "/api/metrics/query", [("q", #"{ span.http.route = "/pay" } &> { } | count_over_time() by (kind)"#)] + range)
            #expect(union.map { $0.label("kind") as? String } == ["client", "server"] && union.map(\.value) == [1, 1])
            let grouped = try await metrics(server, "/api/metrics/query", [("q", #"({ } | by(kind) | count() = 1) && { status = error } | rate()"#)] + range)
            #expect(grouped.count == 1 && abs((grouped.first?.value ?? 0) - 2.0 / 3_000) < 1e-9, "\(grouped.map(\.value))")
            let arithmetic = try await metrics(server, "/api/metrics/query", [("q", "{ duration * 2 > 50ms } | count_over_time()")] + range)
            #expect(arithmetic.map(\.value) == [3])
        }
    }

    /// Traces Drilldown's comparison (`compare()`): the spans the filter selects against the
    /// others, counted per attribute value, with Tempo's labels (`__meta_type`, totals named by
    /// the attribute alone, `__meta_error` past `topN` values).
    @Test(arguments: StoreKind.available)
    func comparisonAsTracesDrilldownAsksForIt(_ kind: StoreKind) async throws {
        try await TempoEndpointTests().withData(kind) { server, data in
            let range = TraceQLConformanceTests.range(data) + [("step", "60s")]
            func total(_ series: [Series], _ type: String, _ key: String, _ value: String?) -> Double? {
                series.first { $0.label("__meta_type") as? String == type && $0.labels[key] != nil && ($0.label(key).map { "\($0)" }) == value }?
                    .samples.reduce(0) { $0 + $1.value }
            }
            let compared = try await metrics(server, "/api/metrics/query_range", [("q", #"{ resource.service.name = "shop" } | compare({ status = error })"#)] + range)
            #expect(total(compared, "selection", "status", "error") == 1)
            #expect(total(compared, "selection", "span.http.route", "/pay") == 1)
            #expect(total(compared, "selection", "resource.deployment.environment", "prod") == 1)
            #expect(total(compared, "baseline", "name", "SELECT orders") == 5 && total(compared, "baseline", "name", "GET /cart") == 4)
            #expect(total(compared, "baseline", "status", "ok") == 4 && total(compared, "baseline", "status", "unset") == 5)
            #expect(total(compared, "baseline", "span.db.system", "postgresql") == 5)
            #expect(total(compared, "baseline_total", "resource.service.name", nil) == 9 && total(compared, "selection_total", "resource.service.name", nil) == 1)
            #expect(total(compared, "baseline", "status", "error") == nil)
            let selected = try #require(compared.first { $0.label("__meta_type") as? String == "selection" && $0.label("status") as? String == "error" })
            #expect(selected.samples.count == 50 && selected.samples[34].value == 1)
            #expect(selected.promLabels == #"{__meta_type="selection", status="error"}"#)

            // topN: one value per attribute; the attributes with more say so.
            let top = try await metrics(server, "/api/metrics/query_range", [("q", #"{ } | compare({ status = error }, 1)"#)] + range)
            #expect(total(top, "baseline", "name", "SELECT orders") == 5 && total(top, "baseline", "name", "GET /cart") == nil)
            #expect(top.contains { $0.label("__meta_error") as? String == "__too_many_values__" && $0.labels["name"] != nil })

            // A selection window (Unix nanoseconds) that starts after the failed span: nothing selected.
            let windowed = try await metrics(server, "/api/metrics/query_range", [("q", "{ } | compare({ status = error }, 10, \(data.start(4) + 1_000_000), \(data.now))")] + range)
            #expect(total(windowed, "baseline", "status", "error") == 1 && total(windowed, "selection_total", "name", nil) == nil)
        }
    }
}
