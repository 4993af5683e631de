import Foundation
import Hummingbird
import OTLP
import Store

// GET /metrics and /metrics/{name}/series (docs/api.md): the OTLP metrics Sightline stores.

extension ObservabilityAPI {
    /// `GET /metrics?hours=&limit=`: the metric names with a point in the window.
    func listMetrics(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let limit = try parameters.int("limit", default: 1000, in: 1...10_000)
        let names = try await run { () async throws(StoreError) in try await metrics.metricNames(sinceUnixNano: window.sinceUnixNano, limit: limit) }
        return .jsonObject { body in
            body.key("period_hours"); body.int(Int64(window.hours))
            body.key("metrics")
            body.beginArray()
            for name in names {
                body.beginObject()
                body.key("name"); body.string(name.name)
                body.key("type"); body.string(name.type)
                body.key("unit"); body.string(name.unit)
                body.key("description"); body.string(name.description)
                body.key("series_count"); body.int(name.seriesCount)
                body.endObject()
            }
            body.endArray()
        }
    }

    /// `GET /metrics/{name}/series?hours=&step=&service=&attr.<key>=<value>&limit=`: each
    /// matching series' points aggregated per step (seconds; by default the window in 120 steps).
    func metricSeries(_ request: Request, name: String) async throws(QueryFailure) -> Response {
        let name = name.removingPercentEncoding ?? name
        guard !name.isEmpty, name.count <= 255 else { throw .badParameter("name", "expected a metric name of 1 to 255 characters") }
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let step = try parameters.int("step", default: max(1, window.hours * 3600 / 120), in: 1...86_400)
        let limit = try parameters.int("limit", default: 10_000, in: 1...100_000)
        let filter = MetricSeriesFilter(
            name: name, sinceUnixNano: window.sinceUnixNano, untilUnixNano: Int64(Date.now.timeIntervalSince1970 * 1e9),
            attributes: try parameters.prefixed("attr."), serviceName: try parameters.text("service"))
        let steps = try await run { () async throws(StoreError) in
            try await metrics.series(filter, stepNanoseconds: Int64(step) * 1_000_000_000, limit: limit)
        }
        let series = Dictionary(grouping: steps, by: \.seriesID).sorted { $0.key < $1.key }
        return .jsonObject { body in
            body.key("name"); body.string(name)
            body.key("period_hours"); body.int(Int64(window.hours))
            body.key("step_seconds"); body.int(Int64(step))
            body.key("truncated"); body.bool(steps.count == limit)
            body.key("series")
            body.beginArray()
            for (id, points) in series {
                body.beginObject()
                body.key("series_id"); body.string(id)
                body.key("service"); body.string(points[0].serviceName)
                body.key("attributes"); body.rawValue(Array(points[0].attributes.utf8))
                body.key("points")
                body.beginArray()
                for point in points {
                    body.beginObject()
                    body.key("time"); body.string(Timestamp.iso8601(unixNano: point.stepUnixNano))
                    body.key("time_unix_nano"); body.string(String(point.stepUnixNano))
                    body.key("samples"); body.int(point.points)
                    for (key, value) in [("avg", point.average), ("min", point.minimum), ("max", point.maximum),
                                         ("count", point.count), ("sum", point.sum)] {
                        if let value { body.key(key); body.double(value) }
                    }
                    body.endObject()
                }
                body.endArray()
                body.endObject()
            }
            body.endArray()
        }
    }
}
