import Hummingbird
import Logging
import Store

/// Sightline's own query API under `/api/observability` (DESIGN §5): traces, logs, error
/// groups and their statistics, read from whichever store Sightline runs on. JSON; failures are
/// `{"error": "..."}` with a real status (400 naming the bad parameter, 404, 422 for a query
/// stopped at the store's time limit, 503).
public struct ObservabilityAPI: Sendable {
    let store: any TelemetryStore
    let logger: Logger
    /// Lists count their matches up to this many (`total`); beyond it they answer this number
    /// with `total_capped: true`, so a page costs the same whether a thousand or ten million
    /// records match (as Elasticsearch's `track_total_hits`).
    let countLimit: Int

    public static let defaultCountLimit = 10_000

    public init(store: any TelemetryStore, logger: Logger, countLimit: Int = ObservabilityAPI.defaultCountLimit) {
        self.store = store
        self.logger = logger
        self.countLimit = max(1, countLimit)
    }

    /// Adds the routes to `group` (mounted at `/api/observability`).
    public func addRoutes<Context: RequestContext>(to group: RouterGroup<Context>) {
        group.get("/traces") { request, _ in await respond { () async throws(QueryFailure) in try await listTraces(request) } }
        group.get("/traces/stats/summary") { request, _ in await respond { () async throws(QueryFailure) in try await traceSummary(request) } }
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
        group.get("/errors") { request, _ in await respond { () async throws(QueryFailure) in try await listErrors(request) } }
        group.get("/errors/{group}/occurrences") { request, context in
            let id = context.parameters.get("group") ?? ""
            return await respond { () async throws(QueryFailure) in try await errorOccurrences(request, group: id) }
        }
    }

    private func respond(_ body: () async throws(QueryFailure) -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return error.response
        }
    }

    /// How many rows of `from` (a table with its alias) match `filter`, counted up to
    /// `countLimit`; `capped` when there are more. `sql` holds the filter's binds.
    func cappedCount(_ sql: SQLBuilder, from: String, filter: String) async throws(QueryFailure) -> (total: Int64, capped: Bool) {
        let text = "SELECT count(*) AS total FROM (SELECT 1 FROM \(from) WHERE \(filter) LIMIT \(countLimit + 1)) counted"
        let counted = try await read(sql.query(text)).first?["total"].int ?? 0
        return counted > countLimit ? (Int64(countLimit), true) : (counted, false)
    }

    /// Runs a read; a store failure is a 422 or 503 (`QueryFailure.read`; logged without SQL or data).
    func read(_ query: ReadQuery) async throws(QueryFailure) -> [ResultRow] {
        do {
            return try await store.read(query)
        } catch {
            logger.warning("query failed", metadata: ["error": "\(error)", "reason": "\((error as? StoreError)?.reason ?? "")"])
            throw .read(error)
        }
    }
}
