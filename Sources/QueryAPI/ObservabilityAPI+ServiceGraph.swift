import Foundation
import Hummingbird
import OTLP
import Store

// GET /services/graph (docs/api.md): the service map's nodes and edges over the last hours.

extension ObservabilityAPI {
    /// `GET /services/graph?hours=`: the calls between services (a parent span in one service,
    /// its child in another) and the requests each service took (calls from other services and
    /// trace roots) in the whole minutes of the window, each with its count, failed calls,
    /// error rate, rate per minute and p95 latency (the callee span's duration).
    func serviceGraph(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let now = Int64(Date.now.timeIntervalSince1970 * 1e9)
        let start = SpanOperationMinute.minute(of: window.sinceUnixNano)
        let graph = try await run { () async throws(StoreError) in try await services.serviceGraph(from: start, to: now) }
        let minutes = Double(max(1, (now - start + SpanOperationMinute.minuteNano - 1) / SpanOperationMinute.minuteNano))
        func write(_ stats: ServiceGraph.Stats, into body: inout JSONWriter) {
            body.key("requests"); body.int(stats.calls)
            body.key("errors"); body.int(stats.errors)
            body.key("error_rate")
            body.double(stats.calls == 0 ? 0 : Self.rounded(Double(stats.errors) / Double(stats.calls) * 100, places: 2))
            body.key("rate_per_minute"); body.double(Self.rounded(Double(stats.calls) / minutes, places: 3))
            body.key("p95_ms")
            if let p95 = stats.p95Ms { body.double(Self.rounded(p95, places: 3)) } else { body.null() }
        }
        return .jsonObject { body in
            body.key("period_hours"); body.int(Int64(window.hours))
            body.key("start"); body.string(Timestamp.iso8601(unixNano: start))
            body.key("end"); body.string(Timestamp.iso8601(unixNano: now))
            body.key("nodes")
            body.beginArray()
            for node in graph.nodes {
                body.beginObject()
                body.key("service"); body.string(node.service)
                write(node.stats, into: &body)
                body.key("root_requests"); body.int(node.rootCalls)
                body.endObject()
            }
            body.endArray()
            body.key("edges")
            body.beginArray()
            for edge in graph.edges {
                body.beginObject()
                body.key("client"); body.string(edge.client)
                body.key("server"); body.string(edge.server)
                write(edge.stats, into: &body)
                body.endObject()
            }
            body.endArray()
        }
    }
}
