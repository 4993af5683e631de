import Foundation
import Hummingbird
import Logging
import OTLP
import Store

/// Loki's query API over `enterprise.structured_logs` (DESIGN §5), for Grafana's Loki data
/// source: `/loki/api/v1/query_range`, `/query`, `/labels`, `/label/{name}/values`, `/series`,
/// `/index/stats`, `/status/buildinfo` (the tail WebSocket is `LokiTailEndpoint`).
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
    static let defaultRange: Int64 = 3_600_000_000_000
    static let version = "3.0.0"

    let store: any TelemetryStore
    let logger: Logger

    public init(store: any TelemetryStore, logger: Logger) {
        self.store = store
        self.logger = logger
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
        // Upgraded to a WebSocket before routing (`LokiTail.route`); plain requests end here.
        router.get(RouterPath(LokiTail.path)) { request, _ in LokiTail.refusal(request) }
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

    func read(_ query: ReadQuery) async throws(GrafanaFailure) -> [ResultRow] {
        do {
            return try await store.read(query)
        } catch {
            logger.warning("loki query failed", metadata: ["error": "\(error)", "reason": "\((error as? StoreError)?.reason ?? "")"])
            throw .read(error)
        }
    }

    static func parse(_ text: String?, name: String = "query") throws(GrafanaFailure) -> LogQLQuery {
        guard let text else { throw .badParameter(name, "required") }
        do {
            return try LogQLQuery.parse(text)
        } catch {
            throw GrafanaFailure(.badRequest, error.description)
        }
    }

    static func parseSelector(_ text: String, name: String) throws(GrafanaFailure) -> LogSelector {
        do {
            return try LogQLQuery.parseSelector(text)
        } catch {
            throw GrafanaFailure(.badRequest, "\(name): \(error.description)")
        }
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
        let evaluator = MetricEvaluator(steps: steps) { selector, labels, origin, width in
            try await self.bucketCounts(selector, labels: labels, origin: origin, last: steps.last, width: width)
        }
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
        var sql = SQLBuilder(store.dialect)
        let bucketOrigin = sql.bind(origin)
        let bucketWidth = sql.bind(width)
        var labelColumns: [String] = []
        for (index, label) in labels.enumerated() {
            labelColumns.append("\(LokiLabels.valueSQL(label, &sql) ?? "NULL") AS g\(index)")
        }
        let from = sql.bindTime(unixNano: origin - 1_000)
        let to = sql.bindTime(unixNano: last + 1_000)
        let filter = selector.sql(&sql)
        let after = sql.bind(origin)
        let until = sql.bind(last)
        let groups = labels.indices.map { "x.g\($0)" }
        let inner = (labelColumns + ["\(LokiLabels.nanosSQL(store.dialect)) AS ns", "\(LokiLabels.bytesSQL(store.dialect)) AS bytes"]).joined(separator: ", ")
        let limit = sql.bind(Int64(maxRows + 1))
        let text = """
            SELECT \((groups + ["(x.ns - \(bucketOrigin) - 1) / \(bucketWidth) AS bucket", "count(*) AS lines", "sum(x.bytes) AS bytes"]).joined(separator: ", "))
            FROM (SELECT \(inner) FROM enterprise.structured_logs l
                  WHERE l.timestamp > \(from) AND l.timestamp <= \(to) AND \(filter)) x
            WHERE x.ns > \(after) AND x.ns <= \(until)
            GROUP BY \((1...(labels.count + 1)).map(String.init).joined(separator: ", "))
            LIMIT \(limit)
            """
        let rows = try await read(sql.query(text))
        guard rows.count <= maxRows else {
            throw GrafanaFailure(.badRequest, "the query spans more than \(maxRows) series buckets; use a larger step or fewer labels")
        }
        var series: [[String: String]: BucketCounts] = [:]
        var order: [[String: String]] = []
        for row in rows {
            var labelSet: [String: String] = [:]
            for (index, label) in labels.enumerated() {
                if let value = row["g\(index)"].text, !value.isEmpty { labelSet[label] = value }
            }
            guard let bucket = row["bucket"].int else { continue }
            if series[labelSet] == nil {
                order.append(labelSet)
                series[labelSet] = BucketCounts(labels: labelSet)
                guard order.count <= MetricEvaluator.maxSeries else {
                    throw GrafanaFailure(.badRequest, "maximum of series (\(MetricEvaluator.maxSeries)) reached for a single query; group by fewer labels")
                }
            }
            let previous = series[labelSet]!.buckets[bucket] ?? (0, 0)
            series[labelSet]!.buckets[bucket] = (previous.lines + (row["lines"].double ?? 0), previous.bytes + (row["bytes"].double ?? 0))
        }
        return order.map { series[$0]! }
    }

    /// One log line with its stream's labels.
    struct Line {
        var nanos: Int64
        var text: String
        var labels: [String: String]
    }

    /// The lines `selector` selects with `from ≤ time < toExclusive`, newest (or oldest) first.
    func lines(_ selector: LogSelector, from: Int64, toExclusive: Int64, limit: Int, backward: Bool) async throws(GrafanaFailure) -> [Line] {
        var sql = SQLBuilder(store.dialect)
        let nanos = LokiLabels.nanosSQL(store.dialect)
        let lower = sql.bindTime(unixNano: from - 1_000)
        let upper = sql.bindTime(unixNano: toExclusive + 1_000)
        let filter = selector.sql(&sql)
        let exactFrom = sql.bind(from)
        let exactTo = sql.bind(toExclusive)
        let limitPlaceholder = sql.bind(Int64(limit))
        let order = backward ? "DESC" : "ASC"
        let text = """
            SELECT \(nanos) AS ns, l.message, l.service_name, l.level, l.logger_name, l.trace_id, l.resource
            FROM enterprise.structured_logs l
            WHERE l.timestamp >= \(lower) AND l.timestamp <= \(upper) AND \(filter)
              AND \(nanos) >= \(exactFrom) AND \(nanos) < \(exactTo)
            ORDER BY l.timestamp \(order), ns \(order)
            LIMIT \(limitPlaceholder)
            """
        let rows = try await read(sql.query(text))
        var resources: [String: [String: String]] = [:]
        return rows.map { row in
            Line(nanos: row["ns"].int ?? 0, text: row["message"].text ?? "", labels: Self.streamLabels(row, resources: &resources))
        }
    }

    /// The labels of a row read with service_name, level, logger_name, trace_id, resource;
    /// `resources` remembers the labels of each resource text already read.
    static func streamLabels(_ row: ResultRow, resources: inout [String: [String: String]]) -> [String: String] {
        var labels: [String: String] = [:]
        if let service = row["service_name"].text, !service.isEmpty { labels["service_name"] = service }
        if let level = row["level"].text { labels["level"] = LokiLabels.levelName(level) }
        if let logger = row["logger_name"].text, !logger.isEmpty { labels["logger"] = logger }
        if let trace = row["trace_id"].text, !trace.isEmpty { labels["trace_id"] = trace }
        if let resource = row["resource"].text, resource.contains("\"attributes\"") {
            if resources[resource] == nil { resources[resource] = resourceLabels(resource) }
            for (name, value) in resources[resource]! { labels[name] = value }
        }
        return labels
    }

    /// The resource attributes of `LokiLabels.resourceLabels` in an OTLP/JSON resource object.
    static func resourceLabels(_ json: String) -> [String: String] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
              let attributes = object["attributes"] as? [[String: Any]] else { return [:] }
        var labels: [String: String] = [:]
        for attribute in attributes {
            guard let key = attribute["key"] as? String,
                  let name = LokiLabels.resourceLabels.first(where: { $0.value == key })?.key,
                  let value = (attribute["value"] as? [String: Any])?["stringValue"] as? String, !value.isEmpty else { continue }
            labels[name] = value
        }
        return labels
    }

    // MARK: Responses

    static func streamsResponse(_ lines: [Line], backward: Bool, started: ContinuousClock.Instant) -> Response {
        var streams: [[String: String]: [Line]] = [:]
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
