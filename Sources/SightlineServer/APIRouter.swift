import AdminPages
import Alerting
import Exposition
import GrafanaAPI
import Hummingbird
import Ingest
import NIOCore
import Logging
import OTLP
import QueryAPI
import SelfTracing
import Store

/// The API port's routes: the query API under `/api/observability` (API keys required when
/// configured), the health and readiness probes (always open, for probes) and the admin pages
/// (open: they hold no data; their API calls need the key). Every request but the probes and
/// the admin pages' files is traced into the store (service `sightline`, docs/architecture.md).
enum APIRouter {
    /// Routes served without an API key: the probes, and the admin pages and their files
    /// (they hold no data; the API calls they make need the key). Everything else needs one
    /// when keys are configured, decided on the route the router matched (`APIAccessPolicy`).
    static func openRoutes(traceContextTestRoute: Bool) -> Set<String> {
        var paths = AdminPages.paths.union(["/health", "/ready"])
        // For the W3C harness, which sends no key; only ever on a loopback API address.
        if traceContextTestRoute { paths.insert(traceContextPath) }
        return Set(paths.map { RouterPath($0).description })
    }

    static let traceContextPath = "/_test/tracecontext"

    /// `POST` routes that only read: Grafana sends Loki's series lookups as a form.
    static let readOnlyPostRoutes: Set<String> = [RouterPath("/loki/api/v1/series").description]

    static func make(store: any TelemetryStore, writer: BatchWriter, access: APIAccessPolicy, tracer: SightlineTracer,
                     logStream: LogStreamEndpoint, traceContextTestRoute: Bool = false,
                     logger: Logger, alerts: AlertsAPI? = nil, metrics: MetricsEndpoint? = nil,
                     queryCountLimit: Int = ObservabilityAPI.defaultCountLimit) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        if let metrics { router.add(middleware: RequestMetricsMiddleware(factory: metrics.metrics.factory)) }
        // Host, Origin, media type and API key, on the route each request reaches.
        router.add(middleware: APIAccessMiddleware(policy: access))
        // Inside the key check: only requests that get through are traced into the store.
        // The admin pages and their files carry no data; the API calls they make are traced.
        router.add(middleware: SelfTracingMiddleware(tracer: tracer, untraced: Set(["/health", "/ready", "/metrics", "/metrics/otlp"]).union(AdminPages.paths)))
        AdminPages.addRoutes(to: router)
        ObservabilityAPI(queries: store.queries, logger: logger, countLimit: queryCountLimit).addRoutes(to: router.group("/api/observability"))
        alerts?.addRoutes(to: router.group("/api/observability"))
        metrics?.addRoutes(to: router)
        logStream.addRoutes(to: router.group("/api/observability"))
        // The other WebSocket endpoints' plain side (Loki's tail): requests not upgraded.
        for route in logStream.otherRoutes {
            router.get(RouterPath(route.path)) { request, _ in route.plain(request) }
        }
        // Grafana's own Tempo and Loki data sources (docs/grafana.md).
        TempoAPI(store: store, logger: logger).addRoutes(to: router)
        LokiAPI(store: store, logger: logger).addRoutes(to: router)
        if traceContextTestRoute {
            // For the W3C Trace Context test suite; only configurable on a loopback address.
            let route = TraceContextTestRoute(tracer: tracer)
            router.post(RouterPath(traceContextPath)) { request, _ in await route.handle(request) }
        }
        // Liveness: the process answers and the store is reachable.
        router.get("/health") { _, _ -> Response in
            let storeUp = await reachable(store)
            return json(storeUp ? .ok : .serviceUnavailable) { body in
                body.key("status"); body.string(storeUp ? "ok" : "unavailable")
                body.key("store"); body.string(storeUp ? "ok" : "unreachable")
            }
        }
        // Readiness: the store answers and the writer accepts new data.
        router.get("/ready") { _, _ -> Response in
            let storeUp = await reachable(store)
            let accepting = writer.isAccepting
            let ready = storeUp && accepting
            return json(ready ? .ok : .serviceUnavailable) { body in
                body.key("status"); body.string(ready ? "ready" : "not_ready")
                body.key("store"); body.string(storeUp ? "ok" : "unreachable")
                body.key("ingest"); body.string(accepting ? "accepting" : "saturated")
                body.key("queued_items"); body.int(Int64(writer.queuedItems))
                // Informational: a standby that cannot be reached sends reads to the primary,
                // so it never makes the replica unready.
                if let status = store.readStorageStatus {
                    body.key("read_storage"); body.string(status.usingStandby ? "standby" : "primary")
                    body.key("read_storage_replay_lag_seconds")
                    if let lag = status.replayLagSeconds { body.double(lag) } else { body.null() }
                }
            }
        }
        return router
    }

    private static func reachable(_ store: any TelemetryStore) async -> Bool {
        do {
            try await store.ping()
            return true
        } catch {
            return false
        }
    }

    static func json(_ status: HTTPResponse.Status, _ fill: (inout JSONWriter) -> Void) -> Response {
        var body = JSONWriter()
        body.beginObject()
        fill(&body)
        body.endObject()
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }
}
