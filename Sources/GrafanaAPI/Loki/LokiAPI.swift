import Foundation
import Hummingbird
import Logging
import OTLP
import Store

/// Loki's query API over the stored log records (`LokiQueries`, docs/grafana.md), for Grafana's
/// Loki data source: `/loki/api/v1/query_range`, `/query`, `/labels`, `/label/{name}/values`, `/series`,
/// `/index/stats`, `/index/volume`, `/index/volume_range`, `/detected_labels`, `/detected_fields`, `/patterns`, `/status/buildinfo` (the tail WebSocket is `LokiTail`).
///
/// Answers are Loki's `{"status": "success", "data": …}`; errors `{"code", "status": "error",
/// "message"}` with 400 for a bad query or parameter (a LogQL error says where: `parse error at
/// line 1, col 12: …`), 422 when it runs past the store's time limit for reads, 503 when the
/// store is busy or fails. Every read is bounded: at most `maxLines`
/// lines, `MetricEvaluator.maxSeries` series, `EvaluationSteps.maxPoints` points, `maxValues`
/// label values.
public struct LokiAPI: Sendable {
    public static let maxLines = 5000
    public static let defaultLines = 100
    public static let maxValues = 1000
    /// Label browsing and series look at the most recent rows of the range only.
    public static let sampleRows = 10_000
    /// The most lines a pipeline stage that runs in Sightline (a parser, `line_format`, `unwrap`,
    /// …) reads for one query.
    public static let maxPipelineLines = 100_000
    static let defaultRange: Int64 = 3_600_000_000_000
    static let version = "3.0.0"

    let loki: any LokiQueries
    let logger: Logger
    /// `maxPipelineLines`, smaller in tests.
    let pipelineLineLimit: Int

    public init(store: any TelemetryStore, logger: Logger) {
        self.init(loki: store.queries.loki, logger: logger)
    }

