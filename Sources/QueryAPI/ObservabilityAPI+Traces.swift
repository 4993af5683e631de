import Foundation
import Hummingbird
import OTLP
import Store

// GET /traces, /traces/{trace_id}, /traces/stats/summary (docs/api.md).

extension ObservabilityAPI {
    static let traceStatuses = ["in_progress", "completed", "error"]

    /// `GET /traces?hours=|from=&to=&status=&service=&operation=&user_email=&min_duration_ms=&limit=&offset=`
    func listTraces(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.timeRange()
        let limit = try parameters.int("limit", default: 50, in: 1...200)
        let offset = try parameters.int("offset", default: 0, in: 0...1_000_000)
        let filter = TraceFilter(
            since: window.sinceUnixNano, until: window.untilUnixNano, status: try parameters.choice("status", Self.traceStatuses),
            service: try parameters.text("service"), operation: try parameters.text("operation"),
            userEmail: try parameters.text("user_email"), minDurationMs: try parameters.double("min_duration_ms", in: 0...1e12))
        let page = try await run { () async throws(StoreError) in
            try await traces.traceList(filter, limit: limit, offset: offset, countLimit: countLimit)
        }
        return Self.listPage("traces", page.traces, total: page.total, limit: limit, offset: offset)
    }

    /// `GET /traces/{trace_id}`: the trace and its spans in start order, each with its depth in
    /// the waterfall (0 for the root and for spans whose parent is not stored).
    func trace(_ request: Request, id text: String) async throws(QueryFailure) -> Response {
        let traceID = try Parameters.traceID(text, name: "trace_id")
        guard let detail = try await run({ () async throws(StoreError) in try await traces.trace(id: traceID) }) else {
            throw .notFound("trace \(traceID)")
        }
        let depths = Self.depths(of: detail.spans)
        return .jsonObject { body in
            body.key("trace")
            body.beginObject()
            RecordJSON.write(detail.trace, into: &body)
            body.endObject()
            body.key("spans")
            body.beginArray()
            for (span, depth) in zip(detail.spans, depths) {
                body.beginObject()
                RecordJSON.write(span, into: &body)
                body.key("depth"); body.int(Int64(depth))
                body.endObject()
            }
            body.endArray()
        }
    }

    /// The depth of each span below its root; a parent that is not stored counts as a root,
    /// and a cycle (malformed ids) stops where it closes.
    static func depths(of spans: [SpanRecord]) -> [Int] {
        var parents: [String: String] = [:]
        for span in spans {
            if let parent = span.parentSpanID { parents[span.spanID] = parent }
        }
        let stored = Set(spans.map(\.spanID))
        return spans.map { span in
            var depth = 0
            var seen: Set<String> = []
            var current = span.spanID
            while let parent = parents[current], !seen.contains(parent), stored.contains(parent) {
                seen.insert(current)
                depth += 1
                current = parent
            }
            return depth
        }
    }

    /// `GET /traces/stats/summary?hours=&service=`: totals, error rate, duration percentiles (linear
    /// interpolation, as PostgreSQL's `percentile_cont`) and the ten slowest operations.
    func traceSummary(_ request: Request) async throws(QueryFailure) -> Response {
        let parameters = try Parameters(request)
        let window = try parameters.window()
        let service = try parameters.text("service")
        let summary = try await run { () async throws(StoreError) in
            try await traces.traceSummary(since: window.sinceUnixNano, service: service)
        }
        let percentiles = summary.percentiles ?? DurationPercentiles(p50: 0, p95: 0, p99: 0)
        let slow = Self.slowest(summary.operations)
        return .jsonObject { body in
            body.key("period_hours"); body.int(Int64(window.hours))
            body.key("total_traces"); body.int(summary.total)
            body.key("completed"); body.int(summary.completed)
            body.key("errors"); body.int(summary.errors)
            body.key("error_rate")
            body.double(summary.total == 0 ? 0 : Self.rounded(Double(summary.errors) / Double(summary.total) * 100, places: 2))
            body.key("avg_duration_ms"); body.double(Self.rounded(summary.averageMs ?? 0, places: 1))
            body.key("p50_ms"); body.double(Self.rounded(percentiles.p50, places: 1))
            body.key("p95_ms"); body.double(Self.rounded(percentiles.p95, places: 1))
            body.key("p99_ms"); body.double(Self.rounded(percentiles.p99, places: 1))
            body.key("slow_operations")
            body.beginArray()
            for operation in slow {
                body.beginObject()
                body.key("operation_name"); body.string(operation.name)
                body.key("count"); body.int(operation.calls)
                body.key("avg_ms"); body.double(Self.rounded(operation.totalMs / Double(operation.calls), places: 1))
                body.key("max_ms"); body.double(Self.rounded(operation.maxMs, places: 1))
                body.endObject()
            }
            body.endArray()
        }
    }

    /// The ten operations with the largest average span duration (then by name).
    static func slowest(_ operations: [OperationTotals]) -> [OperationTotals] {
        let ranked = operations.filter { $0.calls > 0 }.sorted {
            let (a, b) = ($0.totalMs / Double($0.calls), $1.totalMs / Double($1.calls))
            return a != b ? a > b : $0.name < $1.name
        }
        return Array(ranked.prefix(10))
    }

    static func rounded(_ value: Double, places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (value * scale).rounded() / scale
    }
}
