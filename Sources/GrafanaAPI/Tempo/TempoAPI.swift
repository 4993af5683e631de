import Foundation
import Hummingbird
import Logging
import NIOCore
import OTLP
import Store

/// Tempo's query API over `enterprise.traces` and `enterprise.trace_spans` (DESIGN §5), for
/// Grafana's Tempo data source: `/api/echo`, `/api/search`, tag names and values (v1 and v2),
/// and trace by id (v1 and v2) in OTLP/JSON or protobuf.
///
/// Errors are plain text with a real status, as Tempo writes them: 400 naming the parameter
/// (a TraceQL error says where: `parse error at line 1, col 12: …`), 404 for an unknown trace,
/// 422 when a query runs past the store's time limit for reads, 503 when the store is busy or
/// fails. Bounded: at most `maxTraces` traces per search, `maxSpansPerSpanSet`
/// spans per trace, `maxValues` tag names or values.
public struct TempoAPI: Sendable {
    public static let maxTraces = 1000
    public static let defaultTraces = 20
    public static let maxSpansPerSpanSet = 100
    public static let maxValues = 1000
    /// Tag names and values come from the most recent spans of the range only.
    public static let sampleSpans = 10_000
    static let intrinsics = ["duration", "kind", "name", "rootName", "rootServiceName", "status", "statusMessage", "traceDuration"]

    let store: any TelemetryStore
    let logger: Logger

