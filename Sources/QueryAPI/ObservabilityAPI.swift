import Hummingbird
import Logging
import OTLP
import Store

/// Sightline's own query API under `/api/observability` (docs/api.md): traces, logs, error
/// groups and their statistics, OTLP metrics, read through the store's typed queries. JSON; failures are
/// `{"error": "..."}` with a real status (400 naming the bad parameter, 404, 422 for a query
/// stopped at the store's time limit, 503).
public struct ObservabilityAPI: Sendable {
    let traces: any TraceQueries
    let logs: any LogQueries
    let errors: any ErrorQueries
    let retention: any RetentionQueries
    let metrics: any MetricQueries
    let services: any ServiceGraphQueries
    let logger: Logger
    /// Lists count their matches up to this many (`total`); beyond it they answer this number
    /// with `total_capped: true`, so a page costs the same whether a thousand or ten million
    /// records match (as Elasticsearch's `track_total_hits`).
    let countLimit: Int

    public static let defaultCountLimit = 10_000

    public init(queries: StoreQueries, logger: Logger, countLimit: Int = ObservabilityAPI.defaultCountLimit) {
        self.traces = queries.traces
        self.logs = queries.logs
        self.errors = queries.errors
        self.retention = queries.retention
        self.metrics = queries.metrics
        self.services = queries.serviceGraph
        self.logger = logger
        self.countLimit = max(1, countLimit)
    }

    /// Adds the routes to `group` (mounted at `/api/observability`).
    public func addRoutes<Context: RequestContext>(to group: RouterGroup<Context>) {
        group.get("/traces") { request, _ in await respond { () async throws(QueryFailure) in try await listTraces(request) } }
        group.get("/traces/stats/summary") { request, _ in await respond { () async throws(QueryFailure) in try await traceSummary(request) } }
        group.get("/traces/stats/timeseries") { request, _ in await respond { () async throws(QueryFailure) in try await traceTimeseries(request) } }
        group.get("/traces/{trace_id}") { request, context in
            let id = context.parameters.get("trace_id") ?? ""
            return await respond { () async throws(QueryFailure) in try await trace(request, id: id) }
        }
        group.get("/logs") { request, _ in await respond { () async throws(QueryFailure) in try await listLogs(request) } }
        group.get("/logs/stats/levels") { request, _ in await respond { () async throws(QueryFailure) in try await logLevels(request) } }
        group.get("/logs/{id}") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await respond { () async throws(QueryFailure) in try await log(request, id: id) }
        }
        group.get("/retention") { _, _ in await respond { () async throws(QueryFailure) in try await oldestRetained() } }
        group.get("/errors") { request, _ in await respond { () async throws(QueryFailure) in try await listErrors(request) } }
        group.get("/errors/{group}/occurrences") { request, context in
            let id = context.parameters.get("group") ?? ""
            return await respond { () async throws(QueryFailure) in try await errorOccurrences(request, group: id) }
        }
        group.get("/services/graph") { request, _ in await respond { () async throws(QueryFailure) in try await serviceGraph(request) } }
        group.get("/llm/usage") { request, _ in await respond { () async throws(QueryFailure) in try await llmUsage(request) } }
        group.get("/metrics") { request, _ in await respond { () async throws(QueryFailure) in try await listMetrics(request) } }
        group.get("/metrics/{name}/series") { request, context in
            let name = context.parameters.get("name") ?? ""
            return await respond { () async throws(QueryFailure) in try await metricSeries(request, name: name) }
        }
    }

    private func respond(_ body: () async throws(QueryFailure) -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return error.response
        }
    }

    /// One page of a list: `{"<name>": [records], "total": …, "total_capped": …, "limit": …, "offset": …}`.
    static func listPage(_ name: String, _ records: [some Encodable], total: CappedCount, limit: Int, offset: Int) -> Response {
        .jsonObject { body in
            body.key(name)
            body.beginArray()
            for record in records {
                body.beginObject()
                RecordJSON.write(record, into: &body)
                body.endObject()
            }
            body.endArray()
            body.key("total"); body.int(total.total)
            body.key("total_capped"); body.bool(total.capped)
            body.key("limit"); body.int(Int64(limit))
            body.key("offset"); body.int(Int64(offset))
        }
    }

    /// Runs one of the store's queries; a failure is a 422 or 503 (`QueryFailure.read`), logged
    /// without SQL or data.
    func run<T>(_ query: () async throws(StoreError) -> T) async throws(QueryFailure) -> T {
        do throws(StoreError) {
            return try await query()
        } catch {
            logger.warning("query failed", metadata: ["error": "\(error)", "reason": "\(error.reason)"])
            throw .read(error)
        }
    }
}
