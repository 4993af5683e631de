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
}
