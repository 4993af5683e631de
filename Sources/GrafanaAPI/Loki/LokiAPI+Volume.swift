import Hummingbird
import Store

// Loki's log volume (`/loki/api/v1/index/volume` and `/index/volume_range`), which Grafana's
// logs volume panel and Logs Drilldown read: the bytes of the selected records per label set,
// largest first, counted by the store like `sum by (…) (bytes_over_time(…))`.

extension LokiAPI {
    /// Most series a volume answer holds by default, and at all.
    static let defaultVolumeSeries = 100
    static let maxVolumeSeries = 1000

    /// `GET /loki/api/v1/index/volume?query=&start=&end=&limit=&targetLabels=&aggregateBy=`: one
    /// sample per label set at `end`, the bytes within the range. `range` true:
    /// `/index/volume_range` with `step`, the bytes per step.
    func volume(_ request: Request, range: Bool) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        guard case .logs(let selector) = try Self.parse(try form.text("query")) else {
            throw .badParameter("query", "must be a stream selector such as {service_name=\"shop\"}")
        }
        let (start, end) = try Self.range(form)
        let limit = try form.int("limit", default: Self.defaultVolumeSeries, in: 1...Self.maxVolumeSeries)
        switch try form.text("aggregateBy") {
        case nil, "series": break
        default: throw .badParameter("aggregateBy", "Sightline supports series")
        }
        var groupBy: [String] = []
        let targets = try form.text("targetLabels")?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        for name in targets?.filter({ !$0.isEmpty }) ?? selector.matchers.map(\.name) where !groupBy.contains(name) {
            guard LogQLParser.isLabelName(name) else { throw .badParameter("targetLabels", "\"\(name.prefix(80))\" is not a label name") }
            groupBy.append(name)
        }
        let started = ContinuousClock.now
        let steps: EvaluationSteps
        let window: Int64
        if range {
            let step = try form.duration("step") ?? max(1_000_000_000, ((end - start) / 250 / 1_000_000_000) * 1_000_000_000)
            guard step > 0 else { throw .badParameter("step", "must be positive") }
            guard (end - start) / step < Int64(EvaluationSteps.maxPoints) else {
                throw .badParameter("step", "exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter")
            }
            steps = EvaluationSteps(start: start, end: end, step: step)
            window = step
        } else {
            steps = EvaluationSteps(start: end, end: end, step: max(end - start, 1))
            window = max(end - start, 1)
        }
        let expression = MetricExpression.aggregation(.sum, Grouping(without: false, labels: groupBy),
                                                      .range(RangeAggregation(.bytesOverTime, selector, range: window)))
        guard case .vector(let series) = try await evaluate(expression, steps) else {
            return Self.metricResponse(.vector([]), steps: steps, instant: !range, started: started)
        }
        // Largest first; an empty label set (no group) is one series.
        func total(_ one: MetricSeries) -> Double { one.values.reduce(0.0) { $0 + ($1 ?? 0) } }
        let totals: [(series: MetricSeries, bytes: Double)] = series.map { ($0, total($0)) }
        let ranked: [MetricSeries] = totals.filter { $0.bytes > 0 }.sorted { $0.bytes > $1.bytes }.prefix(limit).map(\.series)
        return Self.metricResponse(.vector(ranked), steps: steps, instant: !range, started: started)
    }
}
