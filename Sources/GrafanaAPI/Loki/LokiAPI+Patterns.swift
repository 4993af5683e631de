import Hummingbird
import Store

// Logs Drilldown's *Patterns* tab.

extension LokiAPI {
    /// Lines read to find patterns: the most recent of the range.
    static let patternLines = 10_000

    /// `GET /loki/api/v1/patterns?query=&start=&end=&step=`: the patterns of the most recent
    /// `patternLines` lines `query` selects (`LogPatterns`), most frequent first, each with its
    /// lines counted per step: `{"status": "success", "data": [{"pattern": "<_> GET /cart",
    /// "level": "info", "samples": [[<unix seconds>, <count>], …]}]}`.
    func patterns(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        guard case .logs(let selector) = try Self.parse(try form.text("query")) else {
            throw .badParameter("query", "must be a stream selector such as {service_name=\"shop\"}")
        }
        let (start, end) = try Self.range(form)
        let step = try form.duration("step") ?? max(10_000_000_000, ((end - start) / 100 / 1_000_000_000) * 1_000_000_000)
        guard step > 0 else { throw .badParameter("step", "must be positive") }
        guard (end - start) / step < Int64(EvaluationSteps.maxPoints) else {
            throw .badParameter("step", "exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter")
        }
        let lines = try await lines(selector, from: start, toExclusive: end + 1, limit: Self.patternLines, backward: true)
        var detector = LogPatterns()
        for line in lines.reversed() { detector.add(line.text, nanos: line.nanos, level: line.labels["level"]) }
        let found = detector.patterns.sorted { $0.times.count > $1.times.count }
        return Response.json { body in
            body.key("status"); body.string("success")
            body.key("data")
            body.beginArray()
            for pattern in found {
                var counts: [Int64: Int64] = [:]
                for time in pattern.times { counts[start + (time - start) / step * step, default: 0] += 1 }
                body.beginObject()
                body.key("pattern"); body.string(pattern.text)
                if let level = pattern.level { body.key("level"); body.string(level) }
                body.key("samples")
                body.beginArray()
                for (time, count) in counts.sorted(by: { $0.key < $1.key }) {
                    body.beginArray()
                    body.int(time / 1_000_000_000)
                    body.int(count)
                    body.endArray()
                }
                body.endArray()
                body.endObject()
            }
            body.endArray()
        }
    }
}
