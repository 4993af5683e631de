import OTLP

/// Builds realistic export requests, shaped like what the OpenTelemetry Python SDK sends
/// (`Tests/Fixtures/python-sdk/`): per trace a SERVER root and 5–10 INTERNAL/CLIENT children,
/// about ten attributes and one event per span, an `exception` event and ERROR status on a
/// few; logs at mixed levels, some with `exception.*` attributes, half with trace context.
/// Deterministic for a given seed.
struct TrafficModel {
    private var random: SplitMix64
    /// Every timestamp lies in the minute before this time.
    let baseTimeUnixNano: UInt64

    init(seed: UInt64, baseTimeUnixNano: UInt64) {
        self.random = SplitMix64(state: seed)
        self.baseTimeUnixNano = baseTimeUnixNano
    }

    // MARK: Traces

    /// A request holding exactly `spanCount` spans, whole traces except perhaps the last.
    mutating func traces(spanCount: Int) -> ExportTraceServiceRequest {
        var spansByService = Array(repeating: [Span](), count: Self.services.count)
        var remaining = spanCount
        while remaining > 0 {
            let service = Int.random(in: 0..<Self.services.count, using: &random)
            let children = min(Int.random(in: 5...10, using: &random), remaining - 1)
            spansByService[service] += trace(service: Self.services[service], children: children)
            remaining -= children + 1
        }
        return ExportTraceServiceRequest(resourceSpans: spansByService.indices.compactMap { index in
            guard !spansByService[index].isEmpty else { return nil }
            let service = Self.services[index]
            return ResourceSpans(
                resource: service.resource,
                scopeSpans: [ScopeSpans(scope: InstrumentationScope(name: service.scope, version: "0.48b0"),
                                        spans: spansByService[index],
                                        schemaUrl: "https://opentelemetry.io/schemas/1.26.0")])
        })
    }

    /// One trace: the children first, then the root, as an SDK exports them (in end order).
    private mutating func trace(service: Service, children: Int) -> [Span] {
        let traceId = TraceID(high: random.next(), low: random.next())
        let rootId = spanId()
        let route = service.routes.randomElement(using: &random)!
        let start = baseTimeUnixNano - UInt64.random(in: 1_000_000_000...60_000_000_000, using: &random)
        let failing = Int.random(in: 0..<25, using: &random) == 0 && children > 0 ? Int.random(in: 0..<children, using: &random) : nil

        var spans: [Span] = []
        var cursor = start + UInt64.random(in: 50_000...400_000, using: &random)
        for index in 0..<children {
            let kind = Self.childKinds.randomElement(using: &random)!
            let duration = UInt64.random(in: 100_000...kind.maxDurationNano, using: &random)
            var span = Span(
                traceId: traceId, spanId: spanId(), parentSpanId: rootId, flags: 0x100,
                name: kind.name, kind: kind.kind, startTimeUnixNano: cursor, endTimeUnixNano: cursor + duration,
                attributes: childAttributes(kind, service: service),
                events: [SpanEvent(timeUnixNano: cursor + duration / 2, name: kind.event,
                                   attributes: [KeyValue(key: "step", value: .int(Int64(index))),
                                                KeyValue(key: "cache.hit", value: .bool(Bool.random(using: &random)))])])
            if index == failing {
                span.events = [exceptionEvent(kind, at: cursor + duration - 10_000)]
                span.status = SpanStatus(message: "\(kind.exceptionType): \(kind.exceptionMessage)", code: .error)
            }
            spans.append(span)
            cursor += duration + UInt64.random(in: 10_000...200_000, using: &random)
        }
        let end = cursor + UInt64.random(in: 50_000...300_000, using: &random)
        let status: Int64 = failing == nil ? (route.method == "POST" ? 201 : 200) : 500
        spans.append(Span(
            traceId: traceId, spanId: rootId, flags: 0x300, name: "\(route.method) \(route.path)", kind: .server,
            startTimeUnixNano: start, endTimeUnixNano: end,
            attributes: rootAttributes(route, service: service, status: status),
            events: [SpanEvent(timeUnixNano: start + 20_000, name: "request.authenticated",
                               attributes: [KeyValue(key: "auth.method", value: .string("bearer")),
                                            KeyValue(key: "user.role", value: .string(Self.roles.randomElement(using: &random)!))])],
            status: failing == nil ? SpanStatus() : SpanStatus(message: "Internal Server Error", code: .error)))
        return spans
    }

