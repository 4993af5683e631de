@testable import GrafanaAPI
import Store
import Testing

/// The TraceQL parser beyond one spanset, and the pure evaluation of spanset operators,
/// pipelines and metrics (no store).
@Suite struct TraceQLPipelineTests {
    @Test func spansetOperatorsParseLeftToRight() throws {
        let query = try TraceQLQuery.parse(#"{ kind = server } >> { kind = client } && { status = error } !~ { .a = nil } &> { }"#)
        let server = TraceQLSpansets.filter(.comparison(.kind, .equal, .kind(2)))
        let client = TraceQLSpansets.filter(.comparison(.kind, .equal, .kind(3)))
        let failed = TraceQLSpansets.filter(.comparison(.status, .equal, .status(2)))
        let absent = TraceQLSpansets.filter(.exists(.unscoped("a"), false))
        #expect(query.spansets == .structural(TraceQLStructure(.child, union: true),
                                              .structural(TraceQLStructure(.sibling, negated: true), .and(.structural(TraceQLStructure(.descendant), server, client), failed), absent),
                                              .filter(nil)))
        #expect(!query.isSingleFilter)
        #expect(try TraceQLQuery.parse("({ } || { name = \"x\" }) << { }").spansets == .structural(TraceQLStructure(.ancestor), .or(.filter(nil), .filter(.comparison(.name, .equal, .string("x")))), .filter(nil)))
    }

    @Test func fieldExpressionsParse() throws {
        // `*` and `/` bind tighter than `+` and `-`, which group from the left; durations are nanoseconds.
        #expect(try TraceQLQuery.parse("{ span.a + 2 * duration - 1ms / 2 > 3 }").filter
            == .arithmetic(.binary("-", .binary("+", .attribute(.span("a")), .binary("*", .number(2), .attribute(.duration))),
                                   .binary("/", .number(1e6), .number(2))), .greater, 3))
        #expect(try TraceQLQuery.parse("{ !(name = \"a\") && !kind = server }").filter
            == .and(.not(.comparison(.name, .equal, .string("a"))), .not(.comparison(.kind, .equal, .kind(2)))))
        #expect(try TraceQLQuery.parse("{ parent.span.x = 1 || parent.y != nil }").filter
            == .or(.parent(.comparison(.span("x"), .equal, .number(1))), .parent(.exists(.unscoped("y"), true))))
        #expect(try TraceQLQuery.parse(#"{ span:id = "a" && trace:id != "b" && span:parentID = nil && span:childCount > 1 }"#).filter
            == .and(.and(.and(.comparison(.spanID, .equal, .string("a")), .comparison(.traceID, .notEqual, .string("b"))),
                         .exists(.parentID, false)), .comparison(.childCount, .greater, .number(1))))
        #expect(try TraceQLQuery.parse(#"{ instrumentation:name = "a" && instrumentation.lib = "b" }"#).filter
            == .and(.comparison(.instrumentationName, .equal, .string("a")), .comparison(.instrumentation("lib"), .equal, .string("b"))))
        let nested = try TraceQLQuery.parse("({ } | by(kind, name) | coalesce()) && { } | count() > 1 | rate()")
        #expect(nested.spansets == .and(.pipeline(.filter(nil), [.by([.kind, .name]), .coalesce]), .filter(nil)))
        #expect(nested.pipeline == [.aggregate(.count, .greater, 1)] && nested.metrics == TraceQLMetrics(.rate))
    }

    @Test func pipelinesAndMetricsParse() throws {
        let query = try TraceQLQuery.parse(#"{ } | by(resource.service.name) | count() > 2 | avg(duration) >= 1.5s | { status = error } | select(span.http.route, event:name)"#)
        #expect(query.pipeline == [
            .by([.resource("service.name")]), .aggregate(.count, .greater, 2), .aggregate(.avg(.duration), .greaterOrEqual, 1.5e9),
            .filter(.filter(.comparison(.status, .equal, .status(2)))), .select([.span("http.route"), .eventName]),
        ])
        let metrics = try TraceQLQuery.parse(#"{ nestedSetParent < 0 && true } | quantile_over_time(duration, .5, 0.99) by (resource.service.name, kind) | topk(3) with(sample=true)"#)
        #expect(metrics.filter == .and(.root(true), .constant(true)))
        #expect(metrics.metrics == TraceQLMetrics(.quantileOverTime(.duration, [0.5, 0.99]), by: [.resource("service.name"), .kind], ranks: [.topk(3)]))
        #expect(try TraceQLQuery.parse("{} | rate()").metrics == TraceQLMetrics(.rate))
        #expect(try TraceQLQuery.parse("{} | histogram_over_time(span:duration) | bottomk(2)").metrics == TraceQLMetrics(.histogramOverTime(.duration), ranks: [.bottomk(2)]))
        #expect(try TraceQLQuery.parse("{ 500 <= span.code && trace:rootService = \"a\" && link:traceID != nil && event.x = 1 }").filter
                == .and(.and(.and(.comparison(.span("code"), .greaterOrEqual, .number(500)), .comparison(.rootServiceName, .equal, .string("a"))),
                             .exists(.linkTraceID, true)), .comparison(.event("x"), .equal, .number(1))))
    }

    // MARK: Evaluation

    /// root(server) → a(client) → b(internal); root → c(client, error).
    static func trace(_ plan: SpansetPlan) -> SpansetPlan.Trace {
        func row(_ id: String, _ parent: String?, kind: Int64, status: Int64 = 0, duration: Int64) -> SpanTableRow {
            let condition = plan.conditions.map { condition -> Bool in
                switch condition {
                case .compare(.spanKind, .equal, .code(let k)): return Int64(k) == kind
                case .compare(.statusCode, .equal, .code(let s)): return Int64(s) == status
                default: return false
                }
            }
            return SpanTableRow(traceID: "t", spanID: id, parentSpanID: parent, name: id, serviceName: "svc", startTimeUnixNano: 0,
                                endTimeUnixNano: duration, statusCode: status, kind: kind, rootSpanName: "root", rootServiceName: "svc",
                                traceStartUnixNano: 0, traceEndUnixNano: 100, matches: condition, values: plan.fields.map { _ in nil })
        }
        return SpansetPlan.Trace([row("root", nil, kind: 2, duration: 100), row("a", "root", kind: 3, duration: 10),
                                  row("b", "a", kind: 1, duration: 5), row("c", "root", kind: 3, status: 2, duration: 40)])
    }

    static func spans(_ text: String) throws -> [[String]] {
        let plan = SpansetPlan(try TraceQLQuery.parse(text))
        let trace = trace(plan)
        return plan.evaluate(trace).map { $0.spans.map { trace.spans[$0].spanID } }
    }

    @Test(arguments: [
        ("{ kind = server } >> { kind = internal }", [["b"]]),
        ("{ kind = server } > { kind = internal }", []),
        ("{ kind = client } > { kind = internal }", [["b"]]),
        ("{ kind = internal } << { kind = server }", [["root"]]),
        ("{ kind = internal } < { kind = client }", [["a"]]),
        ("{ kind = client } ~ { kind = client }", [["a", "c"]]),
        ("{ status = error } ~ { kind = client }", [["a"]]),
        ("{ kind = server } !>> { kind = client }", []),
        ("{ kind = internal } !< { kind = client }", [["c"]]),
        ("{ kind = client } &> { kind = internal }", [["a", "b"]]),
        ("{ kind = server } && { status = error }", [["root", "c"]]),
        ("{ kind = producer } && { status = error }", []),
        ("{ kind = producer } || { status = error }", [["c"]]),
        ("{ } | count() = 4", [["root", "a", "b", "c"]]),
        ("{ kind = client } | avg(duration) = 25", [["a", "c"]]),
        ("{ kind = client } | max(duration) > 40", []),
        ("{ } | by(kind) | count() > 1", [["a", "c"]]),
        ("{ } | by(kind)", [["root"], ["a", "c"], ["b"]]),
        ("{ kind = client } | { status = error }", [["c"]]),
        ("{ } | sum(duration) >= 155 | min(duration) < 6", [["root", "a", "b", "c"]]),
    ])
    func structureAndPipelines(_ query: String, _ expected: [[String]]) throws {
        #expect(try Self.spans(query) == expected, "\(query)")
    }

    @Test func quantilesInterpolateInPowerOfTwoBuckets() {
        // 1 value in (8, 16], 2 in (16, 32]: the median (2nd value) is the first of two in
        // (16, 32], half way up; the 90th percentile (3rd value) at its top.
        let buckets: [(bound: Double, count: Int64)] = [(16, 1), (32, 2)]
        #expect(TraceQLMetricsEvaluation.quantile(0.5, buckets) == 24)
        #expect(TraceQLMetricsEvaluation.quantile(0.3, buckets) == 16)
        #expect(TraceQLMetricsEvaluation.quantile(0.9, buckets) == 32)
        #expect(TraceQLMetricsEvaluation.quantile(0.5, []) == 0)
        // 4 values in (16, 32]: the first quartile is a quarter of the way up.
        #expect(TraceQLMetricsEvaluation.quantile(0.25, [(32, 4)]) == 20)
    }

    @Test func seriesFillRatesAndRankByTime() {
        let second: Int64 = 1_000_000_000
        func row(_ step: Int64, _ name: String, _ count: Int64) -> SpanMetricsRow {
            SpanMetricsRow(step: step, group: [SpanFieldValue(kind: .string, text: name)], bucket: nil, count: count, sum: nil, min: nil, max: nil,
                           valued: 0, exemplarTraceID: "t\(name)", exemplarUnixNano: (10 + step) * second + 1_000_000)
        }
        let rows = [row(0, "a", 2), row(1, "b", 3), row(1, "a", 1)]
        let evaluation = TraceQLMetricsEvaluation(TraceQLMetrics(.rate, by: [.name]), start: 10 * second + 5, end: 13 * second, step: second)
        #expect(evaluation.start == 10 * second && evaluation.steps == 3)
        let series = evaluation.series(rows)
        #expect(series.map { $0.labels.map(\.key) } == [["name"], ["name"]])
        #expect(series[0].samples.map(\.value) == [2, 1, 0] && series[0].samples.map(\.ms) == [10_000, 11_000, 12_000])
        #expect(series[1].samples.map(\.value) == [0, 3, 0])
        #expect(series[0].exemplars.map(\.traceID) == ["ta", "ta"] && series[0].exemplars.first?.ms == 10_001)
        #expect(series[0].exemplars.map(\.value) == [2, 1])

        // topk(1) per time: a leads at 10 s, b at 11 s.
        let top = TraceQLMetricsEvaluation(TraceQLMetrics(.countOverTime, by: [.name], ranks: [.topk(1)]), start: 10 * second, end: 12 * second, step: second)
        #expect(top.series(rows).map { $0.samples.map(\.ms) } == [[10_000], [11_000]])
        let bottom = TraceQLMetricsEvaluation(TraceQLMetrics(.countOverTime, by: [.name], ranks: [.bottomk(1)]), start: 10 * second, end: 12 * second, step: second)
        #expect(bottom.series(rows).map { $0.samples.map(\.ms) } == [[11_000], [10_000]])
    }
}
