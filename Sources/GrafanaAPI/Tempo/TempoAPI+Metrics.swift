import Foundation
import Hummingbird
import OTLP
import Store

// TraceQL metrics: `GET /api/metrics/query_range?q=&start=&end=&step=&exemplars=` and
// `GET /api/metrics/query?q=&start=&end=`, answering Tempo's `QueryRangeResponse` /
// `QueryInstantResponse` JSON. The store counts the spans per step and group in SQL
// (`spanMetrics`) for one spanset filter; over spanset operators and pipelines the spans the
// query leaves are counted here (`spansetMetricRows`). `TraceQLMetricsEvaluation` turns the
// counts into series.

extension TempoAPI {
    /// Groups × steps (× buckets) the store may return for one query.
    public static let maxMetricRows = 200_000
    public static let defaultExemplars = 100

    func metrics(_ request: Request, instant: Bool) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        let alternative = try form.text("query")
        guard let q = try form.text("q") ?? alternative else { throw .badParameter("q", "required: a TraceQL metrics query such as {} | rate()") }
        let query: TraceQLQuery
        do {
            query = try TraceQLQuery.parse(q)
        } catch {
            throw GrafanaFailure(.badRequest, "q: \(error.description)")
        }
        guard let metrics = query.metrics else {
            throw .badParameter("q", "not a metrics query: end it with | rate(), | count_over_time(), | quantile_over_time(duration, .9), …")
        }
        let now = Clock.nowNanos
        let end: Int64 = try form.time("end") ?? now
        let since: Int64 = try form.duration("since") ?? 3600 * 1_000_000_000
        let start: Int64 = try form.time("start") ?? end - since
        guard end > start else { throw .badParameter("end", "must be after start") }
        let step: Int64
        if instant {
            step = end - start
        } else if let given = try form.duration("step") {
            guard given > 0 else { throw .badParameter("step", "must be positive") }
            step = given
        } else {
            step = Self.defaultStep(start: start, end: end)
        }
        guard instant || (end - start) / step < Int64(TraceQLMetricsEvaluation.maxSteps) else {
            throw .badParameter("step", "too small for the range: at most \(TraceQLMetricsEvaluation.maxSteps) steps")
        }
        let exemplars = instant ? 0 : try form.int("exemplars", default: 0, in: 0...10_000)
        let evaluation = TraceQLMetricsEvaluation(metrics, start: start, end: end, step: step, aligned: !instant)
        let rows: [SpanMetricsRow]
        if case .compare(let filter, let topN, let from, let to) = metrics.function {
            let series = try await comparisonSeries(query, evaluation, filter: filter, topN: topN, start: from, end: to)
            return Self.seriesResponse(series, instant: instant, exemplarLimit: 0)
        } else if query.isSingleFilter {
            rows = try await reading { try await tempo.spanMetrics(evaluation.request(query.filter?.spanCondition), maxRows: Self.maxMetricRows) }
        } else {
            rows = try await spansetMetricRows(query, evaluation)
        }
        guard rows.count <= Self.maxMetricRows else {
            throw GrafanaFailure(.unprocessableContent, "q: more than \(Self.maxMetricRows) groups × steps; use a larger step, a shorter range or fewer by() attributes")
        }
        let exemplarLimit = exemplars == 0 ? Self.defaultExemplars : min(exemplars, Self.defaultExemplars)
        return Self.seriesResponse(evaluation.series(rows), instant: instant, exemplarLimit: exemplarLimit)
    }

    /// Tempo's `QueryRangeResponse` (`QueryInstantResponse` when `instant`) JSON.
    static func seriesResponse(_ series: [TraceQLMetricsEvaluation.Series], instant: Bool, exemplarLimit: Int) -> Response {
        Response.json { body in
            body.key("series")
            body.beginArray()
            for one in series {
                body.beginObject()
                body.key("labels")
                body.beginArray()
                for label in one.labels { writeLabel(label.key, label.value, &body) }
                body.endArray()
                if instant {
                    body.key("value"); body.double(one.samples.last?.value ?? 0)
                } else {
                    body.key("promLabels"); body.string(promLabels(one.labels))
                    body.key("samples")
                    body.beginArray()
                    for sample in one.samples {
                        body.beginObject()
                        body.key("timestampMs"); body.string(String(sample.ms))
                        body.key("value"); body.double(sample.value)
                        body.endObject()
                    }
                    body.endArray()
                    body.key("exemplars")
                    body.beginArray()
                    for exemplar in one.exemplars.suffix(exemplarLimit) {
                        body.beginObject()
                        body.key("labels")
                        body.beginArray()
                        writeLabel("trace:id", .string(exemplar.traceID), &body)
                        body.endArray()
                        body.key("value"); body.double(exemplar.value)
                        body.key("timestampMs"); body.string(String(exemplar.ms))
                        body.endObject()
                    }
                    body.endArray()
                }
                body.endObject()
            }
            body.endArray()
            body.key("metrics")
            body.beginObject()
            body.key("inspectedBytes"); body.string("0")
            body.key("completedJobs"); body.int(1)
            body.key("totalJobs"); body.int(1)
            body.endObject()
        }
    }

    static func writeLabel(_ key: String, _ value: TraceQLMetricsEvaluation.LabelValue, _ body: inout JSONWriter) {
        body.beginObject()
        body.key("key"); body.string(key)
        body.key("value")
        body.beginObject()
        switch value {
        case .string(let text): body.key("stringValue"); body.string(text)
        case .int(let number): body.key("intValue"); body.string(String(number))
        case .double(let number): body.key("doubleValue"); body.double(number)
        case .bool(let flag): body.key("boolValue"); body.bool(flag)
        case .none: break
        }
        body.endObject()
        body.endObject()
    }

    /// `{a="x", p="0.9"}`, as Tempo writes `promLabels`.
    static func promLabels(_ labels: [(key: String, value: TraceQLMetricsEvaluation.LabelValue)]) -> String {
        let parts = labels.map { label -> String in
            let text: String
            switch label.value {
            case .string(let value): text = value
            case .int(let value): text = String(value)
            case .double(let value): text = String(value)
            case .bool(let value): text = String(value)
            case .none: text = "nil"
            }
            return "\(label.key)=\"\(text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// Tempo's default step: about 240 steps over the range, rounded down to 1 h, 5 m, 1 m,
    /// 15 s, 5 s or 1 s (at least 1 s).
    static func defaultStep(start: Int64, end: Int64) -> Int64 {
        let second: Int64 = 1_000_000_000
        let baseline = (end - start) / 240
        for unit in [3600 * second, 300 * second, 60 * second, 15 * second, 5 * second, second] where baseline >= unit {
            return baseline / unit * unit
        }
        return second
    }
}
