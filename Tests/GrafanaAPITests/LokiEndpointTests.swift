import Foundation
import HummingbirdWSClient
import OTLP
import StoreTestSupport
import Testing

/// Grafana's Loki data source against Sightline, on both stores, with the requests its Go
/// backend sends (`url.Values` encoding, nanosecond times, `step` in milliseconds).
@Suite struct LokiEndpointTests {
    func withData(_ kind: StoreKind, _ body: @Sendable (GrafanaTestServer, GrafanaDataset) async throws -> Void) async throws {
        try await GrafanaTestServer.with(kind) { server in
            let data = GrafanaDataset()
            try await server.ingest(data.logs)
            try await body(server, data)
        }
    }

    func success(_ answer: Answer, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        #expect(answer.status == 200, "\(answer.body)", sourceLocation: sourceLocation)
        let object = try #require(answer.json, "\(answer.body)", sourceLocation: sourceLocation)
        #expect(object["status"] as? String == "success", sourceLocation: sourceLocation)
        return try #require(object["data"] as? [String: Any], "\(answer.body)", sourceLocation: sourceLocation)
    }

    /// A log query as Explore sends it, returning (labels, [(ns, line)]) per stream.
    func streams(_ server: GrafanaTestServer, _ data: GrafanaDataset, _ query: String, limit: Int = 1000,
                 direction: String = "backward") async throws -> [([String: String], [(String, String)])] {
        let answer = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([
            ("direction", direction), ("end", data.endNanos), ("limit", String(limit)), ("query", query),
            ("start", data.startNanos), ("step", "2000ms"),
        ]))
        let result = try success(answer)
        #expect(result["resultType"] as? String == "streams")
        #expect((result["stats"] as? [String: Any])?["summary"] != nil)
        return (result["result"] as? [[String: Any]] ?? []).map { stream in
            (stream["stream"] as? [String: String] ?? [:],
             (stream["values"] as? [[String]] ?? []).map { ($0[0], $0[1]) })
        }
    }

    @Test(arguments: StoreKind.available)
    func saveAndTestAndLabelBrowser(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            // Save & test: the health-check query, instant, at a nanosecond time.
            let health = try success(try await server.get("/loki/api/v1/query?" + FormEncoding.query([
                ("direction", "backward"), ("query", "vector(1)+vector(1)"), ("time", data.endNanos)])))
            #expect(health["resultType"] as? String == "vector")
            let samples = try #require(health["result"] as? [[String: Any]])
            #expect(samples.count == 1)
            let value = try #require(samples.first?["value"] as? [Any])
            #expect(value.count == 2 && value[1] as? String == "2")
            #expect((value[0] as? NSNumber)?.int64Value == Int64(data.endNanos)! / 1_000_000_000)
            #expect(samples.first?["metric"] as? [String: String] == [:])

            // The label browser: names, then values, then values narrowed by a selector.
            let range = [("end", data.endNanos), ("start", data.startNanos)]
            let labels = try #require(try await server.get("/loki/api/v1/labels?" + FormEncoding.query(range)).json?["data"] as? [String])
            #expect(Set(labels).isSuperset(of: ["service_name", "level", "detected_level", "logger", "deployment_environment", "k8s_namespace_name"]))
            let services = try await server.get("/loki/api/v1/label/service_name/values?" + FormEncoding.query(range))
            #expect(services.json?["data"] as? [String] == ["auth", "shop"])
            let levels = try await server.get("/loki/api/v1/label/level/values?" + FormEncoding.query(range + [("query", #"{service_name="shop"}"#)]))
            #expect(levels.json?["data"] as? [String] == ["debug", "error", "info", "warn"])
            let environments = try await server.get("/loki/api/v1/label/deployment_environment/values?" + FormEncoding.query(range))
            #expect(environments.json?["data"] as? [String] == ["prod"])
            let unknown = try await server.get("/loki/api/v1/label/job/values")
            #expect(unknown.json?["data"] as? [String] == [])

            // Series, index stats (Grafana sizes queries with it), build info.
            let series = try await server.get("/loki/api/v1/series?" + FormEncoding.query(range + [("match[]", #"{service_name="shop", level=~"error|warn"}"#)]))
            let sets = try #require(series.json?["data"] as? [[String: String]])
            #expect(Set(sets.map { $0["level"] ?? "" }) == ["error", "warn"])
            // Every stream label, the resource's too (Logs Drilldown and the label browser read them here).
            #expect(sets.allSatisfy { $0["service_name"] == "shop" && $0["logger"] == "shop.http" && $0["deployment_environment"] == "prod"
                        && $0["k8s_namespace_name"] == "shop-ns" && $0.count == 5 })
            // Grafana may POST the form instead.
            let posted = try await server.request(server.api + "/loki/api/v1/series", method: .POST,
                                                  body: Array(FormEncoding.query(range + [("match[]", #"{level="debug"}"#)]).utf8),
                                                  headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(posted.json?["data"] as? [[String: String]] == [["service_name": "shop", "level": "debug", "logger": "shop.http",
                                                                      "deployment_environment": "prod", "k8s_namespace_name": "shop-ns"]])
            let stats = try #require(try await server.get("/loki/api/v1/index/stats?" + FormEncoding.query(range + [("query", #"{service_name="shop"}"#)])).json)
            #expect(stats["entries"] as? Int == GrafanaDataset.shopRecords.count)
            #expect(stats["streams"] as? Int == 4)
            #expect(stats["bytes"] as? Int == GrafanaDataset.shopRecords.reduce(0) { $0 + $1.message.utf8.count })
            let build = try await server.get("/loki/api/v1/status/buildinfo")
            #expect(build.status == 200 && build.json?["version"] is String)
        }
    }

    @Test(arguments: StoreKind.available)
    func logQueriesReturnLines(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let all = try await streams(server, data, #"{service_name="shop"}"#)
            // One stream per label set; newest first inside each; times in nanoseconds as strings.
            #expect(all.reduce(0) { $0 + $1.1.count } == GrafanaDataset.shopRecords.count)
            let errors = try #require(all.first { $0.0["level"] == "error" })
            #expect(errors.0 == ["service_name": "shop", "level": "error", "logger": "shop.http", "trace_id": data.traceID(4).hex,
                                 "deployment_environment": "prod", "k8s_namespace_name": "shop-ns"])
            let expectedTime = data.now - 15 * 60 * GrafanaDataset.second - 5 * GrafanaDataset.second
            #expect(errors.1.map(\.0) == [String(expectedTime), String(expectedTime)])
            #expect(Set(errors.1.map(\.1)) == ["payment failed: card 4242 declined", "payment failed: card 1111 declined"])
            let info = try #require(all.first { $0.0["level"] == "info" })
            #expect(info.1.map(\.1) == ["cart updated", "cart updated", "user logged in"].sorted().reversed() || info.1.count == 3)
            #expect(info.1.map(\.0) == info.1.map(\.0).sorted(by: >))

            // Forward direction and the limit.
            let forward = try await streams(server, data, #"{service_name="shop", level="info"}"#, direction: "forward")
            #expect(forward.first?.1.map(\.0) == forward.first?.1.map(\.0).sorted())
            let limited = try await streams(server, data, #"{service_name=~"shop|auth"}"#, limit: 2)
            #expect(limited.reduce(0) { $0 + $1.1.count } == 2)

            // Line filters, regular expressions, label filters, parsers passing through.
            let cases: [(String, [String])] = [
                (#"{service_name="shop"} |= "payment""#, ["payment failed: card 1111 declined", "payment failed: card 4242 declined"]),
                (#"{service_name="shop"} |~ "card [0-9]{4} declined" != "1111""#, ["payment failed: card 4242 declined"]),
                (#"{service_name="shop"} !~ "(?i)CART|payment|user" | json | logfmt"#, ["cache warm", "disk almost full"]),
                (#"{service_name="shop", level=~"warn|error"} |= "disk""#, ["disk almost full"]),
                (#"{detected_level="warn"}"#, ["disk almost full"]),
                (#"{level="WARNING"}"#, ["disk almost full"]),
                (#"{service_name=~".+", service_name!="shop", level!~"error"}"#, ["token refreshed"]),
                (#"{k8s_namespace_name=~"shop-.*"} | level="debug""#, ["cache warm"]),
                (#"{trace_id="\#(data.traceID(4).hex)"} |= "4242""#, ["payment failed: card 4242 declined"]),
                (#"{deployment_environment!="prod", service_name=~".+"}"#, ["token refreshed"]),
                (#"{job="varlogs"}"#, []),
                (#"{service_name="shop"} | drop __error__ | __error__="" |= "cache""#, ["cache warm"]),
            ]
            for (query, expected) in cases {
                let lines = try await streams(server, data, query).flatMap { $0.1.map(\.1) }.sorted()
                #expect(lines == expected.sorted(), "\(query)")
            }

            // LogQL errors: 400 in Loki's shape, saying where.
            let bad = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([("query", #"{service_name="shop"} |= "#)]))
            #expect(bad.status == 400)
            #expect(bad.json?["status"] as? String == "error")
            #expect((bad.json?["message"] as? String)?.hasPrefix("parse error at line 1, col 26") == true, "\(bad.body)")
            for (name, value) in [("limit", "0"), ("start", "soon"), ("direction", "sideways"), ("step", "fast"),
                                  ("end", "9223372036854775807"), ("start", "-9223372036854775808")] {
                let answer = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([("query", #"{service_name="shop"}"#), (name, value)]))
                #expect(answer.status == 400, "\(name)")
                #expect((answer.json?["message"] as? String)?.hasPrefix(name) == true, "\(answer.body)")
            }
            let missing = try await server.get("/loki/api/v1/query")
            #expect(missing.status == 400 && missing.body.contains("query"))
            // RFC 3339 and Unix seconds with a fraction (Grafana's label calls) are times too.
            let rfc = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([
                ("query", #"{service_name="auth"}"#), ("start", "2000-01-01T00:00:00Z"), ("end", String(Double(data.now) / 1e9 + 0.5))]))
            #expect(rfc.status == 200 && rfc.body.contains("token refreshed"))
        }
    }

    @Test(arguments: StoreKind.available)
    func logVolumeAndMetricQueries(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            func matrix(_ query: String, step: String = "60000ms") async throws -> [([String: String], [(Double, Double)])] {
                let answer = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([
                    ("direction", "backward"), ("end", data.endNanos), ("query", query), ("start", data.startNanos), ("step", step),
                ]))
                let result = try success(answer)
                #expect(result["resultType"] as? String == "matrix", "\(query)")
                return (result["result"] as? [[String: Any]] ?? []).map { series in
                    (series["metric"] as? [String: String] ?? [:],
                     (series["values"] as? [[Any]] ?? []).map { (($0[0] as? NSNumber)?.doubleValue ?? 0, Double($0[1] as? String ?? "") ?? .nan) })
                }
            }
            // The log-volume histogram, as Grafana 11 asks for it and as older releases do.
            for query in [#"sum by (level, detected_level) (count_over_time({service_name="shop"} | drop __error__[1m]))"#,
                          #"sum by (level) (count_over_time({service_name="shop"}[1m]))"#] {
                let volume = try await matrix(query)
                let totals = Dictionary(uniqueKeysWithValues: volume.map { ($0.0["level"] ?? "", $0.1.reduce(0) { $0 + $1.1 }) })
                #expect(totals == ["info": 3, "warn": 1, "error": 2, "debug": 1], "\(query)")
                if query.contains("detected_level") { #expect(volume.allSatisfy { $0.0["detected_level"] == $0.0["level"] }) }
                // Two info records 25 minutes ago fall in the minute ending 24m55s… later: one point of 2.
                let info = try #require(volume.first { $0.0["level"] == "info" })
                #expect(info.1.map(\.1).sorted() == [1, 2])
                let pointTime = info.1.first { $0.1 == 2 }!.0
                let recordTime = Double(data.now - 25 * 60 * GrafanaDataset.second - 5 * GrafanaDataset.second) / 1e9
                #expect(pointTime - 60 < recordTime && recordTime <= pointTime)
            }
            // Without aggregation: one series per stream; rate; bytes; sum without; arithmetic.
            let perStream = try await matrix(#"count_over_time({service_name=~"shop|auth"}[1h])"#, step: "1800s")
            #expect(perStream.count == 5)
            #expect(perStream.allSatisfy { Set($0.0.keys) == ["service_name", "level", "logger"] })
            let rate = try await matrix(#"sum(rate({service_name="shop", level="error"}[10m]))"#, step: "600000ms")
            #expect(rate.flatMap { $0.1.map(\.1) }.contains(2.0 / 600))
            let bytes = try await matrix(#"sum without (level, logger) (bytes_over_time({service_name="shop"}[2h]))"#, step: "3600s")
            #expect(bytes.first?.0 == ["service_name": "shop"])
            #expect(bytes.first?.1.map(\.1).max() == Double(GrafanaDataset.shopRecords.reduce(0) { $0 + $1.message.utf8.count }))
            let doubled = try await matrix(#"sum(count_over_time({service_name="shop"}[2h])) * 2 + vector(1)"#, step: "3600s")
            #expect(doubled.first?.1.map(\.1).max() == Double(GrafanaDataset.shopRecords.count * 2 + 1))

            // Instant metric query: a vector at `time`.
            let instant = try success(try await server.get("/loki/api/v1/query?" + FormEncoding.query([
                ("query", #"sum by (service_name) (count_over_time({service_name=~".+"}[1h]))"#), ("time", data.endNanos)])))
            #expect(instant["resultType"] as? String == "vector")
            let vector = (instant["result"] as? [[String: Any]] ?? []).map { (($0["metric"] as? [String: String])?["service_name"] ?? "", (($0["value"] as? [Any])?[1] as? String) ?? "") }
            #expect(Dictionary(uniqueKeysWithValues: vector) == ["shop": String(GrafanaDataset.shopRecords.count), "auth": "1"])
            // A scalar.
            let scalar = try success(try await server.get("/loki/api/v1/query?" + FormEncoding.query([("query", "2 * (3 + 1)")])))
            #expect(scalar["resultType"] as? String == "scalar")
            #expect((scalar["result"] as? [Any])?.last as? String == "8")
            // Too many points: 400 naming step.
            let fine = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([
                ("query", #"count_over_time({service_name="shop"}[1m])"#), ("start", data.startNanos), ("end", data.endNanos), ("step", "10ms")]))
            #expect(fine.status == 400 && fine.body.contains("step"))
        }
    }

    /// Explore's *Live* mode: the tail WebSocket sends the recent past, then new lines as they
    /// are committed, filtered by the query, in Loki's tail shape.
    @Test(arguments: StoreKind.available)
    func tailStreamsPastThenNewLines(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let query = FormEncoding.query([("query", #"{service_name="shop"} |~ "card [0-9]+|fresh""#), ("start", data.startNanos), ("limit", "10")])
            let url = "ws://127.0.0.1:\(server.addresses.httpPort)/loki/api/v1/tail?\(query)"
            let texts = try await withThrowingTaskGroup(of: [String].self) { group in
                group.addTask {
                    let collected = TextBox()
                    try await WebSocketClient.connect(url: url, configuration: .init(autoPing: .disabled), logger: quietLogger) { inbound, outbound, _ in
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case .text(let text) = message else { continue }
                            if collected.append(text) == 1 {
                                // The past arrived: now commit new records, one of them selected.
                                let fresh = ["fresh card 77 line", "unrelated"].map {
                                    LogRecord(timeUnixNano: UInt64(Date.now.timeIntervalSince1970 * 1e9), severityNumber: SeverityNumber(rawValue: 17), body: .string($0))
                                }
                                try await server.ingest(ExportLogsServiceRequest(resourceLogs: [
                                    ResourceLogs(resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("shop"))]),
                                                 scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "live"), logRecords: fresh)]),
                                    ResourceLogs(resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("auth"))]),
                                                 scopeLogs: [ScopeLogs(scope: InstrumentationScope(name: "live"), logRecords: [LogRecord(body: .string("fresh elsewhere"))])]),
                                ]))
                            } else {
                                try await outbound.close(.normalClosure, reason: nil)
                                break
                            }
                        }
                    }
                    return collected.texts
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(20))
                    throw CancellationError()
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            let received = texts.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            func lines(_ message: [String: Any]) -> [String] {
                (message["streams"] as? [[String: Any]] ?? []).flatMap { ($0["values"] as? [[String]] ?? []).map { $0[1] } }
            }
            try #require(received.count == 2)
            #expect(lines(received[0]).sorted() == ["payment failed: card 1111 declined", "payment failed: card 4242 declined"])
            #expect(lines(received[1]) == ["fresh card 77 line"])
            let stream = (received[1]["streams"] as? [[String: Any]])?.first?["stream"] as? [String: String]
            #expect(stream == ["service_name": "shop", "level": "error", "logger": "live"])
            #expect(received[1]["dropped_entries"] as? [Any] != nil)

            // Without an upgrade: 426; a bad query: 400 in Loki's shape.
            #expect(try await server.get("/loki/api/v1/tail?" + query).status == 426)
            let bad = try await server.get("/loki/api/v1/tail?" + FormEncoding.query([("query", "{")]))
            #expect(bad.status == 400 && bad.json?["status"] as? String == "error")
        }
    }

    /// A backtracking pattern cannot hold SQLite's reader: past 100 ms on one value the query
    /// fails with 400 (PostgreSQL's engine does not backtrack like this and just answers).
    @Test(arguments: StoreKind.available)
    func pathologicalRegularExpressionsAreBounded(_ kind: StoreKind) async throws {
        try await GrafanaTestServer.with(kind) { server in
            let line = String(repeating: "a", count: 40) + "c"
            try await server.ingest(ExportLogsServiceRequest(resourceLogs: [ResourceLogs(
                resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("slow"))]),
                scopeLogs: [ScopeLogs(logRecords: [LogRecord(timeUnixNano: UInt64(Date.now.timeIntervalSince1970 * 1e9), body: .string(line))])])]))
            let started = ContinuousClock.now
            let answer = try await server.get("/loki/api/v1/query_range?" + FormEncoding.query([("query", #"{service_name="slow"} |~ "(a+)+b""#)]))
            #expect(ContinuousClock.now - started < .seconds(10))
            if kind == .sqlite {
                #expect(answer.status == 400)
                #expect((answer.json?["message"] as? String)?.contains("regular expression") == true, "\(answer.body)")
            } else {
                #expect(answer.status == 200)
            }
            // The store keeps answering.
            #expect(try await server.get("/loki/api/v1/labels").status == 200)
        }
    }

    @Test func apiKeysGuardTempoAndLoki() async throws {
        try await GrafanaTestServer.with(.sqlite, environment: ["SIGHTLINE_API_KEYS": "k1,k2"]) { server in
            func status(_ path: String, _ headers: [(String, String)] = []) async throws -> Int {
                try await server.get(path, headers: headers).status
            }
            for path in ["/loki/api/v1/labels", "/loki/api/v1/query?query=vector(1)", "/api/search", "/api/echo", "/loki/nothing"] {
                let without = try await status(path)
                let wrong = try await status(path, [("Authorization", "Bearer nope")])
                #expect(without == 401 && wrong == 401, "\(path)")
            }
            let bearer = try await status("/loki/api/v1/labels", [("Authorization", "Bearer k1")])
            let header = try await status("/loki/api/v1/labels", [("X-API-Key", "k2")])
            // Grafana's "Basic auth" setting: any user, the key as the password.
            let basic = try await status("/api/search", [("Authorization", "Basic " + Data("grafana:k2".utf8).base64EncodedString())])
            let badBasic = try await status("/api/echo", [("Authorization", "Basic " + Data("grafana:k3".utf8).base64EncodedString())])
            let probe = try await status("/health")
            #expect(bearer == 200 && header == 200 && basic == 200 && probe == 200)
            #expect(badBasic == 401)
        }
    }
}

/// Messages a WebSocket client received.
final class TextBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    /// Appends `text`; returns how many there are now.
    func append(_ text: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        stored.append(text)
        return stored.count
    }

    var texts: [String] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
