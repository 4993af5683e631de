import Foundation
import OTLP
import SightlineServer
import StoreTestSupport
import Testing

/// The query API (docs/api.md) on data ingested through the real receiver, on both stores.
@Suite struct QueryAPITests {
    static let hour: UInt64 = 3_600_000_000_000
    static let millisecond: UInt64 = 1_000_000

    /// A shop's traces in the last hour and one old trace of another service.
    struct Dataset {
        let now = UInt64(Date.now.timeIntervalSince1970 * 1e9)
        /// Root durations in ms of the six `shop` traces; the last one fails.
        let durations: [UInt64] = [10, 20, 30, 40, 50, 1000]
        let users = ["alice", "alice", "alice", "bob", "bob", "bob"]
        let roots = ["GET /cart", "GET /cart", "GET /cart", "GET /cart", "POST /pay", "POST /pay"]

        func traceID(_ index: Int) -> TraceID { TraceID(high: 0xABCD, low: UInt64(index + 1)) }

        func start(_ index: Int) -> UInt64 { now - Self.hour + UInt64(index) * 60_000_000_000 }

        static let hour = QueryAPITests.hour

        var shopTraces: ExportTraceServiceRequest {
            var spans: [Span] = []
            for index in durations.indices {
                let start = start(index)
                let rootID = SpanID(UInt64(index * 10 + 1))
                let failed = index == durations.count - 1
                spans.append(Span(
                    traceId: traceID(index), spanId: rootID, name: roots[index], kind: .server,
                    startTimeUnixNano: start, endTimeUnixNano: start + durations[index] * QueryAPITests.millisecond,
                    attributes: [KeyValue(key: "user.email", value: .string("\(users[index])@example.com")),
                                 KeyValue(key: "http.route", value: .string(roots[index].split(separator: " ")[1].description))],
                    status: failed ? SpanStatus(message: "card declined", code: .error) : SpanStatus()))
                // The failing trace's query fails too, with an exception event.
                let exception = SpanEvent(timeUnixNano: start + 2 * QueryAPITests.millisecond, name: "exception", attributes: [
                    KeyValue(key: "exception.type", value: .string("ValueError")),
                    KeyValue(key: "exception.message", value: .string("bad value 42")),
                ])
                spans.append(Span(traceId: traceID(index), spanId: SpanID(UInt64(index * 10 + 2)), parentSpanId: rootID,
                                  name: "db", kind: .client, startTimeUnixNano: start + 1 * QueryAPITests.millisecond,
                                  endTimeUnixNano: start + 4 * QueryAPITests.millisecond, events: failed ? [exception] : [],
                                  status: failed ? SpanStatus(message: "query failed", code: .error) : SpanStatus()))
                spans.append(Span(traceId: traceID(index), spanId: SpanID(UInt64(index * 10 + 3)), parentSpanId: SpanID(UInt64(index * 10 + 2)),
                                  name: "cache", kind: .internal, startTimeUnixNano: start + 2 * QueryAPITests.millisecond,
                                  endTimeUnixNano: start + 3 * QueryAPITests.millisecond))
            }
            return Self.request(service: "shop", spans: spans)
        }

        /// One `auth` trace 30 hours ago: outside the default 24-hour window.
        var oldTrace: ExportTraceServiceRequest {
            let start = now - 30 * Self.hour
            return Self.request(service: "auth", spans: [Span(
                traceId: TraceID(high: 0xABCD, low: 99), spanId: SpanID(999), name: "login", kind: .server,
                startTimeUnixNano: start, endTimeUnixNano: start + 5 * QueryAPITests.millisecond)])
        }

        static func request(service: String, spans: [Span]) -> ExportTraceServiceRequest {
            ExportTraceServiceRequest(resourceSpans: [ResourceSpans(
                resource: Resource(attributes: [KeyValue(key: "service.name", value: .string(service))]),
                scopeSpans: [ScopeSpans(scope: InstrumentationScope(name: "test"), spans: spans)])])
        }

