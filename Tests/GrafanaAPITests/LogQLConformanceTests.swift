import Foundation
@testable import GrafanaAPI
import OTLP
import StoreTestSupport
import Testing

/// LogQL's features against ingested lines, on both stores: each supported feature of
/// docs/grafana.md ("LogQL features") with a known answer, each unsupported one answering 400
/// with a message naming it, and the requests Grafana 11's query builder sends for its parser
/// and filter steps.
@Suite struct LogQLConformanceTests {
    static let second = GrafanaDataset.second

    /// JSON lines of `api`, logfmt lines of `worker` (with a `level` key, which becomes
    /// `level_extracted` beside the stream label), and a line of `api` that is not JSON; all
    /// within the five minutes before `now - 4m`.
    static let apiLines = [
        #"{"status":500,"method":"GET","latency":"250ms","size":"2KB","req":{"path":"/cart","id":1},"tags":["a"]}"#,
        #"{"status":200,"method":"GET","latency":"50ms","size":"512B","req":{"path":"/cart","id":2}}"#,
        #"{"status":200,"method":"POST","latency":"1.5s","size":"10KB","req":{"path":"/pay","id":3}}"#,
        #"{"status":404,"method":"GET","latency":"5ms","size":"100B","req":{"path":"/missing","id":4}}"#,
    ]
    static let plainLine = "plain text line"
    static let workerLines = [
        #"level=info job=email duration=2s attempts=1 msg="sent mail""#,
        #"level=error job=email duration=500ms attempts=3 msg="smtp timeout""#,
        #"level=info job=report duration=10s attempts=1 msg="report built""#,
    ]
    /// Lines of `packer` as Promtail's `pack` stage writes them (`_entry` is the original line),
    /// and one JSON line that is not packed.
    static let packedLines = [
        #"{"pod":"p-1","container":"web","n":3,"_entry":"GET /x 200"}"#,
        #"{"pod":"p-2"}"#,
    ]

