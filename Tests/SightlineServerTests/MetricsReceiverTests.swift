import Foundation
import OTLP
import StoreTestSupport
import Testing

/// `POST /v1/metrics`: OTLP metrics in JSON and protobuf, stored as series and points, with
/// the receiver's rules for traces and logs (partial success, 400 naming the field).
@Suite struct MetricsReceiverTests {
    static let protobuf = "application/x-protobuf"
    static let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)

    /// A request with every kind of metric, host memory use among them.
    static func request(time: UInt64 = now) -> ExportMetricsServiceRequest {
        let trace = TraceID(hex: "5b8efff798038103d269b633813fc60c")!
        let span = SpanID(hex: "eee19b7ec3c1b174")!
        let metrics = [
            Metric(name: "orders", unit: "1", data: .sum(Sum(dataPoints: [
                NumberDataPoint(attributes: [KeyValue(key: "shop", value: .string("north"))], startTimeUnixNano: time - 60_000_000_000,
                                timeUnixNano: time, value: .int(42),
                                exemplars: [Exemplar(timeUnixNano: time, value: .int(1), spanId: span, traceId: trace)]),
            ], aggregationTemporality: .cumulative, isMonotonic: true))),
            Metric(name: "queue.depth", data: .sum(Sum(dataPoints: [NumberDataPoint(timeUnixNano: time, value: .double(-3))],
                                                      aggregationTemporality: .delta, isMonotonic: false))),
            Metric(name: "system.memory.utilization", unit: "1", data: .gauge([
                NumberDataPoint(attributes: [KeyValue(key: "system.memory.state", value: .string("used"))], timeUnixNano: time, value: .double(0.75)),
                NumberDataPoint(attributes: [KeyValue(key: "system.memory.state", value: .string("free"))], timeUnixNano: time, value: .double(0.25)),
            ])),
            Metric(name: "http.server.request.duration", unit: "s", data: .histogram(Histogram(dataPoints: [
                HistogramDataPoint(timeUnixNano: time, count: 3, sum: 0.6, bucketCounts: [1, 2, 0], explicitBounds: [0.1, 0.5], min: 0.05, max: 0.3),
            ]))),
            Metric(name: "latency.exp", unit: "s", data: .exponentialHistogram(ExponentialHistogram(dataPoints: [
                ExponentialHistogramDataPoint(timeUnixNano: time, count: 4, sum: 10, scale: 1, zeroCount: 1,
                                              positive: .init(offset: 2, bucketCounts: [1, 2])),
            ], aggregationTemporality: .delta))),
            Metric(name: "rpc.latency", data: .summary([
                SummaryDataPoint(timeUnixNano: time, count: 10, sum: 55, quantileValues: [.init(quantile: 0.5, value: 5), .init(quantile: 1, value: 10)]),
            ])),
        ]
        return ExportMetricsServiceRequest(resourceMetrics: [ResourceMetrics(
            resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("shop"))]),
            scopeMetrics: [ScopeMetrics(scope: InstrumentationScope(name: "test"), metrics: metrics)])])
    }

    @Test(arguments: StoreKind.available)
    func protobufMetricsOfEveryKindAreStored(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let body = Array(OTLPProtobufEncoder.encode(Self.request()))
            let answer = try await server.post("/v1/metrics", body, contentType: Self.protobuf)
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "Content-Type") == Self.protobuf)
            #expect(answer.bytes.isEmpty, "no partialSuccess")
            #expect(try await server.count("metric_series") == 7)
            #expect(try await server.count("metric_points") == 7)

            let orders = try #require(try await server.rows("""
                SELECT p.*, s.type, s.temporality, s.unit, s.service_name FROM enterprise.metric_points p
                JOIN enterprise.metric_series s ON s.series_id = p.series_id WHERE s.name = 'orders'
                """).first)
            #expect(orders.double("value") == 42)
            #expect(orders.string("type") == "sum")
            #expect(orders.string("temporality") == "cumulative")
            #expect(orders.string("service_name") == "shop")
            #expect(orders.string("exemplars")?.contains("5b8efff798038103d269b633813fc60c") == true)

            let histogram = try #require(try await server.rows("""
                SELECT p.* FROM enterprise.metric_points p JOIN enterprise.metric_series s ON s.series_id = p.series_id
                WHERE s.name = 'http.server.request.duration'
                """).first)
            #expect(histogram.int("count") == 3)
            #expect(histogram.double("sum") == 0.6)
            let buckets = try #require(histogram.string("buckets"))
            #expect(buckets.replacingOccurrences(of: " ", with: "").contains("\"counts\":[1,2,0]"))

            // Host memory use fills the host readings (system_metrics), as a percentage.
            let memory = try await server.rows("SELECT * FROM enterprise.system_metrics")
            #expect(memory.count == 1)
            #expect(memory.first?.string("metric_type") == "memory")
            #expect(memory.first?.string("metric_name") == "memory_percent")
            #expect(memory.first?.double("value") == 75)

            // A re-sent export stores each point once.
            let again = try await server.post("/v1/metrics", body, contentType: Self.protobuf)
            #expect(again.status == 200)
            #expect(try await server.count("metric_points") == 7)
            #expect(try await server.count("metric_series") == 7)
        }
    }

    @Test(arguments: StoreKind.available)
    func theSchemaExamplePayloadIsStored(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let answer = try await server.post("/v1/metrics", try fixture("otlp-examples/metrics.json"))
            #expect(answer.status == 200, "\(answer.body)")
            #expect(answer.body == "{}")
            let names = try await server.rows("SELECT DISTINCT name FROM enterprise.metric_series ORDER BY name").compactMap { $0.string("name") }
            #expect(names.contains("my.counter"))
            #expect(names.contains("my.gauge"))
            #expect(names.contains("my.histogram"))
            let counter = try #require(try await server.rows("""
                SELECT p.value FROM enterprise.metric_points p JOIN enterprise.metric_series s ON s.series_id = p.series_id
                WHERE s.name = 'my.counter'
                """).first)
            #expect(counter.double("value") == 5)
        }
    }

    @Test(arguments: StoreKind.available)
    func anInvalidMetricIsRejectedAloneAndNamed(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let good = """
                {"name":"ok","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"\(Self.now)"}]}}
                """
            let noData = #"{"name":"empty"}"#
            let badBuckets = """
                {"name":"h","histogram":{"dataPoints":[{"count":"1","bucketCounts":["1"],"explicitBounds":[1.0],"timeUnixNano":"\(Self.now)"}]}}
                """
            func body(_ metrics: [String]) -> [UInt8] {
                Array(#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[\#(metrics.joined(separator: ","))]}]}]}"#.utf8)
            }
            let partial = try await server.post("/v1/metrics", body([good, noData]))
            #expect(partial.status == 200)
            let success = try #require(partial.json?["partialSuccess"] as? [String: Any])
            #expect(success["rejectedDataPoints"] as? String == "1")
            #expect((success["errorMessage"] as? String)?.contains("resourceMetrics[0].scopeMetrics[0].metrics[1]") == true)
            #expect(try await server.count("metric_points") == 1)

            let refused = try await server.post("/v1/metrics", body([badBuckets]))
            #expect(refused.status == 400)
            #expect(refused.body.contains("metrics[0].histogram.dataPoints[0].bucketCounts"), "\(refused.body)")

            // The same rule in protobuf.
            var request = Self.request()
            request.resourceMetrics[0].scopeMetrics[0].metrics = [Metric(name: "", data: .gauge([NumberDataPoint(value: .int(1))]))]
            let unnamed = try await server.post("/v1/metrics", Array(OTLPProtobufEncoder.encode(request)), contentType: Self.protobuf)
            #expect(unnamed.status == 400)
            let status = try OTLPProtobufResponse.status(from: Data(unnamed.bytes))
            #expect(status.message.contains("metrics[0].name"), "\(status.message)")
        }
    }
}

/// `GET /api/observability/metrics` and `/metrics/{name}/series` over what `/v1/metrics` stored.
@Suite struct MetricsAPITests {
    @Test(arguments: StoreKind.available)
    func metricsAreListedAndTheirSeriesRead(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)
            var request = MetricsReceiverTests.request(time: now - 120_000_000_000)
            _ = try await server.post("/v1/metrics", Array(OTLPProtobufEncoder.encode(request)), contentType: MetricsReceiverTests.protobuf)
            request = MetricsReceiverTests.request(time: now - 1_000_000_000)
            let answer = try await server.post("/v1/metrics", Array(OTLPProtobufEncoder.encode(request)), contentType: MetricsReceiverTests.protobuf)
            #expect(answer.status == 200)

            let list = try await server.get(server.api + "/api/observability/metrics?hours=1")
            #expect(list.status == 200)
            let metrics = try #require(list.json?["metrics"] as? [[String: Any]])
            let orders = try #require(metrics.first { $0["name"] as? String == "orders" })
            #expect(orders["type"] as? String == "sum")
            #expect(orders["unit"] as? String == "1")
            #expect(orders["series_count"] as? Int == 1)
            #expect(metrics.first { $0["name"] as? String == "system.memory.utilization" }?["series_count"] as? Int == 2)

            let series = try await server.get(server.api + "/api/observability/metrics/system.memory.utilization/series?hours=1&step=60&attr.system.memory.state=used")
            #expect(series.status == 200, "\(series.body)")
            let found = try #require(series.json?["series"] as? [[String: Any]])
            #expect(found.count == 1)
            let attributes = found.first?["attributes"] as? [String: Any]
            #expect(attributes?["system.memory.state"] as? String == "used")
            let points = try #require(found.first?["points"] as? [[String: Any]])
            #expect(points.map { $0["samples"] as? Int ?? 0 }.reduce(0, +) == 2)
            #expect(points.allSatisfy { $0["avg"] as? Double == 0.75 })

            let bad = try await server.get(server.api + "/api/observability/metrics/orders/series?step=0")
            #expect(bad.status == 400)
            #expect(bad.body.contains("step"))
        }
    }
}

/// `GET /metrics/otlp`: the stored OTLP metrics as the Collector's `prometheus` exporter shows them.
@Suite struct OTLPExpositionTests {
    @Test(arguments: StoreKind.available)
    func storedMetricsAreExposedTranslated(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)
            // Two exports: the cumulative counter moves 42 → 42 (same point again, then a new one at 50),
            // the delta sum -3 twice adds up to -6.
            var request = MetricsReceiverTests.request(time: now - 2_000_000_000)
            request.resourceMetrics[0].resource.attributes += [
                KeyValue(key: "service.namespace", value: .string("acme")),
                KeyValue(key: "service.instance.id", value: .string("i-1")),
                KeyValue(key: "host.name", value: .string("box")),
            ]
            _ = try await server.post("/v1/metrics", Array(OTLPProtobufEncoder.encode(request)), contentType: MetricsReceiverTests.protobuf)
            var later = MetricsReceiverTests.request(time: now - 1_000_000_000)
            later.resourceMetrics[0].resource = request.resourceMetrics[0].resource
            if case .sum(var sum) = later.resourceMetrics[0].scopeMetrics[0].metrics[0].data {
                sum.dataPoints[0].value = .int(50)
                later.resourceMetrics[0].scopeMetrics[0].metrics[0].data = .sum(sum)
            }
            _ = try await server.post("/v1/metrics", Array(OTLPProtobufEncoder.encode(later)), contentType: MetricsReceiverTests.protobuf)

            let answer = try await server.get(server.api + "/metrics/otlp")
            #expect(answer.status == 200)
            #expect(answer.headers.first(name: "Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            let text = answer.body
            let target = #"instance="i-1",job="acme/shop""#
            for line in [
                "# TYPE orders_total counter",
                #"orders_total{instance="i-1",job="acme/shop",shop="north"} 50"#,
                "# TYPE queue_depth gauge",
                #"queue_depth{\#(target)} -6"#,
                "# TYPE system_memory_utilization_ratio gauge",
                #"system_memory_utilization_ratio{\#(target),system_memory_state="used"} 0.75"#,
                "# TYPE http_server_request_duration_seconds histogram",
                #"http_server_request_duration_seconds_bucket{\#(target),le="0.1"} 1"#,
                #"http_server_request_duration_seconds_bucket{\#(target),le="0.5"} 3"#,
                #"http_server_request_duration_seconds_bucket{\#(target),le="+Inf"} 3"#,
                #"http_server_request_duration_seconds_count{\#(target)} 3"#,
                "# TYPE latency_exp_seconds histogram",
                #"latency_exp_seconds_count{\#(target)} 8"#,
                "# TYPE rpc_latency summary",
                #"rpc_latency{\#(target),quantile="0.5"} 5"#,
                #"target_info{host_name="box",\#(target)} 1"#,
            ] {
                #expect(text.contains(line + "\n"), "missing \(line) in:\n\(text)")
            }

            // promtool, when installed (script/test installs it), accepts the text.
            let promtool = "/usr/bin/promtool"
            if FileManager.default.isExecutableFile(atPath: promtool) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: promtool)
                process.arguments = ["check", "metrics"]
                let input = Pipe(), output = Pipe()
                process.standardInput = input
                process.standardOutput = output
                process.standardError = output
                try process.run()
                input.fileHandleForWriting.write(Data(text.utf8))
                try input.fileHandleForWriting.close()
                let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "promtool check metrics: \(report)")
            }
        }
    }
}