    private mutating func rootAttributes(_ route: Route, service: Service, status: Int64) -> [KeyValue] {
        let user = Int.random(in: 1...500, using: &random)
        return [
            KeyValue(key: "http.request.method", value: .string(route.method)),
            KeyValue(key: "http.route", value: .string(route.path)),
            KeyValue(key: "url.path", value: .string(route.path.replacingPlaceholder(with: Int.random(in: 1...99_999, using: &random)))),
            KeyValue(key: "url.scheme", value: .string("https")),
            KeyValue(key: "server.address", value: .string("\(service.name).internal")),
            KeyValue(key: "http.response.status_code", value: .int(status)),
            KeyValue(key: "user_agent.original", value: .string(Self.userAgents.randomElement(using: &random)!)),
            KeyValue(key: "client.address", value: .string("10.0.\(user % 250).\(user % 200 + 10)")),
            KeyValue(key: "user.email", value: .string("user\(user)@example.com")),
            KeyValue(key: "session.id", value: .string("sess-\(String(random.next() & 0xFFFFFF, radix: 16))")),
            KeyValue(key: "enterprise.department", value: .string(Self.departments[user % Self.departments.count])),
        ]
    }

    private mutating func childAttributes(_ kind: ChildKind, service: Service) -> [KeyValue] {
        var attributes = kind.attributes(&random)
        attributes.append(KeyValue(key: "code.function", value: .string(kind.function)))
        attributes.append(KeyValue(key: "code.namespace", value: .string("\(service.scope).handlers")))
        attributes.append(KeyValue(key: "thread.id", value: .int(Int64.random(in: 1...64, using: &random))))
        attributes.append(KeyValue(key: "latency.budget_ratio", value: .double(Double(Int.random(in: 1...1000, using: &random)) / 1000)))
        return attributes
    }

    private mutating func exceptionEvent(_ kind: ChildKind, at time: UInt64) -> SpanEvent {
        SpanEvent(timeUnixNano: time, name: "exception", attributes: [
            KeyValue(key: "exception.type", value: .string(kind.exceptionType)),
            KeyValue(key: "exception.message", value: .string(kind.exceptionMessage)),
            KeyValue(key: "exception.stacktrace", value: .string(Self.stacktrace(kind.exceptionType, kind.exceptionMessage, line: Int.random(in: 20...400, using: &random)))),
            KeyValue(key: "exception.escaped", value: .bool(false)),
        ])
    }

    private mutating func spanId() -> SpanID {
        // The low half is never zero, so an id stays valid whatever the sender writes over its high half.
        SpanID(random.next() | 1)
    }

    // MARK: Logs

    /// A request holding exactly `recordCount` log records, grouped by service and logger.
    mutating func logs(recordCount: Int) -> ExportLogsServiceRequest {
        var groups: [[[LogRecord]]] = Self.services.map { Array(repeating: [], count: $0.loggers.count) }
        for _ in 0..<recordCount {
            let service = Int.random(in: 0..<Self.services.count, using: &random)
            let logger = Int.random(in: 0..<Self.services[service].loggers.count, using: &random)
            groups[service][logger].append(record(service: Self.services[service]))
        }
        return ExportLogsServiceRequest(resourceLogs: groups.indices.compactMap { index in
            let service = Self.services[index]
            let scopes = groups[index].indices.compactMap { logger -> ScopeLogs? in
                groups[index][logger].isEmpty ? nil
                    : ScopeLogs(scope: InstrumentationScope(name: service.loggers[logger]), logRecords: groups[index][logger])
            }
            return scopes.isEmpty ? nil : ResourceLogs(resource: service.resource, scopeLogs: scopes)
        })
    }

