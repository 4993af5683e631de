@testable import GrafanaAPI
import Store
import Testing

/// The pipeline stages that run in Sightline, without a store.
@Suite struct LogPipelineTests {
    func run(_ query: String, _ line: String, labels: [String: String] = ["service_name": "api", "level": "info"]) throws -> PipelineEntry? {
        let selector = try LogQLQuery.parseSelector(query)
        return selector.stages.run(PipelineEntry(nanos: 1_700_000_000_000_000_000, line: line, labels: labels), streamLabels: Set(labels.keys))
    }

    @Test func jsonFlattensNestedKeysAndKeepsLiteralsAsWritten() throws {
        let entry = try #require(try run(#"{a="b"} | json"#, #"{"a":{"b-c":{"d":1.50}},"ok":true,"n":null,"list":[1],"level":"warn","s":"x\"y\u00e9"}"#))
        #expect(entry.labels["a_b_c_d"] == "1.50")
        #expect(entry.labels["ok"] == "true")
        #expect(entry.labels["n"] == nil && entry.labels["list"] == nil)
        #expect(entry.labels["level_extracted"] == "warn" && entry.labels["level"] == "info")
        #expect(entry.labels["s"] == "x\"yé")
        let chosen = try #require(try run(#"{a="b"} | json first="list[0]", inner="a[\"b-c\"]", whole="a""#, #"{"a":{"b-c":{"d":2}},"list":[7,8]}"#))
        #expect(chosen.labels["first"] == "7" && chosen.labels["inner"] == #"{"d":2}"# && chosen.labels["whole"] == #"{"b-c":{"d":2}}"#)
        let bad = try #require(try run(#"{a="b"} | json"#, "not json"))
        #expect(bad.labels["__error__"] == "JSONParserErr")
        #expect(try run(#"{a="b"} | json | __error__="""#, "{broken") == nil)
    }

    @Test func logfmtRegexpAndPattern() throws {
        let entry = try #require(try run(#"{a="b"} | logfmt"#, #"at=info msg="a \"quoted\" text" empty= flag dur=2s"#))
        #expect(entry.labels["at"] == "info" && entry.labels["msg"] == #"a "quoted" text"# && entry.labels["dur"] == "2s")
        #expect(entry.labels["empty"] == nil && entry.labels["flag"] == nil)
        let kept = try #require(try run(#"{a="b"} | logfmt --keep-empty"#, "empty= x=1"))
        #expect(kept.labels["empty"] == "" && kept.labels["x"] == "1")
        #expect(try run(#"{a="b"} | logfmt --strict"#, #"a="unterminated"#)?.labels["__error__"] == "LogfmtParserErr")
        let regexp = try #require(try run(#"{a="b"} | regexp "(?P<method>[A-Z]+) (?P<path>\\S+)""#, "GET /cart 200"))
        #expect(regexp.labels["method"] == "GET" && regexp.labels["path"] == "/cart")
        let pattern = try #require(try run(#"{a="b"} | pattern "<ip> - - [<_>] \"<method> <uri> <_>\" <status>""#,
                                           #"1.2.3.4 - - [07/Dec/2026:10:00:00] "GET /x HTTP/1.1" 404"#))
        #expect(pattern.labels["ip"] == "1.2.3.4" && pattern.labels["method"] == "GET" && pattern.labels["uri"] == "/x" && pattern.labels["status"] == "404")
        #expect(try run(#"{a="b"} | pattern "<x> is <y>""#, "no match here")?.labels["x"] == nil)
    }

    @Test func typedFiltersFollowLokiRules() throws {
        let line = #"{"status":"503","took":"1.5s","size":"1.5KiB","word":"abc"}"#
        #expect(try run(#"{a="b"} | json | status >= 500 and took > 1s and size > 1500"#, line) != nil)
        #expect(try run(#"{a="b"} | json | size > 2KB or status == 200"#, line) == nil)
        #expect(try run(#"{a="b"} | json | missing > 1"#, line) == nil)  // a missing label fails a typed filter
        let marked = try #require(try run(#"{a="b"} | json | word > 1"#, line))  // not a number: kept, marked
        #expect(marked.labels["__error__"] == "LabelFilterErr")
        #expect(ByteSize.parse("1.5KiB") == 1536 && ByteSize.parse("2 MB") == 2_000_000 && ByteSize.parse("10") == 10 && ByteSize.parse("x") == nil)
    }