    init(loki: any LokiQueries, logger: Logger, pipelineLineLimit: Int = maxPipelineLines) {
        self.loki = loki
        self.logger = logger
        self.pipelineLineLimit = pipelineLineLimit
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/loki/api/v1/query_range") { request, _ in await respond { () async throws(GrafanaFailure) in try await queryRange(request) } }
        router.get("/loki/api/v1/query") { request, _ in await respond { () async throws(GrafanaFailure) in try await queryInstant(request) } }
        router.get("/loki/api/v1/labels") { request, _ in await respond { () async throws(GrafanaFailure) in try await labels(request) } }
        router.get("/loki/api/v1/label") { request, _ in await respond { () async throws(GrafanaFailure) in try await labels(request) } }
        router.get("/loki/api/v1/label/{name}/values") { request, context in
            let name = decodedPathSegment(context.parameters.get("name") ?? "")
            return await respond { () async throws(GrafanaFailure) in try await labelValues(request, name: name) }
        }
        router.get("/loki/api/v1/series") { request, _ in await respond { () async throws(GrafanaFailure) in try await series(FormParameters(request)) } }
        router.post("/loki/api/v1/series") { request, _ in
            var request = request
            let body = (try? await request.collectBody(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
            let form = FormParameters(query: (request.uri.query ?? "") + "&" + body)
            return await respond { () async throws(GrafanaFailure) in try await series(form) }
        }
        router.get("/loki/api/v1/index/volume") { request, _ in await respond { () async throws(GrafanaFailure) in try await volume(request, range: false) } }
        router.get("/loki/api/v1/index/volume_range") { request, _ in await respond { () async throws(GrafanaFailure) in try await volume(request, range: true) } }
        router.get("/loki/api/v1/detected_labels") { request, _ in await respond { () async throws(GrafanaFailure) in try await detectedLabels(request) } }
        router.get("/loki/api/v1/detected_fields") { request, _ in await respond { () async throws(GrafanaFailure) in try await detectedFields(request) } }
        router.get("/loki/api/v1/patterns") { request, _ in await respond { () async throws(GrafanaFailure) in try await patterns(request) } }
        router.get("/loki/api/v1/index/stats") { request, _ in await respond { () async throws(GrafanaFailure) in try await indexStats(request) } }
        router.get("/loki/api/v1/status/buildinfo") { _, _ in
            Response.json { body in
                body.key("version"); body.string(Self.version)
                body.key("revision"); body.string("sightline")
                body.key("branch"); body.string("")
                body.key("buildUser"); body.string("")
                body.key("buildDate"); body.string("")
                body.key("goVersion"); body.string("")
            }
        }
    }

    private func respond(_ body: () async throws(GrafanaFailure) -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return error.lokiResponse
        }
    }

    /// A store read; a failure is logged and answered as `GrafanaFailure.read` says.
    func reading<T>(_ read: () async throws -> T) async throws(GrafanaFailure) -> T {
        try await GrafanaFailure.reading(logger, "loki query failed", read)
    }

    static func parse(_ text: String?, name: String = "query") throws(GrafanaFailure) -> LogQLQuery {
        guard let text else { throw .badParameter(name, "required") }
        do {
            return try LogQLQuery.parse(text)
        } catch {
            throw GrafanaFailure(.badRequest, error.description)
        }
    }

    /// A selector for an endpoint that reads what the store selects (labels, series, volume,
    /// statistics): stages that only add labels or rewrite lines (parsers, formats) are
    /// ignored there; one that filters lines is refused (400), unless `runsStages`.
    static func parseSelector(_ text: String, name: String, runsStages: Bool = false) throws(GrafanaFailure) -> LogSelector {
        let selector: LogSelector
        do {
            selector = try LogQLQuery.parseSelector(text)
        } catch {
            throw GrafanaFailure(.badRequest, "\(name): \(error.description)")
        }
        guard runsStages || !selector.hasFilteringStages else {
            throw GrafanaFailure(.badRequest, "\(name): filters after a parser, line_format or label_format are supported by query and query_range only; filter lines (|=) or stream labels before them")
        }
        return selector
    }

    /// `start`/`end` (default: the hour before now), checked.
    static func range(_ form: FormParameters, defaultLength: Int64 = defaultRange) throws(GrafanaFailure) -> (start: Int64, end: Int64) {
        let end = try form.time("end") ?? Clock.nowNanos
        let start = try form.time("start") ?? (end - defaultLength)
        guard start <= end else { throw .badParameter("end", "must not be before start") }
        return (start, end)
    }

    static func direction(_ form: FormParameters) throws(GrafanaFailure) -> Bool {
        switch try form.text("direction")?.lowercased() {
        case nil, "backward": return true
        case "forward": return false
        default: throw .badParameter("direction", "must be forward or backward")
        }
    }

    // MARK: Queries

    /// `GET /loki/api/v1/query_range?query=&start=&end=&limit=&direction=&step=`
    func queryRange(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let query = try Self.parse(try form.text("query"))
        let (start, end) = try Self.range(form)
        let limit = try form.int("limit", default: Self.defaultLines, in: 1...Self.maxLines)
        let backward = try Self.direction(form)
        // Checked for log queries too, which do not use it.
        let defaultStep = max(1_000_000_000, ((end - start) / 250 / 1_000_000_000) * 1_000_000_000)
        var step = defaultStep
        if let given = try form.duration("step") {
            step = given
        } else if let given = try form.duration("interval") {
            step = given
        }
        guard step > 0 else { throw .badParameter("step", "must be positive") }
        let started = ContinuousClock.now
        switch query {
        case .logs(let selector):
            // Loki's range is start ≤ t < end for log queries.
            let lines = try await lines(selector, from: start, toExclusive: end, limit: limit, backward: backward)
            return Self.streamsResponse(lines, backward: backward, started: started)
        case .metric(let expression):
            guard (end - start) / step < Int64(EvaluationSteps.maxPoints) else {
                throw .badParameter("step", "exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter")
            }
            let steps = EvaluationSteps(start: start, end: end, step: step)
            let value = try await evaluate(expression, steps)
            return Self.metricResponse(value, steps: steps, instant: false, started: started)
        }
    }

    /// `GET /loki/api/v1/query?query=&time=&limit=&direction=` (Grafana's health check sends
    /// `vector(1)+vector(1)` here and expects one sample equal to 2).
    func queryInstant(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let query = try Self.parse(try form.text("query"))
        let time = try form.time("time") ?? Clock.nowNanos
        let limit = try form.int("limit", default: Self.defaultLines, in: 1...Self.maxLines)
        let backward = try Self.direction(form)
        let started = ContinuousClock.now
        switch query {
        case .logs(let selector):
            let lines = try await lines(selector, from: time - Self.defaultRange, toExclusive: time + 1, limit: limit, backward: backward)
            return Self.streamsResponse(lines, backward: backward, started: started)
        case .metric(let expression):
            // One instant; a day as the step keeps the store's buckets as wide as each range.
            let steps = EvaluationSteps(start: time, end: time, step: 86_400_000_000_000)
            let value = try await evaluate(expression, steps)
            return Self.metricResponse(value, steps: steps, instant: true, started: started)
        }
    }

    func evaluate(_ expression: MetricExpression, _ steps: EvaluationSteps) async throws(GrafanaFailure) -> MetricValue {
        let evaluator = MetricEvaluator(steps: steps, fetch: { selector, labels, origin, width, last in
            try await self.bucketCounts(selector, labels: labels, origin: origin, last: last, width: width)
        }, fetchLines: { selector, after, through in
            try await self.pipelineInput(selector, from: after + 1, toExclusive: through + 1)
        })
        do {
            return try await evaluator.evaluate(expression)
        } catch let failure as GrafanaFailure {
            throw failure
        } catch let error as MetricEvaluationError {
            throw GrafanaFailure(.badRequest, error.message)
        } catch {
            throw .storeUnavailable
        }
    }

    /// Lines and bytes per series and bucket, counted by the store.
    func bucketCounts(_ selector: LogSelector, labels: [String], origin: Int64, last: Int64, width: Int64) async throws(GrafanaFailure) -> [BucketCounts] {
        let maxRows = 200_000
        let query = LokiBucketQuery(selection: selector.selection, groupBy: labels, origin: origin, width: width, last: last, limit: maxRows + 1)
        let rows = try await reading { try await loki.bucketCounts(query) }
        guard rows.count <= maxRows else {
            throw GrafanaFailure(.badRequest, "the query spans more than \(maxRows) series buckets; use a larger step or fewer labels")
        }
        var series: [[String: String]: BucketCounts] = [:]
        var order: [[String: String]] = []
        for row in rows {
            if series[row.labels] == nil {
                order.append(row.labels)
                series[row.labels] = BucketCounts(labels: row.labels)
                guard order.count <= MetricEvaluator.maxSeries else {
                    throw GrafanaFailure(.badRequest, "maximum of series (\(MetricEvaluator.maxSeries)) reached for a single query; group by fewer labels")
                }
            }
            let previous = series[row.labels]!.buckets[row.bucket] ?? (0, 0)
            series[row.labels]!.buckets[row.bucket] = (previous.lines + row.lines, previous.bytes + row.bytes)
        }
        return order.map { series[$0]! }
    }

    /// The lines `selector` selects with `from ≤ time < toExclusive`, newest (or oldest) first.
    /// A pipeline with stages run here reads the store's lines in growing pages until `limit`
    /// lines come through it, over at most `maxPipelineLines` lines (422 beyond).
    func lines(_ selector: LogSelector, from: Int64, toExclusive: Int64, limit: Int, backward: Bool) async throws(GrafanaFailure) -> [LokiLine] {
        let selection = selector.selection
        guard !selector.stages.isEmpty else {
            return try await reading { try await loki.lines(selection, from: from, toExclusive: toExclusive, limit: limit, backward: backward) }
        }
        var page = min(max(limit * 4, 1_000), pipelineLineLimit)
        while true {
            let read = try await reading { try await loki.lines(selection, from: from, toExclusive: toExclusive, limit: page + 1, backward: backward) }
            var output: [LokiLine] = []
            for line in read.prefix(page) {
                let input = PipelineEntry(line)
                guard let entry = selector.stages.run(input, streamLabels: Set(input.labels.keys)) else { continue }
                output.append(entry.answer(from: line))
                if output.count == limit { return output }
            }
            guard read.count > page else { return output }
            guard page < pipelineLineLimit else { throw pipelineBoundFailure }
            page = min(page * 8, pipelineLineLimit)
        }
    }

    /// The lines a metric query's pipeline runs over (`from ≤ time < toExclusive`, oldest first),
    /// at most `maxPipelineLines` (422 beyond).
    func pipelineInput(_ selector: LogSelector, from: Int64, toExclusive: Int64) async throws(GrafanaFailure) -> [LokiLine] {
        let selection = selector.selection
        let read = try await reading { try await loki.lines(selection, from: from, toExclusive: toExclusive, limit: pipelineLineLimit + 1, backward: false) }
        guard read.count <= pipelineLineLimit else { throw pipelineBoundFailure }
        return read
    }

    var pipelineBoundFailure: GrafanaFailure {
        GrafanaFailure(.unprocessableContent,
                       "the query's pipeline (parsers, label filters on extracted labels, line_format, label_format, unwrap) runs in Sightline over at most \(pipelineLineLimit) lines, and more lines match before it; narrow the time range or filter lines before the parser (|= \"…\")")
    }

    // MARK: Responses

    static func streamsResponse(_ lines: [LokiLine], backward: Bool, started: ContinuousClock.Instant) -> Response {
        var streams: [[String: String]: [LokiLine]] = [:]
        var order: [[String: String]] = []
        for line in lines {
            if streams[line.labels] == nil { order.append(line.labels) }
            streams[line.labels, default: []].append(line)
        }
        let bytes = lines.reduce(0) { $0 + $1.text.utf8.count }
        return Response.json { body in
            body.key("status"); body.string("success")
            body.key("data")
            body.beginObject()
            body.key("resultType"); body.string("streams")
            body.key("result")
            body.beginArray()
            for labels in order {
                body.beginObject()
                body.key("stream"); writeLabels(labels, &body)
                body.key("values")
                body.beginArray()
                let entries = streams[labels]!.sorted { backward ? $0.nanos > $1.nanos : $0.nanos < $1.nanos }
                for entry in entries {
                    body.beginArray()
                    body.string(String(entry.nanos))
                    body.string(entry.text)
                    body.endArray()
                }
                body.endArray()
                body.endObject()
            }
            body.endArray()
            body.key("stats"); writeStats(lines: lines.count, bytes: bytes, returned: lines.count, started: started, &body)
            body.endObject()
        }
    }

    static func metricResponse(_ value: MetricValue, steps: EvaluationSteps, instant: Bool, started: ContinuousClock.Instant) -> Response {
        Response.json { body in
            body.key("status"); body.string("success")
            body.key("data")
            body.beginObject()
            switch value {
            case .scalar(let values) where instant:
                body.key("resultType"); body.string("scalar")
                body.key("result"); writeSample(steps.time(0), values[0], &body)
            case .scalar(let values):
                body.key("resultType"); body.string("matrix")
                body.key("result")
                body.beginArray()
                writeSeries(MetricSeries(labels: [:], values: values), steps: steps, &body)
                body.endArray()
            case .vector(let series) where instant:
                body.key("resultType"); body.string("vector")
                body.key("result")
                body.beginArray()
                for one in series {
                    guard let sample = one.values[0] else { continue }
                    body.beginObject()
                    body.key("metric"); writeLabels(one.labels, &body)
                    body.key("value"); writeSample(steps.time(0), sample, &body)
                    body.endObject()
                }
                body.endArray()
            case .vector(let series):
                body.key("resultType"); body.string("matrix")
                body.key("result")
                body.beginArray()
                for one in series.sorted(by: { $0.labels.sorted { $0.key < $1.key }.description < $1.labels.sorted { $0.key < $1.key }.description }) {
                    writeSeries(one, steps: steps, &body)
                }
                body.endArray()
            }
            body.key("stats"); writeStats(lines: 0, bytes: 0, returned: 0, started: started, &body)
            body.endObject()
        }
    }

    static func writeSeries(_ series: MetricSeries, steps: EvaluationSteps, _ body: inout JSONWriter) {
        body.beginObject()
        body.key("metric"); writeLabels(series.labels, &body)
        body.key("values")
        body.beginArray()
        for (index, value) in series.values.enumerated() {
            guard let value else { continue }
            writeSample(steps.time(index), value, &body)
        }
        body.endArray()
        body.endObject()
    }

    /// `[1700000000.123, "2"]`: Unix seconds (a number) and the value as Prometheus writes it.
    static func writeSample(_ nanos: Int64, _ value: Double, _ body: inout JSONWriter) {
        body.beginArray()
        body.rawValue(secondsText(nanos).utf8)
        body.string(valueText(value))
        body.endArray()
    }

    static func secondsText(_ nanos: Int64) -> String {
        let millis = nanos >= 0 ? nanos / 1_000_000 : (nanos - 999_999) / 1_000_000
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = millis - seconds * 1000
        guard fraction != 0 else { return String(seconds) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(seconds).\(digits)"
    }

    static func valueText(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func writeLabels(_ labels: [String: String], _ body: inout JSONWriter) {
        body.beginObject()
        for (name, value) in labels.sorted(by: { $0.key < $1.key }) {
            body.key(name); body.string(value)
        }
        body.endObject()
    }

    static func writeStats(lines: Int, bytes: Int, returned: Int, started: ContinuousClock.Instant, _ body: inout JSONWriter) {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        body.beginObject()
        body.key("summary")
        body.beginObject()
        body.key("bytesProcessedPerSecond"); body.int(seconds > 0 ? Int64(Double(bytes) / seconds) : 0)
        body.key("linesProcessedPerSecond"); body.int(seconds > 0 ? Int64(Double(lines) / seconds) : 0)
        body.key("totalBytesProcessed"); body.int(Int64(bytes))
        body.key("totalLinesProcessed"); body.int(Int64(lines))
        body.key("execTime"); body.double(seconds)
        body.key("queueTime"); body.int(0)
        body.key("subqueries"); body.int(0)
        body.key("totalEntriesReturned"); body.int(Int64(returned))
        body.endObject()
        body.endObject()
    }
}
