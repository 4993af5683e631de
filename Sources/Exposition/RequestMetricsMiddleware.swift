import CoreMetrics
import Hummingbird
import Store

/// Times every request of a port into `sightline_http_server_request_duration_seconds`, by
/// route (the matched pattern, e.g. `/api/observability/traces/{trace_id}`, or `unmatched`,
/// so unknown paths cannot grow the label sets), method and status code.
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: response.status.code, since: start)
            return response
        } catch {
            record(request, context, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        let method = knownHTTPMethods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        Timer(label: SightlineMetrics.Name.httpRequestDuration,
              dimensions: [("route", context.endpointPath ?? "unmatched"), ("method", method), ("status", String(status))],
              factory: factory)
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Methods named in the metrics; others count as `other`.
private let knownHTTPMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

/// `GET /metrics`: the exposition in Prometheus text format 0.0.4.
public struct MetricsEndpoint: Sendable {
    public let metrics: SightlineMetrics
    let queue: @Sendable () -> (items: Int, capacity: Int)
    /// `/metrics/otlp`: the ingested OTLP metrics, apart from the self metrics.
    let otlp: OTLPExposition?
    let readStorage: @Sendable () -> ReadStorageStatus?

    /// `queue` reads the writer's queue, and `readStorage` the read replica's state, at each scrape.
    public init(metrics: SightlineMetrics, queue: @escaping @Sendable () -> (items: Int, capacity: Int), otlp: OTLPExposition? = nil,
                readStorage: @escaping @Sendable () -> ReadStorageStatus? = { nil }) {
        self.metrics = metrics
        self.queue = queue
        self.otlp = otlp
        self.readStorage = readStorage
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        otlp?.addRoutes(to: router)
        router.get("/metrics") { _, _ -> Response in
            let (items, capacity) = queue()
            metrics.setQueue(items: items, capacity: capacity)
            metrics.readStorage.set(readStorage())
            return Response(status: .ok, headers: [.contentType: Self.contentType],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
    }
}
