@testable import GrafanaAPI
@testable import Store
import Testing

@Suite struct LogQLTests {
    @Test func streamSelectorWithPipeline() throws {
        let query = try LogQLQuery.parse(#"{service_name="shop", level=~"error|warn", logger!="x", k8s_namespace_name!~"kube-.*"} |= "timeout" != "retry" |~ "id=\\d+" !~ `(?i)debug` | json | logfmt --strict | drop __error__, __error_details__ | detected_level="error" | __error__="""#)
        #expect(query == .logs(LogSelector(
            matchers: [LabelMatcher("service_name", .equal, "shop"), LabelMatcher("level", .matches, "error|warn"),
                       LabelMatcher("logger", .notEqual, "x"), LabelMatcher("k8s_namespace_name", .notMatches, "kube-.*")],
            lineFilters: [LineFilter(.contains, "timeout"), LineFilter(.notContains, "retry"), LineFilter(.matches, "id=\\d+"),
                          LineFilter(.notMatches, "(?i)debug")],
            stages: [.json([]), .logfmt([], strict: true, keepEmpty: false),
                     .drop([LabelMatcher("__error__", .equal, ""), LabelMatcher("__error_details__", .equal, "")]),
                     .labelFilter(.string(LabelMatcher("detected_level", .equal, "error"))),
                     .labelFilter(.string(LabelMatcher("__error__", .equal, "")))])))
    }

    @Test func grafanaHealthCheck() throws {
        let query = try LogQLQuery.parse("vector(1)+vector(1)")
        #expect(query == .metric(.binary(.add, .vector(1), .vector(1))))
    }

    @Test func logVolumeQueries() throws {
        let selector = LogSelector(matchers: [LabelMatcher("service_name", .equal, "shop")])
        #expect(try LogQLQuery.parse(#"sum by (level) (count_over_time({service_name="shop"} [1m]))"#)
            == .metric(.aggregation(.sum, Grouping(without: false, labels: ["level"]), .range(RangeAggregation(.countOverTime, selector, range: 60_000_000_000)))))
        // Grafana 10/11: `| drop __error__` before the range, grouping by level and detected_level.
        let newer = try LogQLQuery.parse(#"sum by (level, detected_level) (count_over_time({service_name="shop"} | drop __error__[1m0s]))"#)
        guard case .metric(.aggregation(.sum, let grouping, .range(let range))) = newer, range.function == .countOverTime, range.range == 60_000_000_000 else {
            Issue.record("\(newer)")
            return
        }
        #expect(grouping?.labels == ["level", "detected_level"])
        #expect(range.selector.matchers == selector.matchers)
        // Grouping after the expression, `without`, rate, bytes and a pipeline after the range.
        #expect(try LogQLQuery.parse(#"sum(rate({level="error"}[5m] |= "x")) without (logger)"#)
            == .metric(.aggregation(.sum, Grouping(without: true, labels: ["logger"]),
                                    .range(RangeAggregation(.rate, LogSelector(matchers: [LabelMatcher("level", .equal, "error")], lineFilters: [LineFilter(.contains, "x")]), range: 300_000_000_000)))))
        #expect(try LogQLQuery.parse(#"bytes_over_time({a="b"}[1h])"#) == .metric(.range(RangeAggregation(.bytesOverTime, LogSelector(matchers: [LabelMatcher("a", .equal, "b")]), range: 3_600_000_000_000))))
    }

    @Test func arithmeticPrecedence() throws {
        #expect(try LogQLQuery.parse("1 + 2 * 3") == .metric(.binary(.add, .literal(1), .binary(.multiply, .literal(2), .literal(3)))))
        #expect(try LogQLQuery.parse("(1 + 2) * 3") == .metric(.binary(.multiply, .binary(.add, .literal(1), .literal(2)), .literal(3))))
        // PromQL's precedence: `or` < `and`/`unless` < comparisons < `+ -`; matching clauses after the operator.
        #expect(try LogQLQuery.parse("vector(1) or vector(2) and vector(3) > 1 + 2")
            == .metric(.set(.or, .vector(1), .set(.and, .vector(2), .comparison(.greater, bool: false, .vector(3), .binary(.add, .literal(1), .literal(2)))))))
        #expect(try LogQLQuery.parse("vector(1) / on(a, b) group_left(c) vector(2) unless ignoring(d) vector(3)")
            == .metric(.set(.unless, .binary(.divide, .vector(1), .vector(2), matching: VectorMatching(cardinality: .manyToOne, on: true, labels: ["a", "b"], include: ["c"])),
                            .vector(3), matching: VectorMatching(labels: ["d"]))))
        #expect(try LogQLQuery.parse("vector(1) > bool ignoring(a) group_right vector(2)")
            == .metric(.comparison(.greater, bool: true, .vector(1), .vector(2), matching: VectorMatching(cardinality: .oneToMany, labels: ["a"]))))
        #expect(try LogQLQuery.parse("2 ^ 3 ^ 2") == .metric(.binary(.power, .literal(2), .binary(.power, .literal(3), .literal(2)))))
        #expect(try LogQLQuery.parse("10 - 4 - 3") == .metric(.binary(.subtract, .binary(.subtract, .literal(10), .literal(4)), .literal(3))))
        #expect(try LogQLQuery.parse("-vector(2) % 3") == .metric(.binary(.modulo, .binary(.multiply, .literal(-1), .vector(2)), .literal(3))))
    }

    @Test(arguments: [
        ("", 1, "empty query"),
        ("{", 2, "expected a label name"),
        ("{a=\"b\"", 7, "expected \"}\""),
        ("{a=b}", 4, "expected a quoted label value"),
        ("{a==\"b\"}", 3, "expected =, !=, =~ or !~"),
        ("{a=\"\"}", 1, "at least one regexp or equality matcher"),
        ("{a=~\".*\"}", 1, "at least one regexp or equality matcher"),
        ("{a=~\"(\"}", 5, "invalid regular expression"),
        ("{a=\"b\"} |~ \"[\"", 12, "invalid regular expression"),
        ("{a=\"b\"} |= 5", 12, "expected a quoted string"),
        ("{a=\"b\"} | line_format \"{{if .x}}\"", 23, "unsupported template"),
        ("{a=\"b\"} | status >= \"500\"", 18, "compares numbers"),
        ("{a=\"b\"} | unwrap x", 11, "only allowed in a range function"),
        ("sum_over_time({a=\"b\"}[1m])", 1, "needs an unwrapped label"),
        ("count_over_time({a=\"b\"} | unwrap x [1m])", 1, "does not take an unwrapped label"),
        ("{a=\"b\"} | regexp \"(a)\"", 18, "named group"),
        ("{a=\"b\"} | pattern \"plain\"", 19, "at least one capture"),
        ("{a=\"b\"} | logfmt --loose", 18, "unsupported parser flag --loose"),
        ("label_join(vector(1), \"a\", \",\", \"b\")", 1, "unsupported function label_join"),
        ("vector(1) and 1", 11, "set operator \"and\" not allowed in binary scalar expression"),
        ("vector(1) + on(a) group_left(a) vector(1)", 33, "must not occur in ON and GROUP clause at once"),
        ("vector(1) + group_right vector(1)", 13, "group_right needs on(…) or ignoring(…)"),
        ("1 + on(a) vector(1)", 3, "vector matching only allowed between vectors"),
        ("label_replace(vector(1), \"1a\", \"x\", \"b\", \"c\")", 1, "invalid destination label name"),
        ("label_replace(vector(1), \"a\", \"x\", \"b\", \"(\")", 41, "invalid regular expression in label_replace()"),
        ("1 > 2", 3, "must use bool"),
        ("{a=\"b\"}[5m]", 8, "needs a range function"),
        ("{a=\"b\"} x", 9, "expected a pipeline stage"),
        ("count_over_time({a=\"b\"})", 24, "expected a range"),
        ("count_over_time({a=\"b\"}[0s])", 25, "must be positive"),
        ("count_over_time({a=\"b\"}[five])", 25, "expected a duration"),
        ("rate({a=\"b\"}[1m]", 17, "expected \")\""),
        ("topk(5, {a=\"b\"})", 9, "cannot be combined"),
        ("sum(1)", 1, "needs a vector"),
        ("sum by (level (count_over_time({a=\"b\"}[1m]))", 15, "expected \")\""),
        ("vector(x)", 8, "expected a number"),
        ("{a=\"b\"} + 1", 9, "expected a pipeline stage"),
        ("1 + {a=\"b\"}", 5, "cannot be combined"),
        ("1 +", 4, "expected a metric expression"),
        ("{a=\"b\" @ }", 8, "unexpected character"),
        ("{a=\"b\"} |= \"unterminated", 12, "unterminated string"),
    ])
    func errorsSayWhere(_ text: String, _ column: Int, _ fragment: String) {
        do {
            _ = try LogQLQuery.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.column == column, "\(text): \(error)")
            #expect(error.description.contains(fragment), "\(text): \(error)")
        }
    }

    @Test func matchersFollowLokiRules() {
        #expect(LabelMatcher("a", .matches, "err|warn").matches("warn"))
        #expect(!LabelMatcher("a", .matches, "err").matches("error"))  // anchored
        #expect(LabelMatcher("a", .notEqual, "x").matches(""))  // a missing label is ""
        #expect(LabelMatcher("a", .matches, "(?i)ERROR").matches("error"))
        #expect(LineFilter(.matches, "err").matches("an error here"))  // not anchored
        #expect(LineFilter(.notContains, "x").matches("abc"))
        #expect(LogQLRegex.anchored("(?i)abc") == "(?i)^(?:abc)$")
        #expect(LogQLRegex.anchored("a|b") == "^(?:a|b)$")
    }

    @Test func compilesToBoundParameters() throws {
        let selector = try LogQLQuery.parseSelector(#"{service_name="a'b", level="WARN", k8s_pod_name=~"p-.*", job="x"} |= "needle" |~ "n[0-9]""#)
        for dialect in [SQLDialect.sqlite, .postgres] {
            var builder = SQLBuilder(dialect)
            let sql = selector.selection.sql(&builder)
            #expect(!sql.contains("a'b") && !sql.contains("needle") && !sql.contains("p-.*"))
            #expect(builder.binds.contains(.text("a'b")))
            #expect(builder.binds.contains(.text("WARNING")), "level names map to the stored levels")
            #expect(builder.binds.contains(.text("k8s.pod.name")))
            #expect(sql.contains("1 = 0"), "a label no stream has selects nothing")
            let placeholders = dialect == .sqlite ? sql.filter { $0 == "?" }.count : (1...builder.binds.count).filter { sql.contains("$\($0)") }.count
            #expect(placeholders == builder.binds.count, "\(dialect): \(sql)")
        }
    }

    @Test func durationsAndTimes() {
        #expect(GoDuration.parse("100ms") == 100_000_000)
        #expect(GoDuration.parse("1h30m") == 5_400_000_000_000)
        #expect(GoDuration.parse("1.5s") == 1_500_000_000)
        #expect(GoDuration.parse("250us") == 250_000)
        #expect(GoDuration.parse("60000ms") == 60_000_000_000)
        #expect(GoDuration.parse("0") == 0)
        #expect(GoDuration.parse("5") == nil)
        #expect(GoDuration.parse("ms") == nil)
        #expect(GoDuration.parse("1x") == nil)
        #expect(GoDuration.format(90_000_000_000) == "1m30s")
        #expect(GoDuration.format(250_000_000) == "250ms")
        #expect(QueryTime.parse("1700000000") == 1_700_000_000_000_000_000)
        #expect(QueryTime.parse("1700000000000000000") == 1_700_000_000_000_000_000)
        #expect(QueryTime.parse("1700000000.5") == 1_700_000_000_500_000_000)
        #expect(QueryTime.parse("2023-11-14T22:13:20Z") == 1_700_000_000_000_000_000)
        #expect(QueryTime.parse("2023-11-14T22:13:20.000000001Z") == 1_700_000_000_000_000_001)
        #expect(QueryTime.parse("2023-11-14T23:13:20+01:00") == 1_700_000_000_000_000_000)
        #expect(QueryTime.parse("yesterday") == nil)
        #expect(QueryTime.parse("2023-13-14T22:13:20Z") == nil)
    }

    @Test func fuzzedInputNeverCrashes() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["{", "}", "(", ")", "[", "]", "a", "level", "=", "!=", "=~", "!~", "|=", "|~", "|", "json", "\"x\"", "\"",
                      "1m", "5", "-", "+", "*", "/", "^", "%", "sum", "by", "without", "count_over_time", "rate", "vector", ",",
                      " ", "`", "\\", "drop", "__error__", "1e", "\u{0}", "é", "0s"]
        for _ in 0..<4000 {
            let text = (0..<Int.random(in: 0...16, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            if case .logs(let selector)? = try? LogQLQuery.parse(text) {
                var builder = SQLBuilder(.postgres)
                _ = selector.selection.sql(&builder)
            }
        }
        let valid = #"sum by (level) (count_over_time({service_name="shop"} |= "x" | json [1m]))"#
        for length in 0...valid.count {
            _ = try? LogQLQuery.parse(String(valid.prefix(length)))
        }
        let deep = String(repeating: "(", count: 1000) + "1" + String(repeating: ")", count: 1000)
        #expect(throws: QueryParseError.self) { try LogQLQuery.parse(deep) }
    }
}

@Suite struct MetricEvaluationTests {
    static let second: Int64 = 1_000_000_000

    @Test func healthCheckIsTwo() async throws {
        let steps = EvaluationSteps(start: 100 * Self.second, end: 100 * Self.second, step: Self.second)
        let evaluator = MetricEvaluator(steps: steps, fetch: { _, _, _, _, _ in [] }, fetchLines: { _, _, _ in [] })
        guard case .metric(let expression) = try LogQLQuery.parse("vector(1)+vector(1)") else { return }
        #expect(try await evaluator.evaluate(expression) == .vector([MetricSeries(labels: [:], values: [2])]))
        guard case .metric(let scalar) = try LogQLQuery.parse("2 * (3 + 1)") else { return }
        #expect(try await evaluator.evaluate(scalar) == .scalar([8]))
    }

    /// Windows `(t - range, t]` summed from buckets of gcd(range, step), no value where empty.
    @Test func rangeWindowsFromBuckets() async throws {
        // Instants 60, 90, 120 s; range 60 s; buckets of 30 s from origin 0.
        let steps = EvaluationSteps(start: 60 * Self.second, end: 120 * Self.second, step: 30 * Self.second)
        let evaluator = MetricEvaluator(steps: steps, fetch: { _, labels, origin, width, _ in
            #expect(origin == 0 && width == 30 * Self.second)
            #expect(labels == ["level"])
            // bucket 0: (0, 30s], 1: (30, 60], 2: (60, 90], 3: (90, 120]
            return [BucketCounts(labels: ["level": "info"], buckets: [0: (2, 20), 1: (1, 10), 3: (4, 40)]),
                    BucketCounts(labels: ["level": "error"], buckets: [0: (1, 5)])]
        }, fetchLines: { _, _, _ in [] })
        guard case .metric(let expression) = try LogQLQuery.parse(#"sum by (level) (count_over_time({a="b"}[1m]))"#) else { return }
        let value = try await evaluator.evaluate(expression)
        #expect(value == .vector([MetricSeries(labels: ["level": "info"], values: [3, 1, 4]),
                                  MetricSeries(labels: ["level": "error"], values: [1, nil, nil])]))
        guard case .metric(let rate) = try LogQLQuery.parse(#"sum by (level) (rate({a="b"}[1m])) * 60"#) else { return }
        let rates = try await evaluator.evaluate(rate)
        #expect(rates == value)
        guard case .metric(let total) = try LogQLQuery.parse(#"sum(bytes_over_time({a="b"}[1m]))"#) else { return }
        let grouped = MetricEvaluator(steps: steps, fetch: { _, _, _, _, _ in
            [BucketCounts(labels: ["level": "info"], buckets: [0: (2, 20), 3: (4, 40)]), BucketCounts(labels: ["level": "error"], buckets: [0: (1, 5)])]
        }, fetchLines: { _, _, _ in [] })
        #expect(try await grouped.evaluate(total) == .vector([MetricSeries(labels: [:], values: [25, nil, 40])]))
    }

    @Test func aggregationsAndMatching() throws {
        let series = [MetricSeries(labels: ["a": "1", "b": "x"], values: [1, 2, nil]),
                      MetricSeries(labels: ["a": "1", "b": "y"], values: [3, nil, nil]),
                      MetricSeries(labels: ["a": "2", "b": "x"], values: [5, 6, nil])]
        #expect(MetricEvaluator.aggregate(.sum, Grouping(without: false, labels: ["a"]), series, count: 3)
            == [MetricSeries(labels: ["a": "1"], values: [4, 2, nil]), MetricSeries(labels: ["a": "2"], values: [5, 6, nil])])
        #expect(MetricEvaluator.aggregate(.max, Grouping(without: true, labels: ["a"]), series, count: 3)
            == [MetricSeries(labels: ["b": "x"], values: [5, 6, nil]), MetricSeries(labels: ["b": "y"], values: [3, nil, nil])])
        #expect(MetricEvaluator.aggregate(.count, nil, series, count: 3) == [MetricSeries(labels: [:], values: [3, 2, nil])])
        #expect(MetricEvaluator.aggregate(.avg, nil, series, count: 3) == [MetricSeries(labels: [:], values: [3, 4, nil])])
        let left = MetricValue.vector([MetricSeries(labels: ["a": "1"], values: [1, 2]), MetricSeries(labels: ["a": "2"], values: [1, 1])])
        let right = MetricValue.vector([MetricSeries(labels: ["a": "1"], values: [10, nil])])
        #expect(try MetricEvaluator.binary(.add, left, right) == .vector([MetricSeries(labels: ["a": "1"], values: [11, nil])]))
        #expect(try MetricEvaluator.binary(.divide, .scalar([4, 4]), .vector([MetricSeries(labels: [:], values: [2, nil])]))
            == .vector([MetricSeries(labels: [:], values: [2, nil])]))
    }

    @Test func valuesAndTimesAsLokiWritesThem() {
        #expect(LokiAPI.valueText(2) == "2")
        #expect(LokiAPI.valueText(0.5) == "0.5")
        #expect(LokiAPI.valueText(.infinity) == "+Inf")
        #expect(LokiAPI.secondsText(1_700_000_000_000_000_000) == "1700000000")
        #expect(LokiAPI.secondsText(1_700_000_000_250_000_000) == "1700000000.25")
    }
}