    @Test func templatesAndFormats() throws {
        let entry = try #require(try run(#"{a="b"} | logfmt | line_format "{{ .user | ToUpper }} did {{.what}} at {{ __timestamp__ }}: {{ __line__ | trimPrefix \"user=\" }}" | label_format who=user, shout=`{{ default "none" .nope | upper }}`"#,
                                         "user=ann what=buy"))
        #expect(entry.line == "ANN did buy at 1700000000: ann what=buy")
        #expect(entry.labels["who"] == "ann" && entry.labels["user"] == nil && entry.labels["shout"] == "NONE")
        for bad in ["{{ if .x }}", "{{ $x }}", "{{ printf \"%d\" 1 }}", "{{ .x", "{{ ToUpper }}"] {
            #expect(throws: LogTemplate.TemplateError.self, "\(bad)") { try LogTemplate(bad) }
        }
    }

    /// What the store can be told about the line before the stages run.
    @Test func extractedEqualitiesNarrowTheStoresRead() throws {
        let selector = try LogQLQuery.parseSelector(#"{service_name="api"} | json | status="500" and method="GET" |= "cart" | level="error" | path="/a b" | x=~"y" | z="1" or w="2""#)
        #expect(selector.impliedLineFilters == [LineFilter(.contains, "500"), LineFilter(.contains, "GET"), LineFilter(.contains, "cart")])
        #expect(selector.selection.lineFilters.map(\.value) == ["500", "GET", "cart"])
        // After a stage that rewrites labels, nothing more is implied.
        let formatted = try LogQLQuery.parseSelector(#"{service_name="api"} | json | label_format status="x" | status="x""#)
        #expect(formatted.impliedLineFilters.isEmpty)
        // Grafana's drop of error labels before any parser stays with the store.
        #expect(try LogQLQuery.parseSelector(#"{service_name="api"} | drop __error__, __error_details__ |= "x""#).stages.isEmpty)
    }

    /// The fields of a JSON line the store checks with its JSON functions: after a `| json`
    /// without parameters, `=` filters on top-level keys (names without `_`) with plain values,
    /// until another parser or a stage that rewrites the line or labels.
    @Test func jsonEqualitiesBecomeFieldsTheStoreChecks() throws {
        func fields(_ query: String) throws -> [LokiJSONField] { try LogQLQuery.parseSelector(query).selection.jsonFields }
        #expect(try fields(#"{service_name="api"} | json | status="500" and method="GET" |= "x" | __error__="" | req_path="/a" | level="error" | x=~"y" | a="1" or b="2""#)
            == [LokiJSONField("status", "500"), LokiJSONField("method", "GET")])
        #expect(try fields(#"{service_name="api"} | json | status="500" | logfmt | method="GET""#) == [LokiJSONField("status", "500")])
        #expect(try fields(#"{service_name="api"} | json | status="a b" | code="" | service_name="x""#).isEmpty)
        #expect(try fields(#"{service_name="api"} | json status="s" | status="500""#).isEmpty)
        #expect(try fields(#"{service_name="api"} | logfmt | json | status="500""#).isEmpty)
        #expect(try fields(#"{service_name="api"} | decolorize | json | status="500""#).isEmpty)
        #expect(try fields(#"{service_name="api"} | json | label_format status="x" | status="x""#).isEmpty)
    }
}

/// Loki's store part answering `count` lines `n=0` … `n=count-1`, one a second from `t0`, for
/// the bound on the lines a pipeline reads.
struct CountingLokiLines: LokiQueries {
    static let t0: Int64 = 1_700_000_000_000_000_000
    let count: Int

    func lines(_ selection: LokiSelection, from: Int64, toExclusive: Int64, limit: Int, backward: Bool) async throws(StoreError) -> [LokiLine] {
        (0..<min(count, limit)).map { LokiLine(nanos: Self.t0 + Int64($0) * 1_000_000_000, text: "n=\($0)", labels: ["service_name": "api"]) }
    }
    func bucketCounts(_ query: LokiBucketQuery) async throws(StoreError) -> [LokiBucketCount] { [] }
    func labelNames(_ selection: LokiSelection?, start: Int64, end: Int64, sampleRows: Int) async throws(StoreError) -> [String] { [] }
    func labelValues(_ name: String, _ selection: LokiSelection?, start: Int64, end: Int64, sampleRows: Int, limit: Int) async throws(StoreError) -> [String] { [] }
    func series(_ selections: [LokiSelection], start: Int64, end: Int64, limit: Int) async throws(StoreError) -> [[String: String]] { [] }
    func indexStats(_ selection: LokiSelection, start: Int64, end: Int64) async throws(StoreError) -> LokiIndexStats {
        LokiIndexStats(streams: 0, entries: 0, bytes: 0)
    }
}

@Suite struct PipelineBoundTests {
    /// Within the bound a pipeline answers; past it, 422 naming the bound, never a partial answer.
    @Test func aPipelineReadsAtMostItsBound() async throws {
        let selector = try LogQLQuery.parseSelector(#"{service_name="api"} | logfmt | n="none""#)
        let (from, to) = (CountingLokiLines.t0, CountingLokiLines.t0 + 3_600_000_000_000)
        let within = LokiAPI(loki: CountingLokiLines(count: 20), logger: quietLogger, pipelineLineLimit: 20)
        #expect(try await within.lines(selector, from: from, toExclusive: to, limit: 10, backward: true).isEmpty)
        let found = try await within.lines(try LogQLQuery.parseSelector(#"{service_name="api"} | logfmt | n="7""#), from: from, toExclusive: to, limit: 10, backward: true)
        #expect(found.map(\.text) == ["n=7"] && found.first?.labels["n"] == "7")
        let past = LokiAPI(loki: CountingLokiLines(count: 21), logger: quietLogger, pipelineLineLimit: 20)
        await #expect(throws: past.pipelineBoundFailure) { try await past.lines(selector, from: from, toExclusive: to, limit: 10, backward: true) }
        #expect(past.pipelineBoundFailure.status == .unprocessableContent && past.pipelineBoundFailure.message.contains("at most 20 lines"))
        // Enough lines through the pipeline before the bound: the answer is complete.
        let early = try await past.lines(try LogQLQuery.parseSelector(#"{service_name="api"} | logfmt"#), from: from, toExclusive: to, limit: 5, backward: true)
        #expect(early.count == 5)

        // A metric query reads every line of its range, (t0, t0 + 1h]: the 19 after t0.
        guard case .metric(let count) = try LogQLQuery.parse(#"sum(count_over_time({service_name="api"} | logfmt [1h]))"#) else { return }
        let steps = EvaluationSteps(start: to, end: to, step: 1_000_000_000)
        #expect(try await within.evaluate(count, steps) == .vector([MetricSeries(labels: [:], values: [19])]))
        await #expect(throws: past.pipelineBoundFailure) { try await past.evaluate(count, steps) }
    }
}