    func withData(_ kind: StoreKind, _ body: @Sendable (GrafanaTestServer, GrafanaDataset) async throws -> Void) async throws {
        try await GrafanaTestServer.with(kind) { server in
            let data = GrafanaDataset()
            let base = data.now - 5 * 60 * Self.second
            func record(_ offset: UInt64, _ text: String, severity: Int32 = 9) -> LogRecord {
                LogRecord(timeUnixNano: base + offset * Self.second, severityNumber: SeverityNumber(rawValue: severity), body: .string(text))
            }
            let api = Self.apiLines.enumerated().map { record(UInt64($0.offset) * 10, $0.element) } + [record(40, Self.plainLine)]
            let worker = Self.workerLines.enumerated().map { record(5 + UInt64($0.offset) * 10, $0.element, severity: $0.offset == 1 ? 17 : 9) }
            let packed = Self.packedLines.enumerated().map { record(7 + UInt64($0.offset) * 10, $0.element) }
            try await server.ingest(ExportLogsServiceRequest(resourceLogs: [
                ResourceLogs(resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("packer"))]),
                             scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "packer"), logRecords: packed)]),
                ResourceLogs(resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("api"))]),
                             scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "api.http"), logRecords: api)]),
                ResourceLogs(resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("worker"))]),
                             scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "worker.jobs"), logRecords: worker)]),
            ]))
            try await body(server, data)
        }
    }

    /// The streams of a log query: each stream's labels and its lines.
    func streams(_ server: GrafanaTestServer, _ data: GrafanaDataset, _ query: String,
                 sourceLocation: SourceLocation = #_sourceLocation) async throws -> [([String: String], [String])] {
        let answer = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([
            ("direction", "backward"), ("end", data.endNanos), ("limit", "1000"), ("query", query), ("start", data.startNanos)]))
        #expect(answer.status == 200, "\(query): \(answer.body)", sourceLocation: sourceLocation)
        let result = (answer.json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        return result.map { (($0["stream"] as? [String: String]) ?? [:], ($0["values"] as? [[String]] ?? []).map { $0[1] }) }
    }

    func lines(_ server: GrafanaTestServer, _ data: GrafanaDataset, _ query: String,
               sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String] {
        try await streams(server, data, query, sourceLocation: sourceLocation).flatMap(\.1).sorted()
    }

    /// An instant metric query at `now`: each series' labels and value.
    func instant(_ server: GrafanaTestServer, _ data: GrafanaDataset, _ query: String,
                 sourceLocation: SourceLocation = #_sourceLocation) async throws -> [([String: String], Double)] {
        let answer = try await server.get("/loki/api/v1/query?" + FormEncoding.query([("query", query), ("time", String(data.now / Self.second))]))
        #expect(answer.status == 200, "\(query): \(answer.body)", sourceLocation: sourceLocation)
        let result = (answer.json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        return result.map { (($0["metric"] as? [String: String]) ?? [:], Double(($0["value"] as? [Any])?.last as? String ?? "") ?? .nan) }
    }

    func values(_ series: [([String: String], Double)], by label: String) -> [String: Double] {
        Dictionary(series.map { ($0.0[label] ?? "", $0.1) }, uniquingKeysWith: { first, _ in first })
    }

    static func api(_ indices: Int...) -> [String] { indices.map { apiLines[$0 - 1] }.sorted() }
    static func worker(_ indices: Int...) -> [String] { indices.map { workerLines[$0 - 1] }.sorted() }

    // MARK: Parsers and label filters

    @Test(arguments: StoreKind.available)
    func parsersExtractAndTypedFiltersSelect(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let cases: [(String, [String])] = [
                // json: fields, nested keys joined with `_`, parameters with paths.
                (#"{service_name="api"} | json | status="500""#, Self.api(1)),
                (#"{service_name="api"} | json | req_path="/pay""#, Self.api(3)),
                (#"{service_name="api"} | json p="req.path", first_tag="tags[0]" | first_tag="a" | p="/cart""#, Self.api(1)),
                (#"{service_name="api"} | json | req_id=~"[34]""#, Self.api(3, 4)),
                // Typed filters: numbers, durations, byte sizes.
                (#"{service_name="api"} | json | __error__="" | status >= 400"#, Self.api(1, 4)),
                (#"{service_name="api"} | json | __error__="" | status == 200"#, Self.api(2, 3)),
                (#"{service_name="api"} | json | __error__="" | latency > 100ms"#, Self.api(1, 3)),
                (#"{service_name="api"} | json | __error__="" | size >= 2KB"#, Self.api(1, 3)),
                (#"{service_name="api"} | json | __error__="" | size < 1KiB"#, Self.api(2, 4)),
                // and, `,`, or, parentheses (and binds tighter).
                (#"{service_name="api"} | json | method="GET" and status != 200"#, Self.api(1, 4)),
                (#"{service_name="api"} | json | method="GET", latency < 100ms"#, Self.api(2, 4)),
                // A typed filter keeps a line marked with an error (the plain line), as Loki does.
                (#"{service_name="api"} | json | status=404 or req_path="/pay""#, Self.api(3, 4) + [Self.plainLine]),
                (#"{service_name="api"} | json | (status=500 or status=404) and method="GET""#, Self.api(1, 4)),
                (#"{service_name="api"} | json | method="POST" or method="GET" and status=500"#, Self.api(1, 3)),
                // A line that is not JSON keeps `__error__`; `__error__=""` drops it.
                (#"{service_name="api"} | json | __error__="JSONParserErr""#, [Self.plainLine]),
                (#"{service_name="api"} | json | __error__!="""#, [Self.plainLine]),
                // logfmt: a key named like a stream label gets `_extracted`.
                (#"{service_name="worker"} | logfmt | job="email" and attempts > 1"#, Self.worker(2)),
                (#"{service_name="worker"} | logfmt | level_extracted="error""#, Self.worker(2)),
                (#"{service_name="worker"} | logfmt | duration >= 2s"#, Self.worker(1, 3)),
                (#"{service_name="worker"} | logfmt j="job" | j="report""#, Self.worker(3)),
                (#"{service_name="worker"} | logfmt --strict --keep-empty | msg="sent mail""#, Self.worker(1)),
                // regexp and pattern.
                (#"{service_name="worker"} | regexp "job=(?P<job>\\w+) duration=(?P<d>\\S+)" | d="10s""#, Self.worker(3)),
                (#"{service_name="worker"} | pattern "level=<_> job=<job> duration=<d> <_>" | job="email" | d="500ms""#, Self.worker(2)),
                // Line filters before (in the store) and after a parser.
                (#"{service_name="api"} |= "GET" | json | status=200"#, Self.api(2)),
                (#"{service_name="api"} | json | status=200 |= "POST""#, Self.api(3)),
                // line_format and label_format.
                (#"{service_name="api"} | json | __error__="" | status=200 | line_format "{{.method}} {{.req_path}} {{.status}}""#, ["GET /cart 200", "POST /pay 200"]),
                (#"{service_name="api"} | json | line_format "{{.method | lower}}" |= "post""#, ["post"]),
                (#"{service_name="api"} | json | label_format route=req_path | route="/missing""#, Self.api(4)),
                (#"{service_name="worker"} | logfmt | label_format who=`{{ .job | ToUpper }}-{{.attempts}}` | who="EMAIL-3""#, Self.worker(2)),
                (#"{service_name="worker"} | logfmt | line_format `{{ default "none" .missing }} {{ __line__ | contains "smtp" }}` |= "true""#, ["none true"]),
                (#"{service_name="worker"} | logfmt | drop job | job="""#, Self.worker(1, 2, 3)),
            ]
            for (query, expected) in cases {
                #expect(try await lines(server, data, query) == expected.sorted(), "\(query)")
            }
            // Extracted labels are stream labels of the answer; keep leaves only those named.
            let kept = try await streams(server, data, #"{service_name="worker"} | logfmt | keep job, attempts | job="report""#)
            #expect(kept.map(\.0) == [["job": "report", "attempts": "1"]])
            let parsed = try await streams(server, data, #"{service_name="api"} | json | status="404""#)
            #expect(parsed.first?.0["req_path"] == "/missing" && parsed.first?.0["service_name"] == "api" && parsed.first?.0["status"] == "404",
                    "\(parsed)")
        }
    }

    // MARK: Metric queries

    @Test(arguments: StoreKind.available)
    func unwrappedRangeFunctionsAndOperators(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let apiOK = #"{service_name="api"} | json | __error__="""#
            let worker = #"{service_name="worker"} | logfmt"#
            #expect(values(try await instant(server, data, #"sum by (status) (count_over_time(\#(apiOK) [10m]))"#), by: "status")
                == ["200": 2, "404": 1, "500": 1])
            #expect(try await instant(server, data, #"sum(sum_over_time(\#(worker) | unwrap attempts [10m]))"#).map(\.1) == [5])
            #expect(values(try await instant(server, data, #"avg_over_time(\#(worker) | unwrap duration(duration) [10m]) by (job)"#), by: "job")
                == ["email": 1.25, "report": 10])
            #expect(values(try await instant(server, data, #"max_over_time(\#(worker) | unwrap duration_seconds(duration) [10m]) by (job)"#), by: "job")
                == ["email": 2, "report": 10])
            #expect(values(try await instant(server, data, #"min_over_time(\#(worker) | unwrap duration(duration) [10m]) by (job)"#), by: "job")
                == ["email": 0.5, "report": 10])
            // Latencies 5ms, 50ms, 250ms, 1.5s: the median between 50 and 250 ms.
            let median = try await instant(server, data, #"quantile_over_time(0.5, \#(apiOK) | unwrap duration(latency) [10m]) by (service_name)"#)
            #expect(median.count == 1 && abs(median[0].1 - 0.15) < 1e-9 && median[0].0 == ["service_name": "api"], "\(median)")
            #expect(values(try await instant(server, data, #"sum by (method) (sum_over_time(\#(apiOK) | unwrap bytes(size) [10m]))"#), by: "method")
                == ["GET": 2612, "POST": 10000])
            // Attempts 1, 3, 1: variance 8/9.
            let variance = try await instant(server, data, #"stdvar_over_time(\#(worker) | unwrap attempts [10m]) by (service_name)"#)
            #expect(variance.count == 1 && abs(variance[0].1 - 8.0 / 9) < 1e-9, "\(variance)")
            let deviation = try await instant(server, data, #"stddev_over_time(\#(worker) | unwrap attempts [10m]) by (service_name)"#)
            #expect(deviation.count == 1 && abs(deviation[0].1 - (8.0 / 9).squareRoot()) < 1e-9, "\(deviation)")
            #expect(values(try await instant(server, data, #"first_over_time(\#(worker) | unwrap attempts [10m]) by (job)"#), by: "job") == ["email": 1, "report": 1])
            #expect(values(try await instant(server, data, #"last_over_time(\#(worker) | unwrap attempts [10m]) by (job)"#), by: "job") == ["email": 3, "report": 1])
            let rate = try await instant(server, data, #"sum(rate(\#(worker) | unwrap attempts [10m]))"#)
            #expect(rate.count == 1 && abs(rate[0].1 - 5.0 / 600) < 1e-12, "\(rate)")
            // Without a grouping, a series per label set, without the unwrapped label.
            let perLine = try await instant(server, data, #"sum_over_time(\#(worker) | keep job, attempts | unwrap attempts [10m])"#)
            #expect(Set(perLine.map(\.0)) == [["job": "email"], ["job": "report"]], "\(perLine)")
            // A label filter after unwrap.
            #expect(try await instant(server, data, #"sum(sum_over_time(\#(worker) | unwrap attempts | job="email" [10m]))"#).map(\.1) == [4])

            // topk, bottomk, sort, sort_desc, comparisons with and without bool.
            let perJob = #"sum by (job) (count_over_time(\#(worker) [10m]))"#
            #expect(try await instant(server, data, "topk(1, \(perJob))").map { $0.0["job"] ?? "" } == ["email"])
            #expect(try await instant(server, data, "bottomk(1, \(perJob))").map { $0.0["job"] ?? "" } == ["report"])
            #expect(try await instant(server, data, "sort_desc(\(perJob))").map { $0.0["job"] ?? "" } == ["email", "report"])
            #expect(try await instant(server, data, "sort(\(perJob))").map { $0.0["job"] ?? "" } == ["report", "email"])
            #expect(values(try await instant(server, data, "\(perJob) > 1"), by: "job") == ["email": 2])
            #expect(values(try await instant(server, data, "\(perJob) > bool 1"), by: "job") == ["email": 1, "report": 0])
            #expect(values(try await instant(server, data, "\(perJob) == 1"), by: "job") == ["report": 1])
            #expect(try await instant(server, data, "topk by (service_name) (1, count_over_time(\(worker) | drop level_extracted, msg, duration, attempts, level, detected_level [10m]))")
                .map { $0.0["job"] ?? "" } == ["email"])

            // offset: the worker's lines are 4m35s to 5m before now, in the store's buckets and in the pipeline.
            #expect(try await instant(server, data, #"sum(count_over_time({service_name="worker"}[1m] offset 4m))"#).map(\.1) == [3])
            #expect(try await instant(server, data, #"sum(count_over_time({service_name="worker"}[1m] offset 5m))"#).isEmpty)
            #expect(try await instant(server, data, #"sum(count_over_time(\#(worker) [1m] offset 4m))"#).map(\.1) == [3])
            #expect(try await instant(server, data, #"sum(count_over_time(\#(worker) | job="email" [1m] offset 4m))"#).map(\.1) == [2])

            // A range query through the pipeline: one point a minute, the lines in their minute.
            let range = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([
                ("query", #"sum by (job) (count_over_time(\#(worker) [1m]))"#), ("start", String(data.now / Self.second - 600)),
                ("end", String(data.now / Self.second)), ("step", "60")]))
            let matrix = ((range.json?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
            let totals = Dictionary(matrix.map { (($0["metric"] as? [String: String])?["job"] ?? "",
                                                  ($0["values"] as? [[Any]] ?? []).compactMap { Double($0[1] as? String ?? "") }.reduce(0, +)) },
                                    uniquingKeysWith: +)
            #expect(totals == ["email": 2, "report": 1], "\(range.body)")

            // Lines a parser could not read fail a metric query, as in Loki, until filtered out.
            for (query, named) in [(#"sum(count_over_time({service_name="api"} | json [10m]))"#, "JSONParserErr"),
                                   (#"sum(sum_over_time(\#(apiOK) | unwrap method [10m]))"#, "SampleExtractionErr")] {
                let answer = try await server.get("/loki/api/v1/query?" + FormEncoding.query([("query", query), ("time", String(data.now / Self.second))]))
                #expect(answer.status == 400 && (answer.json?["message"] as? String)?.contains(named) == true, "\(query): \(answer.body)")
            }
            #expect(try await instant(server, data, #"sum(sum_over_time(\#(apiOK) | unwrap method | __error__="" [10m]))"#).isEmpty)
        }
    }

    /// Vector matching (`on`, `ignoring`, `group_left`, `group_right`), the set operators,
    /// `label_replace`, `absent_over_time`, `rate_counter`, `quantile`, `count_values`, `group`
    /// and `| unpack`, each with a known answer.
    @Test(arguments: StoreKind.available)
    func vectorMatchingSetOperatorsAndFunctions(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let both = #"count_over_time({service_name=~"api|worker"}[10m])"#
            // api: 5 info lines; worker: 2 info, 1 error.
            let byLevel = "sum by (service_name, level) (\(both))"
            let byService = "sum by (service_name) (\(both))"
            let workerErrors = #"sum by (service_name, level) (count_over_time({service_name="worker", level="error"}[10m]))"#
            func keyed(_ series: [([String: String], Double)]) -> [String: Double] {
                Dictionary(series.map { (Self.text($0.0), $0.1) }, uniquingKeysWith: { first, _ in first })
            }
            let cases: [(String, [String: Double])] = [
                // Many-to-one and one-to-many: the "many" side's labels, the one side's value.
                ("\(byLevel) / on(service_name) group_left \(byService)",
                 [#"{level="info", service_name="api"}"#: 1, #"{level="info", service_name="worker"}"#: 2.0 / 3, #"{level="error", service_name="worker"}"#: 1.0 / 3]),
                ("\(byService) / on(service_name) group_right \(byLevel)",
                 [#"{level="info", service_name="api"}"#: 1, #"{level="info", service_name="worker"}"#: 1.5, #"{level="error", service_name="worker"}"#: 3]),
                // ignoring: one-to-one without the ignored label; group_left(level) copies it.
                ("\(workerErrors) + ignoring(level) \(byService)", [#"{service_name="worker"}"#: 4]),
                ("\(byService) * on(service_name) group_left(level) \(workerErrors)", [#"{level="error", service_name="worker"}"#: 3]),
                ("\(byLevel) > bool on(service_name) group_left \(byService) / 2",
                 [#"{level="info", service_name="api"}"#: 1, #"{level="info", service_name="worker"}"#: 1, #"{level="error", service_name="worker"}"#: 0]),
                // Set operators.
                (#"\#(byService) and sum by (service_name) (count_over_time({service_name="worker"}[10m]))"#, [#"{service_name="worker"}"#: 3]),
                (#"\#(byService) unless sum by (service_name) (count_over_time({service_name="worker"}[10m]))"#, [#"{service_name="api"}"#: 5]),
                (#"sum by (service_name) (count_over_time({service_name="api"}[10m])) or on(service_name) \#(byLevel)"#,
                 [#"{service_name="api"}"#: 5, #"{level="info", service_name="worker"}"#: 2, #"{level="error", service_name="worker"}"#: 1]),
                ("\(byLevel) and on(level) \(workerErrors)", [#"{level="error", service_name="worker"}"#: 1]),
                (#"sum(count_over_time({service_name="nothing"}[10m])) or vector(0)"#, ["{}": 0]),
                // label_replace: `$1` of the fully anchored expression; an empty result removes the label.
                (#"label_replace(\#(byService), "svc", "s-$1", "service_name", "(a.*)")"#,
                 [#"{service_name="api", svc="s-api"}"#: 5, #"{service_name="worker"}"#: 3]),
                (#"label_replace(\#(byService), "service_name", "", "service_name", "api")"#, ["{}": 5, #"{service_name="worker"}"#: 3]),
                // absent_over_time: 1 with the selector's `=` labels when nothing matched.
                (#"absent_over_time({service_name="nothing", level="info", logger=~".+"}[10m])"#, [#"{level="info", service_name="nothing"}"#: 1]),
                (#"absent_over_time({service_name="api"}[10m])"#, [:]),
                (#"absent_over_time({service_name="api"} | json | __error__="" | status="999" [10m])"#, [#"{service_name="api"}"#: 1]),
                // rate_counter: attempts 1, 3, 1 at 5 s, 15 s, 25 s: a reset, an increase of 3
                // extrapolated to 4 (Loki's extrapolation), over 600 s.
                (#"rate_counter({service_name="worker"} | logfmt | keep attempts | unwrap attempts [10m])"#, ["{}": 4.0 / 600]),
                // quantile, count_values, group.
                ("quantile(0.5, \(byLevel))", ["{}": 2]),
                ("quantile by (service_name) (0.5, \(byLevel))", [#"{service_name="api"}"#: 5, #"{service_name="worker"}"#: 1.5]),
                (#"count_values("n", count_over_time({service_name="worker"} | logfmt | keep job, level_extracted [10m]))"#, [#"{n="1"}"#: 3]),
                (#"count_values("n", \#(byLevel)) by (service_name)"#,
                 [#"{n="5", service_name="api"}"#: 1, #"{n="2", service_name="worker"}"#: 1, #"{n="1", service_name="worker"}"#: 1]),
                ("group by (service_name) (\(byLevel))", [#"{service_name="api"}"#: 1, #"{service_name="worker"}"#: 1]),
            ]
            for (query, expected) in cases {
                let found = keyed(try await instant(server, data, query))
                #expect(Set(found.keys) == Set(expected.keys), "\(query): \(found)")
                for (labels, value) in expected {
                    #expect(abs((found[labels] ?? .nan) - value) < 1e-9, "\(query): \(labels) \(found[labels] ?? .nan), expected \(value)")
                }
            }
            // Ambiguous pairings fail as in PromQL.
            for (query, named) in [("\(byLevel) / on(service_name) \(byService)", "many-to-one matching must be explicit"),
                                   ("\(byService) / on(service_name) group_left \(byLevel)", "found duplicate series for the match group"),
                                   ("\(byLevel) and on(service_name) group_left \(byService)", "no grouping allowed for \"and\""),
                                   ("vector(1) or 2", "not allowed in binary scalar expression")] {
                let answer = try await server.get("/loki/api/v1/query?" + FormEncoding.query([("query", query), ("time", String(data.now / Self.second))]))
                #expect(answer.status == 400 && (answer.json?["message"] as? String)?.contains(named) == true, "\(query): \(answer.body)")
            }
            // unpack: the packed line's `_entry` becomes the line and its string fields labels.
            #expect(try await lines(server, data, #"{service_name="packer"} | unpack"#) == ["GET /x 200", Self.packedLines[1]].sorted())
            let unpacked = try await streams(server, data, #"{service_name="packer"} | unpack | pod="p-1""#)
            #expect(unpacked.map(\.1) == [["GET /x 200"]])
            #expect(unpacked.first?.0["container"] == "web" && unpacked.first?.0["n"] == nil, "\(unpacked)")
        }
    }

    static func text(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ", ") + "}"
    }

    // MARK: Grafana 11's query builder

    /// The queries Grafana 11's Loki query builder writes for its parser and filter steps
    /// (label filters with back-quoted values and spaces around the operator; numeric
    /// comparisons bare; `label_format` as `new=old`), sent as its backend sends them.
    @Test(arguments: StoreKind.available)
    func queryBuilderSteps(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let cases: [(String, [String])] = [
                ("{service_name=`api`} |= `GET` | json | status = `500`", Self.api(1)),
                ("{service_name=`api`} | json | __error__=`` | status > 300", Self.api(1, 4)),
                ("{service_name=`api`} | json | __error__=`` | latency >= 250ms", Self.api(1, 3)),
                ("{service_name=`worker`} | logfmt | job =~ `rep.*`", Self.worker(3)),
                ("{service_name=`worker`} | logfmt | label_format task=job | task = `report`", Self.worker(3)),
                ("{service_name=`worker`} | regexp `attempts=(?P<attempts>\\d+)` | attempts > 2", Self.worker(2)),
                ("{service_name=`worker`} | pattern `<_> job=<job> <_>` | job != `email`", Self.worker(3)),
                ("{service_name=`worker`} | logfmt | line_format `{{.job}}` |= `report`", ["report"]),
                ("{service_name=`api`} | json | keep status, method | drop method | status = `404`", Self.api(4)),
                ("{service_name=`api`} | decolorize | json | method = `POST`", Self.api(3)),
            ]
            for (query, expected) in cases {
                let answer = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([
                    ("direction", "backward"), ("end", data.endNanos), ("limit", "1000"), ("query", query),
                    ("start", data.startNanos), ("step", "2000ms")]))
                #expect(answer.status == 200, "\(query): \(answer.body)")
                let result = (answer.json?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
                #expect(result.flatMap { ($0["values"] as? [[String]] ?? []).map { $0[1] } }.sorted() == expected.sorted(), "\(query)")
            }
            // Its metric steps: a quantile over an unwrapped duration with `$__auto` as the range.
            let quantile = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([
                ("query", "quantile_over_time(0.99, {service_name=`api`} | json | __error__=`` | unwrap duration(latency) [10m]) by (method)"),
                ("start", String(data.now / Self.second - 60)), ("end", String(data.now / Self.second)), ("step", "60s")]))
            #expect(quantile.status == 200, "\(quantile.body)")
            let series = ((quantile.json?["data"] as? [String: Any])?["result"] as? [[String: Any]]) ?? []
            #expect(Set(series.compactMap { ($0["metric"] as? [String: String])?["method"] }) == ["GET", "POST"], "\(quantile.body)")
        }
    }

    // MARK: Not supported

    @Test func whatIsNotSupportedAnswers400NamingIt() async throws {
        try await GrafanaTestServer.with(.sqlite) { server in
            for (query, named) in [
                (#"label_join(vector(1), "a", ",", "b")"#, "unsupported function label_join"),
                (#"vector(1) + group_left vector(1)"#, "group_left needs on(…) or ignoring(…)"),
                (#"{service_name="api"} | line_format "{{- .x }}""#, "\"-\" is not supported"),
                (#"{service_name="api"} | line_format "{{ with .x }}{{ end }}""#, "\"with\" is not supported"),
                (#"{service_name="api"} | line_format "{{ if .x }}y{{ end }}""#, "\"if\" is not supported"),
                (#"{service_name="api"} | line_format `{{ printf "%s" .x }}`"#, "\"printf\" is not supported"),
                (#"{service_name="api"} | logfmt --loose"#, "--loose"),
                (#"sum_over_time({service_name="api"} | logfmt | unwrap seconds(x) [1m])"#, "unwrap conversion \"seconds\""),
                (#"{service_name="api"} | json | unwrap x"#, "unwrap is only allowed in a range function"),
                (#"count_over_time({service_name="api"}[1m] @ 100)"#, "unexpected character \"@\""),
            ] {
                let answer = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([("query", query)]))
                #expect(answer.status == 400, "\(query): \(answer.status)")
                #expect((answer.json?["message"] as? String)?.contains(named) == true, "\(query): \(answer.body)")
            }
            // Endpoints that read what the store selects refuse filters that run after a parser.
            let volume = try await server.get("/loki/api/v1/index/stats?" + FormEncoding.query([("query", #"{service_name="api"} | json | status="500""#)]))
            #expect(volume.status == 400 && (volume.json?["message"] as? String)?.contains("query and query_range only") == true, "\(volume.body)")
        }
    }
}

/// Logs Drilldown's *Fields* tab: the fields `json` and `logfmt` extract, typed.
@Suite struct LokiDetectedFieldsTests {
    @Test(arguments: StoreKind.available)
    func fieldsParsedOutOfLines(_ kind: StoreKind) async throws {
        try await LogQLConformanceTests().withData(kind) { server, data in
            func fields(_ query: String) async throws -> [String: String] {
                let answer = try await server.get("/loki/api/v1/detected_fields?" + FormEncoding.query([
                    ("query", query), ("start", data.startNanos), ("end", data.endNanos)]))
                #expect(answer.status == 200, "\(answer.body)")
                let found = answer.json?["fields"] as? [[String: Any]] ?? []
                return Dictionary(uniqueKeysWithValues: found.map { field in
                    (field["label"] as? String ?? "",
                     "\(field["type"] ?? ""):\(field["cardinality"] ?? ""):\((field["parsers"] as? [String])?.joined(separator: ",") ?? "-")")
                })
            }
            let worker: [String: String] = [
                "level": "string:2:logfmt", "job": "string:2:logfmt", "duration": "duration:3:logfmt", "attempts": "int:2:logfmt", "msg": "string:3:logfmt"]
            let workerFields = try await fields(#"{service_name="worker"}"#)
            #expect(workerFields == worker)
            let api: [String: String] = [
                "status": "int:3:json", "method": "string:2:json", "latency": "duration:4:json", "size": "bytes:4:json",
                "req_path": "string:3:json", "req_id": "int:4:json"]
            let apiFields = try await fields(#"{service_name="api"}"#)
            #expect(apiFields == api)
        }
    }
}

/// Logs Drilldown's *Patterns* tab.
@Suite struct LokiPatternsTests {
    @Test func linesOfOneShapeShareAPattern() {
        var patterns = LogPatterns()
        for (index, line) in ["GET /cart 200 12ms", "GET /cart 500 80ms", "POST /pay 200 5ms", "cache warm"].enumerated() {
            patterns.add(line, nanos: Int64(index), level: index == 1 ? "error" : "info")
        }
        #expect(patterns.patterns.map(\.text) == ["GET /cart <_> <_>", "POST /pay <_> <_>", "cache warm"])
        #expect(patterns.patterns.map(\.times) == [[0, 1], [2], [3]])
        #expect(patterns.patterns.map(\.level) == [nil, "info", "info"])
    }

    @Test(arguments: StoreKind.available)
    func patternsInTheShapeGrafanaReads(_ kind: StoreKind) async throws {
        try await LogQLConformanceTests().withData(kind) { server, data in
            let answer = try await server.get("/loki/api/v1/patterns?" + FormEncoding.query([
                ("query", #"{service_name="api"}"#), ("start", data.startNanos), ("end", data.endNanos), ("step", "60s")]))
            #expect(answer.status == 200, "\(answer.body)")
            #expect(answer.json?["status"] as? String == "success")
            let found = try #require(answer.json?["data"] as? [[String: Any]], "\(answer.body)")
            // The JSON lines are one token with digits each; the plain line is its own pattern.
            #expect(found.map { $0["pattern"] as? String } == ["<_>", LogQLConformanceTests.plainLine])
            let samples = found.map { ($0["samples"] as? [[Int]] ?? []).reduce(0) { $0 + $1[1] } }
            #expect(samples == [4, 1], "\(answer.body)")
            #expect(found.first?["level"] as? String == "info")
        }
    }
}