    private mutating func record(service: Service) -> LogRecord {
        let level = Self.pickLevel(Int.random(in: 0..<100, using: &random))
        let time = baseTimeUnixNano - UInt64.random(in: 1_000_000_000...60_000_000_000, using: &random)
        let route = service.routes.randomElement(using: &random)!
        let number = Int.random(in: 1...99_999, using: &random)
        let user = Int.random(in: 1...500, using: &random)
        var attributes: [KeyValue] = [
            KeyValue(key: "code.filepath", value: .string("/app/\(service.name.replacing("-", with: "_"))/handlers.py")),
            KeyValue(key: "code.function", value: .string(Self.functions.randomElement(using: &random)!)),
            KeyValue(key: "code.lineno", value: .int(Int64.random(in: 10...900, using: &random))),
            KeyValue(key: "thread.name", value: .string("MainThread")),
            KeyValue(key: "http.route", value: .string(route.path)),
            KeyValue(key: "user.email", value: .string("user\(user)@example.com")),
            KeyValue(key: "request.id", value: .string(String(random.next(), radix: 16))),
        ]
        if user % 3 == 0 { attributes.append(KeyValue(key: "session.id", value: .string("sess-\(user * 7919 % 100_000)"))) }
        if level.number >= 17, Int.random(in: 0..<5, using: &random) > 0 {
            let kind = Self.childKinds.randomElement(using: &random)!
            attributes += [
                KeyValue(key: "exception.type", value: .string(kind.exceptionType)),
                KeyValue(key: "exception.message", value: .string(kind.exceptionMessage)),
                KeyValue(key: "exception.stacktrace", value: .string(Self.stacktrace(kind.exceptionType, kind.exceptionMessage, line: number % 400 + 20))),
            ]
        }
        var record = LogRecord(
            timeUnixNano: time, observedTimeUnixNano: time + UInt64.random(in: 10_000...2_000_000, using: &random),
            severityNumber: SeverityNumber(rawValue: level.number), severityText: level.text,
            body: .string(level.message(route, number)), attributes: attributes)
        if Bool.random(using: &random) {
            record.traceId = TraceID(high: random.next(), low: random.next())
            record.spanId = spanId()
            record.flags = 1
        }
        return record
    }

    // MARK: Metrics

    /// A request holding exactly `pointCount` data points, as a collector batching the periodic
    /// exports of many service instances sends them: per instance (its own resource) HTTP
    /// server duration histograms and request counters per route and status, active requests
    /// per route, and process memory and CPU gauges. Each point is its own series within the
    /// request; every point has the export time (in the minute before the base time) and the
    /// instance's start time.
    mutating func metrics(pointCount: Int) -> ExportMetricsServiceRequest {
        let exported = baseTimeUnixNano - UInt64.random(in: 1_000_000_000...60_000_000_000, using: &random)
        let started = exported - 3_600_000_000_000
        var resources: [ResourceMetrics] = []
        var remaining = pointCount
        var instance = 0
        while remaining > 0 {
            let service = Self.services[instance % Self.services.count]
            var metrics: [Metric] = []
            func take(_ wanted: Int) -> Int {
                let taken = min(wanted, remaining)
                remaining -= taken
                return taken
            }
            let statuses: [Int64] = [200, 500]
            let routeStatus = service.routes.flatMap { route in statuses.map { (route, $0) } }
            let durations = routeStatus.prefix(take(routeStatus.count)).map { route, status in
                var counts = Self.durationBounds.map { _ in UInt64.random(in: 0...40, using: &random) } + [UInt64.random(in: 0...3, using: &random)]
                counts[0] += 1
                let count = counts.reduce(0, +)
                return HistogramDataPoint(
                    attributes: Self.httpAttributes(route, status: status), startTimeUnixNano: started, timeUnixNano: exported,
                    count: count, sum: Double(count) * Double.random(in: 0.01...0.4, using: &random), bucketCounts: counts,
                    explicitBounds: Self.durationBounds, min: 0.001, max: Double.random(in: 0.5...9, using: &random))
            }
            if !durations.isEmpty {
                metrics.append(Metric(name: "http.server.request.duration", description: "Duration of HTTP server requests.", unit: "s",
                                      data: .histogram(Histogram(dataPoints: durations))))
            }
            let requests = routeStatus.prefix(take(routeStatus.count)).map { route, status in
                NumberDataPoint(attributes: Self.httpAttributes(route, status: status), startTimeUnixNano: started, timeUnixNano: exported,
                                value: .int(Int64.random(in: 1...50_000, using: &random)))
            }
            if !requests.isEmpty {
                metrics.append(Metric(name: "http.server.requests", unit: "{request}",
                                      data: .sum(Sum(dataPoints: requests, aggregationTemporality: .cumulative, isMonotonic: true))))
            }
            let active = service.routes.prefix(take(service.routes.count)).map { route in
                NumberDataPoint(attributes: [KeyValue(key: "http.request.method", value: .string(route.method)),
                                             KeyValue(key: "http.route", value: .string(route.path))],
                                startTimeUnixNano: started, timeUnixNano: exported, value: .int(Int64.random(in: 0...12, using: &random)))
            }
            if !active.isEmpty {
                metrics.append(Metric(name: "http.server.active_requests", unit: "{request}",
                                      data: .sum(Sum(dataPoints: active, aggregationTemporality: .cumulative, isMonotonic: false))))
            }
            if take(1) == 1 {
                metrics.append(Metric(name: "process.memory.usage", unit: "By", data: .gauge([NumberDataPoint(
                    startTimeUnixNano: started, timeUnixNano: exported, value: .int(Int64.random(in: 80_000_000...900_000_000, using: &random)))])))
            }
            let cpu = ["user", "system", "idle"].prefix(take(3)).map { state in
                NumberDataPoint(attributes: [KeyValue(key: "cpu.mode", value: .string(state))], startTimeUnixNano: started,
                                timeUnixNano: exported, value: .double(Double.random(in: 0...1, using: &random)))
            }
            if !cpu.isEmpty {
                metrics.append(Metric(name: "system.cpu.utilization", unit: "1", data: .gauge(cpu)))
            }
            var resource = service.resource
            resource.attributes = resource.attributes.map { attribute in
                attribute.key == "service.instance.id" ? KeyValue(key: attribute.key, value: .string("\(service.name)-\(instance)")) : attribute
            }
            resources.append(ResourceMetrics(
                resource: resource,
                scopeMetrics: [ScopeMetrics(scope: InstrumentationScope(name: service.scope, version: "0.48b0"), metrics: metrics)]))
            instance += 1
        }
        return ExportMetricsServiceRequest(resourceMetrics: resources)
    }