    public init(store: any TelemetryStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/api/echo") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "echo")))
        }
        // Grafana reads Tempo's version to choose features; this subset is what Tempo 2.4 answers.
        router.get("/api/status/buildinfo") { _, _ in
            Response.json { body in
                body.key("version"); body.string("2.4.0")
                body.key("revision"); body.string("sightline")
                body.key("branch"); body.string("")
                body.key("buildUser"); body.string("")
                body.key("buildDate"); body.string("")
                body.key("goVersion"); body.string("")
            }
        }
        router.get("/api/search") { request, _ in await respond { () async throws(GrafanaFailure) in try await search(request) } }
        router.get("/api/search/tags") { request, _ in await respond { () async throws(GrafanaFailure) in try await tags(request, v2: false) } }
        router.get("/api/v2/search/tags") { request, _ in await respond { () async throws(GrafanaFailure) in try await tags(request, v2: true) } }
        router.get("/api/search/tag/{tag}/values") { request, context in
            let tag = decodedPathSegment(context.parameters.get("tag") ?? "")
            return await respond { () async throws(GrafanaFailure) in try await tagValues(request, tag: tag, v2: false) }
        }
        router.get("/api/v2/search/tag/{tag}/values") { request, context in
            let tag = decodedPathSegment(context.parameters.get("tag") ?? "")
            return await respond { () async throws(GrafanaFailure) in try await tagValues(request, tag: tag, v2: true) }
        }
        router.get("/api/traces/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await respond { () async throws(GrafanaFailure) in try await trace(request, id: id, v2: false) }
        }
        router.get("/api/v2/traces/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await respond { () async throws(GrafanaFailure) in try await trace(request, id: id, v2: true) }
        }
    }

    private func respond(_ body: () async throws(GrafanaFailure) -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return error.tempoResponse
        }
    }

    func read(_ query: ReadQuery) async throws(GrafanaFailure) -> [ResultRow] {
        do {
            return try await store.read(query)
        } catch {
            logger.warning("tempo query failed", metadata: ["error": "\(error)", "reason": "\((error as? StoreError)?.reason ?? "")"])
            throw .read(error)
        }
    }

    // MARK: Trace by id

    /// A trace id as Tempo takes it: 1 to 32 hex digits, zero-padded on the left.
    static func traceID(_ text: String) throws(GrafanaFailure) -> String {
        guard (1...32).contains(text.utf8.count), text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) || ($0 >= 97 && $0 <= 102) }) else {
            throw .badParameter("traceID", "expected up to 32 hex digits")
        }
        let padded = String(repeating: "0", count: 32 - text.utf8.count) + text.lowercased()
        guard padded.contains(where: { $0 != "0" }) else { throw .badParameter("traceID", "must not be all zeros") }
        return padded
    }

    /// `GET /api/traces/{id}` (`tempopb.Trace`) and `/api/v2/traces/{id}` (`TraceByIDResponse`):
    /// protobuf when `Accept` names `application/protobuf`, else JSON.
    func trace(_ request: Request, id text: String, v2: Bool) async throws(GrafanaFailure) -> Response {
        let id = try Self.traceID(text)
        var sql = SQLBuilder(store.dialect)
        let placeholder = sql.bind(id)
        let rows = try await read(sql.query("""
            SELECT \(StoredTrace.columns) FROM enterprise.trace_spans s WHERE s.trace_id = \(placeholder)
            ORDER BY s.start_time_unix_nano, s.span_id
            """))
        guard !rows.isEmpty else { throw GrafanaFailure(.notFound, "trace not found") }
        let otlp: ExportTraceServiceRequest
        do {
            otlp = try StoredTrace.request(from: rows)
        } catch {
            logger.warning("stored trace does not read back as OTLP", metadata: ["trace.id": "\(id)", "error": "\(error)"])
            throw GrafanaFailure(.internalServerError, "stored trace could not be encoded")
        }
        let accept = request.headers[.accept]?.lowercased() ?? ""
        if accept.contains("application/protobuf") || accept.contains("application/x-protobuf") {
            let bytes = v2 ? StoredTrace.tempoTraceByIDResponse(otlp) : StoredTrace.tempoTrace(otlp)
            return Response(status: .ok, headers: [.contentType: "application/protobuf"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: StoredTrace.json(otlp, v2: v2))))
    }

    // MARK: Search

    /// `GET /api/search?q=&tags=&minDuration=&maxDuration=&limit=&start=&end=&spss=`
    func search(_ request: Request) async throws(GrafanaFailure) -> Response {
        let form = FormParameters(request)
        var filter: TraceQLExpression?
        if let q = try form.text("q") {
            do {
                filter = try TraceQLQuery.parse(q).filter
            } catch {
                throw GrafanaFailure(.badRequest, "q: \(error.description)")
            }
        }
        if let tags = try form.text("tags") {
            do {
                if let fromTags = try TraceQLQuery.fromTags(tags) { filter = filter.map { .and($0, fromTags) } ?? fromTags }
            } catch {
                throw GrafanaFailure(.badRequest, error.message)
            }
        }
        let limit = try form.int("limit", default: Self.defaultTraces, in: 1...Self.maxTraces)
        let spss = try form.int("spss", default: 3, in: 1...Self.maxSpansPerSpanSet)
        let minDuration = try form.duration("minDuration")
        let maxDuration = try form.duration("maxDuration")
        let start = try form.time("start")
        let end = try form.time("end")
        if let start, let end, end < start { throw .badParameter("end", "must not be before start") }

        var sql = SQLBuilder(store.dialect)
        var conditions: [String] = []
        if let start { conditions.append("t.start_time >= \(sql.bindTime(unixNano: start))") }
        if let end { conditions.append("t.start_time <= \(sql.bindTime(unixNano: end))") }
        if let minDuration { conditions.append("(t.end_time_unix_nano - t.start_time_unix_nano) >= \(sql.bind(minDuration))") }
        if let maxDuration { conditions.append("(t.end_time_unix_nano - t.start_time_unix_nano) <= \(sql.bind(maxDuration))") }
        if let filter {
            let spanCondition = filter.sql(&sql)
            conditions.append("EXISTS (SELECT 1 FROM enterprise.trace_spans s WHERE s.trace_id = t.trace_id AND \(spanCondition))")
        }
        let limitPlaceholder = sql.bind(Int64(limit))
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let traces = try await read(sql.query("""
            SELECT t.trace_id, t.service_name, t.root_span_name, t.start_time_unix_nano, t.end_time_unix_nano
            FROM enterprise.traces t \(whereClause)
            ORDER BY t.start_time DESC, t.trace_id LIMIT \(limitPlaceholder)
            """))
        let spanSets = try await matchingSpans(traceIDs: traces.compactMap { $0["trace_id"].text }, filter: filter, perTrace: spss)
        return Response.json { body in
            body.key("traces")
            body.beginArray()
            for trace in traces {
                let id = trace["trace_id"].text ?? ""
                let start = trace["start_time_unix_nano"].int ?? 0
                let end = trace["end_time_unix_nano"].int ?? start
                body.beginObject()
                body.key("traceID"); body.string(id)
                body.key("rootServiceName"); body.string(trace["service_name"].text ?? "<root span not yet received>")
                body.key("rootTraceName"); body.string(trace["root_span_name"].text ?? "")
                body.key("startTimeUnixNano"); body.string(String(start))
                body.key("durationMs"); body.int(max(0, (end - start) / 1_000_000))
                if let set = spanSets[id] {
                    body.key("spanSet"); Self.writeSpanSet(set, &body)
                    body.key("spanSets")
                    body.beginArray()
                    Self.writeSpanSet(set, &body)
                    body.endArray()
                }
                body.endObject()
            }
            body.endArray()
            body.key("metrics")
            body.beginObject()
            body.key("inspectedTraces"); body.int(Int64(traces.count))
            body.key("inspectedBytes"); body.string("0")
            body.key("completedJobs"); body.int(1)
            body.key("totalJobs"); body.int(1)
            body.endObject()
        }
    }

    struct SpanSet {
        var spans: [ResultRow]
        var matched: Int64
    }

    /// Up to `perTrace` spans of each trace that match `filter` (all spans for `{}`), in start order.
    func matchingSpans(traceIDs: [String], filter: TraceQLExpression?, perTrace: Int) async throws(GrafanaFailure) -> [String: SpanSet] {
        guard !traceIDs.isEmpty else { return [:] }
        var sql = SQLBuilder(store.dialect)
        let ids = traceIDs.map { sql.bind($0) }.joined(separator: ", ")
        let condition = filter?.sql(&sql) ?? "1 = 1"
        let cap = sql.bind(Int64(perTrace))
        let rows = try await read(sql.query("""
            SELECT * FROM (
                SELECT s.trace_id, s.span_id, s.operation_name, s.service_name, s.start_time_unix_nano, s.end_time_unix_nano, s.status_code,
                       ROW_NUMBER() OVER (PARTITION BY s.trace_id ORDER BY s.start_time_unix_nano, s.span_id) AS position,
                       COUNT(*) OVER (PARTITION BY s.trace_id) AS matched
                FROM enterprise.trace_spans s JOIN enterprise.traces t ON t.trace_id = s.trace_id
                WHERE s.trace_id IN (\(ids)) AND \(condition)
            ) x WHERE x.position <= \(cap) ORDER BY x.trace_id, x.position
            """))
        var sets: [String: SpanSet] = [:]
        for row in rows {
            let id = row["trace_id"].text ?? ""
            sets[id, default: SpanSet(spans: [], matched: row["matched"].int ?? 0)].spans.append(row)
        }
        return sets
    }

    static func writeSpanSet(_ set: SpanSet, _ body: inout JSONWriter) {
        body.beginObject()
        body.key("spans")
        body.beginArray()
        for span in set.spans {
            let start = span["start_time_unix_nano"].int ?? 0
            let end = span["end_time_unix_nano"].int ?? start
            body.beginObject()
            body.key("spanID"); body.string(span["span_id"].text ?? "")
            body.key("name"); body.string(span["operation_name"].text ?? "")
            body.key("startTimeUnixNano"); body.string(String(start))
            body.key("durationNanos"); body.string(String(max(0, end - start)))
            body.key("attributes")
            body.beginArray()
            body.beginObject()
            body.key("key"); body.string("service.name")
            body.key("value"); body.beginObject(); body.key("stringValue"); body.string(span["service_name"].text ?? ""); body.endObject()
            body.endObject()
            if span["status_code"].int == 2 {
                body.beginObject()
                body.key("key"); body.string("status")
                body.key("value"); body.beginObject(); body.key("stringValue"); body.string("error"); body.endObject()
                body.endObject()
            }
            body.endArray()
            body.endObject()
        }
        body.endArray()
        body.key("matched"); body.int(set.matched)
        body.endObject()
    }
}
