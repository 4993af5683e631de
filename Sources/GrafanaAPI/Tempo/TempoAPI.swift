import Foundation
import Hummingbird
import Logging
import NIOCore
import OTLP
import Store

/// Tempo's query API over the stored traces and spans (`TempoQueries`, docs/grafana.md), for
/// Grafana's Tempo data source: `/api/echo`, `/api/search`, tag names and values (v1 and v2),
/// trace by id (v1 and v2) in OTLP/JSON or protobuf, and TraceQL metrics
/// (`/api/metrics/query_range`, `/api/metrics/query`).
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
    static let intrinsics = ["duration", "event:name", "kind", "link:spanID", "link:traceID", "name", "rootName", "rootServiceName",
                             "status", "statusMessage", "traceDuration"]

    let tempo: any TempoQueries
    let logger: Logger
    /// The most candidate traces a search with spanset operators or a pipeline reads.
    let candidateLimit: Int

    public init(store: any TelemetryStore, logger: Logger) {
        self.init(tempo: store.queries.tempo, logger: logger)
    }

    init(tempo: any TempoQueries, logger: Logger, candidateLimit: Int = Self.maxCandidateTraces) {
        self.tempo = tempo
        self.logger = logger
        self.candidateLimit = candidateLimit
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
        router.get("/api/metrics/query_range") { request, _ in await respond { () async throws(GrafanaFailure) in try await metrics(request, instant: false) } }
        router.get("/api/metrics/query") { request, _ in await respond { () async throws(GrafanaFailure) in try await metrics(request, instant: true) } }
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

    /// A store read; a failure is logged and answered as `GrafanaFailure.read` says.
    func reading<T>(_ read: () async throws -> T) async throws(GrafanaFailure) -> T {
        try await GrafanaFailure.reading(logger, "tempo query failed", read)
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
        let spans = try await reading { try await tempo.spans(ofTrace: id) }
        guard !spans.isEmpty else { throw GrafanaFailure(.notFound, "trace not found") }
        let otlp: ExportTraceServiceRequest
        do {
            otlp = try StoredTrace.request(from: spans)
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
        var structured: TraceQLQuery?
        if let q = try form.text("q") {
            let query: TraceQLQuery
            do {
                query = try TraceQLQuery.parse(q)
            } catch {
                throw GrafanaFailure(.badRequest, "q: \(error.description)")
            }
            if query.metrics != nil { throw .badParameter("q", "a metrics query (rate, count_over_time, …) goes to /api/metrics/query_range") }
            if query.isSingleFilter { filter = query.filter } else { structured = query }
        }
        if let tags = try form.text("tags") {
            let fromTags: TraceQLExpression?
            do {
                fromTags = try TraceQLQuery.fromTags(tags)
            } catch {
                throw GrafanaFailure(.badRequest, error.message)
            }
            if let fromTags {
                if structured != nil { throw .badParameter("tags", "cannot be combined with spanset operators or a pipeline in q") }
                filter = filter.map { .and($0, fromTags) } ?? fromTags
            }
        }
        let limit = try form.int("limit", default: Self.defaultTraces, in: 1...Self.maxTraces)
        let spss = try form.int("spss", default: 3, in: 1...Self.maxSpansPerSpanSet)
        let minDuration = try form.duration("minDuration")
        let maxDuration = try form.duration("maxDuration")
        let start = try form.time("start")
        let end = try form.time("end")
        if let start, let end, end < start { throw .badParameter("end", "must not be before start") }
        if let structured {
            let plan = SpansetPlan(structured)
            let found = try await spansetSearch(structured, start: start, end: end, minDuration: minDuration, maxDuration: maxDuration, limit: limit)
            return Response.json { body in
                body.key("traces")
                body.beginArray()
                for result in found { Self.writeSpansetTrace(result, spss: spss, plan: plan, &body) }
                body.endArray()
                body.key("metrics")
                body.beginObject()
                body.key("inspectedTraces"); body.int(Int64(found.count))
                body.key("inspectedBytes"); body.string("0")
                body.key("completedJobs"); body.int(1)
                body.key("totalJobs"); body.int(1)
                body.endObject()
            }
        }

        let search = TraceSearch(start: start, end: end, minDuration: minDuration, maxDuration: maxDuration,
                                 condition: filter?.spanCondition, limit: limit, spansPerTrace: spss)
        let traces = try await reading { try await tempo.search(search) }
        return Response.json { body in
            body.key("traces")
            body.beginArray()
            for trace in traces {
                let start = trace.startTimeUnixNano ?? 0
                let end = trace.endTimeUnixNano ?? start
                body.beginObject()
                body.key("traceID"); body.string(trace.traceID)
                body.key("rootServiceName"); body.string(trace.rootServiceName ?? "<root span not yet received>")
                body.key("rootTraceName"); body.string(trace.rootSpanName ?? "")
                body.key("startTimeUnixNano"); body.string(String(start))
                body.key("durationMs"); body.int(max(0, (end - start) / 1_000_000))
                if let set = trace.spans {
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

    static func writeSpanSet(_ set: MatchedSpans, _ body: inout JSONWriter) {
        body.beginObject()
        body.key("spans")
        body.beginArray()
        for span in set.spans {
            let start = span.startTimeUnixNano ?? 0
            let end = span.endTimeUnixNano ?? start
            body.beginObject()
            body.key("spanID"); body.string(span.spanID)
            body.key("name"); body.string(span.name)
            body.key("startTimeUnixNano"); body.string(String(start))
            body.key("durationNanos"); body.string(String(max(0, end - start)))
            body.key("attributes")
            body.beginArray()
            body.beginObject()
            body.key("key"); body.string("service.name")
            body.key("value"); body.beginObject(); body.key("stringValue"); body.string(span.serviceName ?? ""); body.endObject()
            body.endObject()
            if span.statusCode == 2 {
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