    private static func httpAttributes(_ route: Route, status: Int64) -> [KeyValue] {
        [KeyValue(key: "http.request.method", value: .string(route.method)), KeyValue(key: "http.route", value: .string(route.path)),
         KeyValue(key: "http.response.status_code", value: .int(status)), KeyValue(key: "url.scheme", value: .string("http"))]
    }

    /// The SDK's default bounds for `http.server.request.duration` (seconds).
    static let durationBounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

    // MARK: The catalogue

    struct Route { var method: String; var path: String }

    struct Service {
        var name: String
        var scope: String
        var routes: [Route]
        var loggers: [String]

        var resource: Resource {
            Resource(attributes: [
                KeyValue(key: "service.name", value: .string(name)),
                KeyValue(key: "service.version", value: .string("2.3.1")),
                KeyValue(key: "service.instance.id", value: .string("\(name)-7d9f8b6c5-x2k4q")),
                KeyValue(key: "deployment.environment", value: .string("production")),
                KeyValue(key: "host.name", value: .string("\(name)-node-3.internal")),
                KeyValue(key: "telemetry.sdk.language", value: .string("python")),
                KeyValue(key: "telemetry.sdk.name", value: .string("opentelemetry")),
                KeyValue(key: "telemetry.sdk.version", value: .string("1.45.2")),
            ])
        }
    }

    static let services: [Service] = [
        Service(name: "checkout-api", scope: "opentelemetry.instrumentation.fastapi",
                routes: [Route(method: "POST", path: "/api/checkout"), Route(method: "GET", path: "/api/cart/{id}"),
                         Route(method: "POST", path: "/api/cart/{id}/items")],
                loggers: ["checkout.handlers", "sqlalchemy.engine", "uvicorn.access"]),
        Service(name: "search-api", scope: "opentelemetry.instrumentation.flask",
                routes: [Route(method: "GET", path: "/api/search"), Route(method: "GET", path: "/api/products/{id}")],
                loggers: ["search.query", "elasticsearch"]),
        Service(name: "chat-api", scope: "opentelemetry.instrumentation.fastapi",
                routes: [Route(method: "POST", path: "/api/chat"), Route(method: "GET", path: "/api/conversations/{id}")],
                loggers: ["chat.rag", "openai._base_client", "uvicorn.access"]),
        Service(name: "auth-service", scope: "opentelemetry.instrumentation.django",
                routes: [Route(method: "POST", path: "/oauth/token"), Route(method: "GET", path: "/api/users/me")],
                loggers: ["auth.tokens", "django.request"]),
        Service(name: "inventory-service", scope: "opentelemetry.instrumentation.fastapi",
                routes: [Route(method: "GET", path: "/api/stock/{id}"), Route(method: "PUT", path: "/api/stock/{id}")],
                loggers: ["inventory.sync", "sqlalchemy.engine"]),
    ]