        var logs: ExportLogsServiceRequest {
            func record(_ minutesAgo: UInt64, _ severity: Int32, _ text: String, _ message: String,
                        trace: TraceID? = nil, attributes: [KeyValue] = []) -> LogRecord {
                LogRecord(timeUnixNano: now - minutesAgo * 60_000_000_000, severityNumber: SeverityNumber(rawValue: severity),
                          severityText: text, body: .string(message), attributes: attributes, traceId: trace,
                          spanId: trace.map { _ in SpanID(61) })
            }
            let failure = [KeyValue(key: "exception.type", value: .string("CardError")),
                           KeyValue(key: "exception.message", value: .string("declined")),
                           KeyValue(key: "user.email", value: .string("bob@example.com"))]
            let shop = ScopeLogs(scope: InstrumentationScope(name: "shop.http"), logRecords: [
                record(50, 9, "INFO", "user logged in"),
                record(40, 9, "INFO", "user logged in again"),
                record(30, 9, "INFO", "cart updated"),
                record(20, 13, "WARN", "disk almost full"),
                record(10, 17, "ERROR", "payment failed: card declined", trace: traceID(5), attributes: failure),
                record(5, 17, "ERROR", "payments failing for card 4242", trace: traceID(5), attributes: failure),
            ])
            let auth = ScopeLogs(scope: InstrumentationScope(name: "auth.tokens"), logRecords: [
                record(15, 5, "DEBUG", "token refreshed"),
                record(30 * 60, 9, "INFO", "an old record"),
            ])
            return ExportLogsServiceRequest(resourceLogs: [
                ResourceLogs(resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("shop"))]), scopeLogs: [shop]),
                ResourceLogs(resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("auth"))]), scopeLogs: [auth]),
            ])
        }
    }

    /// Starts Sightline on `kind`, ingests the dataset through the receiver, runs `body`.
    func withData(_ kind: StoreKind, flags: [Setting: String] = [:],
                  _ body: @Sendable (TestServer, Dataset) async throws -> Void) async throws {
        try await TestServer.with(kind, flags: flags) { server in
            let data = Dataset()
            for request in [data.shopTraces, data.oldTrace] {
                let answer = try await server.post("/v1/traces", Array(OTLPProtobufEncoder.encode(request)),
                                                   contentType: "application/x-protobuf")
                try #require(answer.status == 200)
            }
            let logs = try await server.post("/v1/logs", Array(OTLPProtobufEncoder.encode(data.logs)), contentType: "application/x-protobuf")
            try #require(logs.status == 200)
            try await body(server, data)
        }
    }

    func get(_ server: TestServer, _ path: String, headers: [(String, String)] = []) async throws -> Answer {
        try await server.request(server.api + "/api/observability" + path, method: .GET, body: nil, contentType: nil, headers: headers)
    }

    func object(_ answer: Answer, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        #expect(answer.status == 200, "\(answer.body)", sourceLocation: sourceLocation)
        #expect(answer.headers.first(name: "Content-Type") == "application/json", sourceLocation: sourceLocation)
        return try #require(answer.json, "not a JSON object: \(answer.body)", sourceLocation: sourceLocation)
    }

    func list(_ object: [String: Any], _ key: String) -> [[String: Any]] { object[key] as? [[String: Any]] ?? [] }

    // MARK: Traces

    @Test(arguments: StoreKind.available)
    func traceListFiltersAndPages(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            // Sightline traces these requests into the same store (service `sightline`): filter by service.
            let all = try object(try await get(server, "/traces?service=shop"))
            #expect(all["total"] as? Int == 6)
            #expect(all["limit"] as? Int == 50 && all["offset"] as? Int == 0)
            let traces = list(all, "traces")
            // Newest first.
            #expect(traces.map { $0["trace_id"] as? String } == (0..<6).reversed().map { data.traceID($0).hex })
            let failed = try #require(traces.first)
            #expect(failed["status"] as? String == "error")
            #expect(failed["error_message"] as? String == "card declined")
            #expect(failed["service_name"] as? String == "shop")
            #expect(failed["endpoint"] as? String == "/pay")
            #expect((failed["duration_ms"] as? Double).map { abs($0 - 1000) < 0.001 } == true)
            #expect((failed["tags"] as? [String: Any])?["http.route"] as? String == "/pay", "tags are a JSON object")

            let page = try object(try await get(server, "/traces?service=shop&limit=2&offset=2"))
            #expect(page["total"] as? Int == 6)
            #expect(list(page, "traces").map { $0["trace_id"] as? String } == traces[2..<4].map { $0["trace_id"] as? String })

            func count(_ query: String) async throws -> (Int?, Int) {
                let scoped = query.contains("service=") ? query : query + "&service=shop"
                let answer = try object(try await get(server, "/traces?" + scoped))
                return (answer["total"] as? Int, list(answer, "traces").count)
            }
            #expect(try await count("status=error") == (1, 1))
            #expect(try await count("status=completed") == (5, 5))
            #expect(try await count("user_email=alice@example.com") == (3, 3))
            #expect(try await count("min_duration_ms=45") == (2, 2))
            #expect(try await count("operation=POST%20/pay") == (2, 2))
            #expect(try await count("operation=cache") == (6, 6))
            #expect(try await count("service=auth") == (0, 0))
            #expect(try await count("service=auth&hours=48") == (1, 1))
            #expect(try await count("hours=48") == (6, 6))
            let sightline = try object(try await get(server, "/traces?service=sightline"))
            #expect((sightline["total"] as? Int ?? 0) > 0, "the API's own requests are traced")
            #expect(try await count("service=shop&user_email=bob@example.com&min_duration_ms=45&limit=1") == (2, 1))
        }
    }

    @Test(arguments: StoreKind.available)
    func traceByIdHasAWaterfall(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let id = data.traceID(5).hex
            let answer = try object(try await get(server, "/traces/\(id.uppercased())"))
            let trace = try #require(answer["trace"] as? [String: Any])
            #expect(trace["trace_id"] as? String == id)
            #expect(trace["root_span_name"] as? String == "POST /pay")
            let spans = list(answer, "spans")
            #expect(spans.map { $0["operation_name"] as? String } == ["POST /pay", "db", "cache"])
            #expect(spans.map { $0["depth"] as? Int } == [0, 1, 2])
            #expect(spans.map { $0["parent_span_id"] as? String } == [nil, SpanID(51).hex, SpanID(52).hex])
            #expect(spans[0]["attributes"] is [Any], "attributes are JSON")
            #expect(spans[0]["status_code"] as? Int == 2)

            let missing = try await get(server, "/traces/" + String(repeating: "e", count: 32))
            #expect(missing.status == 404)
            #expect(missing.json?["error"] as? String == "trace \(String(repeating: "e", count: 32)) not found")
            let bad = try await get(server, "/traces/xyz")
            #expect(bad.status == 400)
            #expect((bad.json?["error"] as? String)?.hasPrefix("trace_id:") == true)
        }
    }

    /// `percentile_cont`: linear interpolation between the ranked values around p × (n − 1).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        let position = p * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }

    static func rounded(_ value: Double, _ places: Int) -> Double {
        let scale = places == 1 ? 10.0 : 100.0
        return (value * scale).rounded() / scale
    }

    @Test(arguments: StoreKind.available)
    func traceSummaryMatchesAnIndependentComputation(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let summary = try object(try await get(server, "/traces/stats/summary?service=shop"))
            let durations = data.durations.map { Double($0) }.sorted()
            #expect(summary["period_hours"] as? Int == 24)
            #expect(summary["total_traces"] as? Int == 6)
            #expect(summary["completed"] as? Int == 5)
            #expect(summary["errors"] as? Int == 1)
            #expect(summary["error_rate"] as? Double == Self.rounded(100.0 / 6, 2))
            #expect(summary["avg_duration_ms"] as? Double == Self.rounded(durations.reduce(0, +) / 6, 1))
            #expect(summary["p50_ms"] as? Double == Self.rounded(Self.percentile(durations, 0.5), 1))
            #expect(summary["p95_ms"] as? Double == Self.rounded(Self.percentile(durations, 0.95), 1))
            #expect(summary["p99_ms"] as? Double == Self.rounded(Self.percentile(durations, 0.99), 1))
            let slow = list(summary, "slow_operations")
            #expect(slow.map { $0["operation_name"] as? String } == ["POST /pay", "GET /cart", "db", "cache"])
            #expect(slow.first?["count"] as? Int == 2)
            #expect(slow.first?["avg_ms"] as? Double == 525.0)
            #expect(slow.first?["max_ms"] as? Double == 1000.0)

            let wider = try object(try await get(server, "/traces/stats/summary?hours=48&service=auth"))
            #expect(wider["total_traces"] as? Int == 1)
            #expect(list(wider, "slow_operations").map { $0["operation_name"] as? String } == ["login"])
        }
    }

    // MARK: Logs

    @Test(arguments: StoreKind.available)
    func logListFiltersSearchesAndPages(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let all = try object(try await get(server, "/logs"))
            #expect(all["total"] as? Int == 7)
            let logs = list(all, "logs")
            #expect(logs.map { $0["message"] as? String } == [
                "payments failing for card 4242", "payment failed: card declined", "token refreshed", "disk almost full",
                "cart updated", "user logged in again", "user logged in",
            ])
            let newest = try #require(logs.first)
            #expect(newest["level"] as? String == "ERROR")
            #expect(newest["exception_type"] as? String == "CardError")
            #expect(newest["trace_id"] as? String == data.traceID(5).hex)
            #expect(newest["service_name"] as? String == "shop")
            #expect(newest["extra"] is [String: Any], "extra is a JSON object")

            func messages(_ query: String) async throws -> [String] {
                let answer = try object(try await get(server, "/logs?" + query))
                let found = list(answer, "logs").compactMap { $0["message"] as? String }
                #expect(answer["total"] as? Int == found.count, "\(query)")
                return found
            }
            #expect(try await messages("level=ERROR").count == 2)
            #expect(try await messages("level=warn") == ["disk almost full"])
            #expect(try await messages("level=debug&service=auth") == ["token refreshed"])
            #expect(try await messages("logger_name=http").count == 6)
            #expect(try await messages("logger_name=tok") == ["token refreshed"])
            #expect(try await messages("trace_id=\(data.traceID(5).hex)").count == 2)
            #expect(try await messages("user_email=bob@example.com").count == 2)
            #expect(try await messages("hours=48").count == 8)
            // Full text, English stemming: "payments" finds "payment" and "payments"; every word must occur.
            #expect(try await messages("search=payments") == ["payments failing for card 4242", "payment failed: card declined"])
            #expect(try await messages("search=card%20declined") == ["payment failed: card declined"])
            #expect(try await messages("search=logged") == ["user logged in again", "user logged in"])
            #expect(try await messages("search=%22%2A%20OR%20(") == [], "FTS syntax in the search is taken as text")

            let page = try object(try await get(server, "/logs?limit=3&offset=3"))
            #expect(page["total"] as? Int == 7)
            #expect(list(page, "logs").map { $0["message"] as? String } == logs[3..<6].map { $0["message"] as? String })
        }
    }

    @Test(arguments: StoreKind.available)
    func logByIdAndLevelCounts(_ kind: StoreKind) async throws {
        try await withData(kind) { server, _ in
            let newest = try #require(list(try object(try await get(server, "/logs?limit=1")), "logs").first)
            let id = try #require(newest["id"] as? String)
            let record = try object(try await get(server, "/logs/\(id.uppercased())"))
            #expect(record["id"] as? String == id)
            #expect(record["message"] as? String == "payments failing for card 4242")
            #expect(record["exception_message"] as? String == "declined")
            #expect(record["attributes"] is [Any])
            #expect(record["body"] as? [String: Any] != nil || record["body"] is String)

            let missing = try await get(server, "/logs/00000000-0000-4000-8000-000000000000")
            #expect(missing.status == 404)
            let bad = try await get(server, "/logs/not-a-uuid")
            #expect(bad.status == 400)
            #expect((bad.json?["error"] as? String)?.hasPrefix("id:") == true)

            let levels = try object(try await get(server, "/logs/stats/levels"))
            #expect(levels["period_hours"] as? Int == 24)
            let counts = try #require(levels["levels"] as? [String: Int])
            #expect(counts == ["INFO": 3, "ERROR": 2, "WARNING": 1, "DEBUG": 1])
            let wider = try #require(try object(try await get(server, "/logs/stats/levels?hours=48"))["levels"] as? [String: Int])
            #expect(wider["INFO"] == 4)
        }
    }

    // MARK: Errors

    @Test(arguments: StoreKind.available)
    func errorsAreGroupedByTypeNormalisedMessageAndService(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            // Two more errors that differ only in their numbers.
            let timeouts = ExportLogsServiceRequest(resourceLogs: [ResourceLogs(
                resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("shop"))]),
                scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "shop.jobs"), logRecords: [
                    LogRecord(timeUnixNano: data.now - 120_000_000_000, severityNumber: SeverityNumber(rawValue: 17),
                              body: .string("timeout after 3000ms for order 1234")),
                    LogRecord(timeUnixNano: data.now - 60_000_000_000, severityNumber: SeverityNumber(rawValue: 17),
                              body: .string("timeout after 5000ms for order 98")),
                ])])])
            let posted = try await server.post("/v1/logs", Array(OTLPProtobufEncoder.encode(timeouts)), contentType: "application/x-protobuf")
            try #require(posted.status == 200)

            let answer = try object(try await get(server, "/errors"))
            let groups = list(answer, "groups")
            #expect(answer["total_groups"] as? Int == 4)
            #expect(answer["total_errors"] as? Int == 6)
            #expect(groups.map { $0["error_type"] as? String } == ["ERROR", "CardError", "ValueError", "SpanError"])
            #expect(groups.map { $0["count"] as? Int } == [2, 2, 1, 1])
            #expect(groups.map { $0["message"] as? String } == [
                "timeout after <id> for order <n>", "declined", "bad value <n>", "card declined",
            ])
            #expect(groups.map { $0["service_name"] as? String } == ["shop", "shop", "shop", "shop"])
            #expect(groups[0]["sample_message"] as? String == "timeout after 5000ms for order 98", "the newest raw message")
            #expect(groups[1]["sample_trace_id"] as? String == data.traceID(5).hex)
            #expect(groups[1]["log_count"] as? Int == 2 && groups[1]["span_count"] as? Int == 0)
            #expect(groups[2]["span_count"] as? Int == 1)
            let firstSeen = try #require(groups[0]["first_seen"] as? String), lastSeen = try #require(groups[0]["last_seen"] as? String)
            #expect(firstSeen < lastSeen)

            let timeoutID = try #require(groups[0]["group_id"] as? String)
            let occurrences = try object(try await get(server, "/errors/\(timeoutID)/occurrences"))
            #expect(list(occurrences, "occurrences").map { $0["message"] as? String } == [
                "timeout after 5000ms for order 98", "timeout after 3000ms for order 1234",
            ])
            #expect(list(occurrences, "occurrences").allSatisfy { $0["source"] as? String == "log" && $0["id"] is String })
            let spanGroup = try #require(groups[2]["group_id"] as? String)
            let spanOccurrences = list(try object(try await get(server, "/errors/\(spanGroup)/occurrences")), "occurrences")
            #expect(spanOccurrences.map { $0["span_id"] as? String } == [SpanID(52).hex])
            #expect(spanOccurrences.first?["source"] as? String == "span")
            #expect(spanOccurrences.first?["trace_id"] as? String == data.traceID(5).hex)

            #expect(try object(try await get(server, "/errors?service=auth"))["total_groups"] as? Int == 0)
            #expect(try await get(server, "/errors/0123456789abcdef/occurrences").status == 404)
            let bad = try await get(server, "/errors/nothex/occurrences")
            #expect(bad.status == 400)
            #expect((bad.json?["error"] as? String)?.hasPrefix("group:") == true)
        }
    }

    // MARK: Parameters and keys

    static let badParameters: [(String, String)] = [
        ("/traces?hours=0", "hours"), ("/traces?hours=169", "hours"), ("/traces?hours=abc", "hours"),
        ("/traces?limit=0", "limit"), ("/traces?limit=201", "limit"), ("/traces?offset=-1", "offset"),
        ("/traces?status=failed", "status"), ("/traces?min_duration_ms=fast", "min_duration_ms"),
        ("/traces?min_duration_ms=-1", "min_duration_ms"), ("/traces?hours=1&hours=2", "hours"),
        ("/traces/stats/summary?hours=500", "hours"), ("/logs?limit=1001", "limit"), ("/logs?level=LOUD", "level"),
        ("/logs?trace_id=abc", "trace_id"), ("/logs?trace_id=" + String(repeating: "0", count: 32), "trace_id"),
        ("/logs/stats/levels?hours=x", "hours"), ("/errors?hours=0", "hours"), ("/errors?limit=5000", "limit"), ("/logs?search=" + String(repeating: "a", count: 600), "search"),
    ]

    @Test func badParametersAre400NamingTheParameter() async throws {
        try await TestServer.with { server in
            for (path, parameter) in Self.badParameters {
                let answer = try await get(server, path)
                #expect(answer.status == 400, "\(path)")
                #expect(answer.headers.first(name: "Content-Type") == "application/json")
                let message = answer.json?["error"] as? String ?? ""
                #expect(message.hasPrefix(parameter + ":"), "\(path): \(message)")
            }
        }
    }

    @Test func apiKeysGuardTheAPIButNotTheProbes() async throws {
        try await withData(.sqlite, flags: [.apiKeys: "k1,k2"]) { server, _ in
            let none = try await get(server, "/traces")
            #expect(none.status == 401)
            #expect(none.json?["error"] as? String != nil)
            #expect(none.headers.first(name: "WWW-Authenticate") == "Bearer")
            #expect(try await get(server, "/traces", headers: [("Authorization", "Bearer wrong")]).status == 401)
            #expect(try await get(server, "/traces", headers: [("X-API-Key", "k")]).status == 401)
            #expect(try await get(server, "/logs/stats/levels", headers: [("Authorization", "Basic k1")]).status == 401)
            let bearer = try await get(server, "/traces?service=shop", headers: [("Authorization", "Bearer k2")])
            #expect(try object(bearer)["total"] as? Int == 6)
            #expect(try await get(server, "/logs", headers: [("X-API-Key", "k1")]).status == 200)
            // Unknown paths under the API are refused before they are looked up.
            #expect(try await get(server, "/nothing").status == 401)
            #expect(try await server.get(server.api + "/health").status == 200)
            #expect(try await server.get(server.api + "/ready").status == 200)
        }
    }
}
