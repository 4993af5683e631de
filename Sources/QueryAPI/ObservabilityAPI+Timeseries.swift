import Foundation
import Hummingbird
import OTLP
import Store

// GET /traces/stats/timeseries (docs/api.md): the trace summary and the log levels step by step.

extension ObservabilityAPI {
    /// The most steps one series may have: a chart a few thousand pixels wide at most.
    static let maxSteps = 1440
    /// The steps a window is cut into when `step` is not given (rounded up to whole minutes).
    static let defaultSteps = 120

    /// `GET /traces/stats/timeseries?hours=|from=&to=&step=&service=&status=&operation=&user_email=&min_duration_ms=`:
    /// per step (seconds, a multiple of 60), the traces started (`requests`), the failed ones,
    /// the error rate and the duration percentiles, and the log records by level. Steps are
    /// aligned to multiples of the step: over the last `hours` the last step holds now; over a
    /// range (`from`, `to`) the steps hold all of it. The trace filters are the trace list's;
    /// the log records follow `service` only.
    func traceTimeseries(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.timeRange()
        let seconds = window.seconds
        let fallback = max(1, (seconds / Int64(Self.defaultSteps) + 59) / 60) * 60
        let step = Int64(try parameters.int("step", default: Int(fallback), in: 60...604_800))
        guard step % 60 == 0 else { throw .badParameter("step", "must be a whole number of minutes (a multiple of 60 seconds)") }
        // The steps of a range hold all of it; those of the last hours hold now in the last.
        let steps = if let until = window.untilUnixNano {
            TimeSteps.spanning(fromUnixNano: window.sinceUnixNano + 1_000, untilUnixNano: until, stepSeconds: step)
        } else {
            TimeSteps.covering(seconds: seconds, endingAt: Int64(Date.now.timeIntervalSince1970 * 1e9), stepSeconds: step)
        }
        guard steps.count <= Self.maxSteps else {
            let smallest = (seconds + Int64(Self.maxSteps) - 2) / Int64(Self.maxSteps - 1)
            throw .badParameter("step", "gives more than \(Self.maxSteps) steps over the window; use at least \((smallest + 59) / 60 * 60) seconds")
        }
        let service = try parameters.text("service")
        let filter = TraceFilter(
            since: window.sinceUnixNano, status: try parameters.choice("status", Self.traceStatuses), service: service,
            operation: try parameters.text("operation"), userEmail: try parameters.text("user_email"),
            minDurationMs: try parameters.double("min_duration_ms", in: 0...1e12))
        let traceSteps = try await run { () async throws(StoreError) in try await traces.traceTimeseries(filter, steps: steps) }
        let logSteps = try await run { () async throws(StoreError) in try await logs.levelTimeseries(steps: steps, service: service) }
        return .jsonObject { body in
            body.key("period_hours"); body.double(Self.rounded(Double(seconds) / 3600, places: 3))
            body.key("step_seconds"); body.int(step)
            body.key("start"); body.string(Timestamp.iso8601(unixNano: steps.startUnixNano))
            body.key("end"); body.string(Timestamp.iso8601(unixNano: steps.endUnixNano))
            body.key("service")
            if let service { body.string(service) } else { body.null() }
            body.key("points")
            body.beginArray()
            for (index, totals) in traceSteps.enumerated() {
                body.beginObject()
                body.key("time"); body.string(Timestamp.iso8601(unixNano: steps.start(of: index)))
                body.key("requests"); body.int(totals.requests)
                body.key("errors"); body.int(totals.errors)
                body.key("error_rate")
                body.double(totals.requests == 0 ? 0 : Self.rounded(Double(totals.errors) / Double(totals.requests) * 100, places: 2))
                for (key, value) in [("p50_ms", totals.percentiles?.p50), ("p95_ms", totals.percentiles?.p95), ("p99_ms", totals.percentiles?.p99)] {
                    body.key(key)
                    if let value { body.double(Self.rounded(value, places: 3)) } else { body.null() }
                }
                body.endObject()
            }
            body.endArray()
            body.key("logs")
            body.beginArray()
            for (index, levels) in logSteps.enumerated() {
                body.beginObject()
                body.key("time"); body.string(Timestamp.iso8601(unixNano: steps.start(of: index)))
                body.key("total"); body.int(levels.values.reduce(0, +))
                body.key("levels")
                body.beginObject()
                for (level, count) in levels.sorted(by: { $0.key < $1.key }) {
                    body.key(level); body.int(count)
                }
                body.endObject()
                body.endObject()
            }
            body.endArray()
        }
    }
}