    struct ChildKind {
        var name: String
        var kind: SpanKind
        var function: String
        var event: String
        var maxDurationNano: UInt64
        var exceptionType: String
        var exceptionMessage: String
        /// The attributes particular to this kind of work (about six; four common ones follow).
        var attributes: @Sendable (inout SplitMix64) -> [KeyValue]
    }

    static let childKinds: [ChildKind] = [
        ChildKind(name: "SELECT orders", kind: .client, function: "load_order", event: "db.query.sent", maxDurationNano: 40_000_000,
                  exceptionType: "psycopg.errors.QueryCanceled", exceptionMessage: "canceling statement due to statement timeout") { random in
            [KeyValue(key: "db.system", value: .string("postgresql")),
             KeyValue(key: "db.namespace", value: .string("shop")),
             KeyValue(key: "db.operation.name", value: .string("SELECT")),
             KeyValue(key: "db.query.text", value: .string("SELECT id, status, total FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20")),
             KeyValue(key: "server.address", value: .string("postgres-primary.internal")),
             KeyValue(key: "server.port", value: .int(5432)),
             KeyValue(key: "db.response.returned_rows", value: .int(Int64.random(in: 0...20, using: &random)))]
        },
        ChildKind(name: "GET", kind: .client, function: "cache_get", event: "cache.lookup", maxDurationNano: 3_000_000,
                  exceptionType: "redis.exceptions.TimeoutError", exceptionMessage: "Timeout reading from socket") { random in
            [KeyValue(key: "db.system", value: .string("redis")),
             KeyValue(key: "db.operation.name", value: .string("GET")),
             KeyValue(key: "db.namespace", value: .string("0")),
             KeyValue(key: "server.address", value: .string("redis.internal")),
             KeyValue(key: "server.port", value: .int(6379)),
             KeyValue(key: "cache.key", value: .string("cart:\(Int.random(in: 1...99_999, using: &random))"))]
        },
        ChildKind(name: "POST", kind: .client, function: "authorize_payment", event: "http.response.headers", maxDurationNano: 120_000_000,
                  exceptionType: "httpx.ReadTimeout", exceptionMessage: "The read operation timed out") { random in
            [KeyValue(key: "http.request.method", value: .string("POST")),
             KeyValue(key: "url.full", value: .string("https://payments.internal/v2/authorizations")),
             KeyValue(key: "server.address", value: .string("payments.internal")),
             KeyValue(key: "server.port", value: .int(443)),
             KeyValue(key: "http.response.status_code", value: .int(200)),
             KeyValue(key: "http.request.body.size", value: .int(Int64.random(in: 200...4000, using: &random)))]
        },
        ChildKind(name: "chat gpt-4o", kind: .client, function: "generate_answer", event: "gen_ai.content.completion", maxDurationNano: 400_000_000,
                  exceptionType: "openai.RateLimitError", exceptionMessage: "Rate limit reached for gpt-4o") { random in
            [KeyValue(key: "gen_ai.system", value: .string("openai")),
             KeyValue(key: "gen_ai.operation.name", value: .string("chat")),
             KeyValue(key: "gen_ai.request.model", value: .string("gpt-4o")),
             KeyValue(key: "gen_ai.response.model", value: .string("gpt-4o-2024-08-06")),
             KeyValue(key: "gen_ai.usage.input_tokens", value: .int(Int64.random(in: 200...4000, using: &random))),
             KeyValue(key: "gen_ai.usage.output_tokens", value: .int(Int64.random(in: 20...800, using: &random)))]
        },
        ChildKind(name: "validate_request", kind: .internal, function: "validate", event: "validation.passed", maxDurationNano: 2_000_000,
                  exceptionType: "pydantic.ValidationError", exceptionMessage: "1 validation error for CartItem quantity") { random in
            [KeyValue(key: "validation.schema", value: .string("CartItem")),
             KeyValue(key: "validation.fields", value: .int(Int64.random(in: 3...30, using: &random))),
             KeyValue(key: "validation.strict", value: .bool(true)),
             KeyValue(key: "feature.flags", value: .array([.string("new-pricing"), .string("fast-checkout")])),
             KeyValue(key: "app.tenant", value: .string("tenant-\(Int.random(in: 1...40, using: &random))")),
             KeyValue(key: "app.region", value: .string("eu-west-1"))]
        },
        ChildKind(name: "render_response", kind: .internal, function: "render", event: "template.rendered", maxDurationNano: 8_000_000,
                  exceptionType: "jinja2.exceptions.UndefinedError", exceptionMessage: "'price' is undefined") { random in
            [KeyValue(key: "template.name", value: .string("cart.json.j2")),
             KeyValue(key: "response.bytes", value: .int(Int64.random(in: 500...50_000, using: &random))),
             KeyValue(key: "response.compressed", value: .bool(Bool.random(using: &random))),
             KeyValue(key: "response.items", value: .int(Int64.random(in: 0...50, using: &random))),
             KeyValue(key: "app.tenant", value: .string("tenant-\(Int.random(in: 1...40, using: &random))")),
             KeyValue(key: "app.region", value: .string("eu-west-1"))]
        },
        ChildKind(name: "rag_retrieve", kind: .internal, function: "retrieve", event: "cache_miss", maxDurationNano: 60_000_000,
                  exceptionType: "qdrant_client.http.exceptions.ResponseHandlingException", exceptionMessage: "timed out") { random in
            [KeyValue(key: "rag.top_k", value: .int(5)),
             KeyValue(key: "rag.collection", value: .string("docs")),
             KeyValue(key: "embedding.model", value: .string("text-embedding-3-small")),
             KeyValue(key: "embedding.dimensions", value: .int(1536)),
             KeyValue(key: "vector.results", value: .int(Int64.random(in: 0...5, using: &random))),
             KeyValue(key: "rag.score_threshold", value: .double(0.72))]
        },
    ]

    struct Level {
        var number: Int32
        var text: String
        var message: @Sendable (Route, Int) -> String
    }

    static let levels: [(percent: Int, level: Level)] = [
        (15, Level(number: 5, text: "DEBUG") { _, n in "cache lookup key=cart:\(n) hit=\(n % 3 == 0)" }),
        (55, Level(number: 9, text: "INFO") { route, n in "\(route.method) \(route.path) completed status=200 duration_ms=\(n % 900 + 3)" }),
        (15, Level(number: 13, text: "WARN") { _, n in "slow query on orders took \(n % 2000 + 200) ms (threshold 200 ms)" }),
        (12, Level(number: 17, text: "ERROR") { _, n in "payment authorization failed for order \(n): card_declined" }),
        (3, Level(number: 21, text: "FATAL") { _, n in "database connection pool exhausted; stopping worker \(n % 16)" }),
    ]

    static func pickLevel(_ percentile: Int) -> Level {
        var threshold = 0
        for (percent, level) in levels {
            threshold += percent
            if percentile < threshold { return level }
        }
        return levels[levels.count - 1].level
    }

    static let roles = ["customer", "admin", "support", "service"]
    static let departments = ["engineering", "sales", "support", "finance", "marketing"]
    static let functions = ["handle_request", "load_cart", "apply_discount", "authorize", "sync_stock", "search"]
    static let userAgents = [
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        "python-httpx/0.27.0",
        "okhttp/4.12.0",
    ]

    static func stacktrace(_ type: String, _ message: String, line: Int) -> String {
        """
        Traceback (most recent call last):
          File "/app/.venv/lib/python3.12/site-packages/starlette/middleware/errors.py", line 164, in __call__
            await self.app(scope, receive, _send)
          File "/app/service/handlers.py", line \(line), in handle_request
            result = await backend.call(payload)
          File "/app/service/backend.py", line \(line / 2 + 7), in call
            raise \(type)(message)
        \(type): \(message)
        """
    }
}

extension String {
    /// The route with its `{id}` placeholder replaced by a number.
    fileprivate func replacingPlaceholder(with number: Int) -> String {
        replacing("{id}", with: String(number))
    }
}

/// A small, fast, seedable generator (SplitMix64), so a run's traffic can be repeated.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finaliser: a bijection on 64-bit values that looks random.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
