import Foundation
@testable import OTLP
import StoreTestSupport
import Testing

/// Grafana's Tempo data source against Sightline, on both stores, with the requests it sends:
/// Save & test, the search editor's tag lookups, a TraceQL search, the trace view (protobuf).
@Suite struct TempoEndpointTests {
    func withData(_ kind: StoreKind, _ body: @Sendable (GrafanaTestServer, GrafanaDataset) async throws -> Void) async throws {
        try await GrafanaTestServer.with(kind) { server in
            let data = GrafanaDataset()
            try await server.ingest(data.traces)
            try await body(server, data)
        }
    }

    func search(_ server: GrafanaTestServer, _ data: GrafanaDataset, _ pairs: [(String, String)]) async throws -> [[String: Any]] {
        let answer = try await server.get("/api/search?" + FormEncoding.query(pairs + [("start", data.startSeconds), ("end", data.endSeconds)]))
        #expect(answer.status == 200, "\(answer.body)")
        let object = try #require(answer.json, "\(answer.body)")
        #expect(object["metrics"] is [String: Any])
        return object["traces"] as? [[String: Any]] ?? []
    }

    @Test(arguments: StoreKind.available)
    func saveAndTestThenSearch(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            // Save & test: the echo endpoint.
            let echo = try await server.get("/api/echo")
            #expect(echo.status == 200 && echo.body == "echo")
            #expect(try await server.get("/api/status/buildinfo").json?["version"] as? String == "2.4.0")

            // Explore's TraceQL search, as the data source sends it (limit, spans per spanset, seconds).
            let all = try await search(server, data, [("q", #"{ resource.service.name = "shop" }"#), ("limit", "20"), ("spss", "3")])
            #expect(all.map { $0["traceID"] as? String } == (0..<5).reversed().map { data.traceID($0).hex })
            let failed = try #require(all.first)
            #expect(failed["rootServiceName"] as? String == "shop")
            #expect(failed["rootTraceName"] as? String == "POST /pay")
            #expect(failed["startTimeUnixNano"] as? String == String(data.start(4)))
            #expect(failed["durationMs"] as? Int == 1000)
            let spanSets = try #require(failed["spanSets"] as? [[String: Any]])
            #expect((spanSets.first?["spans"] as? [[String: Any]])?.count == 2)
            #expect(spanSets.first?["matched"] as? Int == 2)

            // The issue's query shape: resource, span attribute, name, duration, status.
            let issue = try await search(server, data, [("q", #"{ resource.service.name = "shop" && span.http.route = "/pay" && name = "POST /pay" && duration > 100ms && status = error }"#)])
            #expect(issue.map { $0["traceID"] as? String } == [data.traceID(4).hex])
            let matched = try #require((issue.first?["spanSets"] as? [[String: Any]])?.first?["spans"] as? [[String: Any]])
            #expect(matched.map { $0["spanID"] as? String } == [SpanID(41).hex])
            #expect(matched.first?["durationNanos"] as? String == String(1000 * GrafanaDataset.millisecond))

            // Operators: !=, =~, !~, numbers, booleans, ||, unscoped and resource attributes, kind.
            let cases: [(String, [Int])] = [
                (#"{ resource.service.name = "shop" && name =~ "GET /c.*" }"#, [3, 2, 1, 0]),
                (#"{ resource.service.name = "shop" && name !~ "GET.*" && kind = server }"#, [4]),
                (#"{ span.http.status_code >= 500 }"#, [4]),
                (#"{ span.http.status_code < 500 && span.ratio > 0.4 }"#, [3, 2]),
                (#"{ span.cached = true }"#, [1]),
                (#"{ .deployment.environment = "prod" && span.http.route != "/cart" && kind = server }"#, [4]),
                (#"{ resource.k8s.namespace.name =~ "shop-.*" && duration < 15ms && kind = server }"#, [0]),
                (#"{ resource.host.cpus = 8 && span.http.route = "/pay" }"#, [4]),
                (#"{ span.db.system = "postgresql" && (status = error || span.nothing = "x") }"#, []),
                (#"{ .http.route = "/pay" || span.cached = true }"#, [4, 1]),
                (#"{ rootName = "POST /pay" && name = "SELECT orders" }"#, [4]),
                (#"{ traceDuration > 500ms && resource.service.name = "shop" }"#, [4]),
                (#"{ resource.service.name = "nobody" }"#, []),
            ]
            for (query, expected) in cases {
                let traces = try await search(server, data, [("q", query)])
                #expect(traces.map { $0["traceID"] as? String } == expected.map { data.traceID($0).hex }, "\(query)")
            }

            // The older search form: logfmt tags and Go durations.
            let tags = try await search(server, data, [("tags", #"service.name=shop http.route="/cart""#), ("minDuration", "25ms"), ("maxDuration", "1s"), ("limit", "10")])
            #expect(tags.map { $0["traceID"] as? String } == [data.traceID(3).hex, data.traceID(2).hex])
            let limited = try await search(server, data, [("q", #"{ resource.service.name = "shop" }"#), ("limit", "2")])
            #expect(limited.count == 2)

            // Bad input: 400 naming the parameter and, for TraceQL, the position.
            let bad = try await server.get("/api/search?" + FormEncoding.query([("q", #"{ name = }"#)]))
            #expect(bad.status == 400)
            #expect(bad.body.contains("q: parse error at line 1, col 10"), "\(bad.body)")
            for query in [("limit", "0"), ("minDuration", "fast"), ("start", "yesterday"), ("tags", "noequals"), ("spss", "x")] {
                let answer = try await server.get("/api/search?" + FormEncoding.query([query]))
                #expect(answer.status == 400, "\(query)")
                #expect(answer.body.contains(query.0) || query.0 == "tags", "\(query): \(answer.body)")
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func tagNamesAndValues(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            let range = FormEncoding.query([("start", data.startSeconds), ("end", data.endSeconds)])
            // v2, as the TraceQL editor asks for it.
            let v2 = try #require(try await server.get("/api/v2/search/tags?" + range).json)
            let scopes = try #require(v2["scopes"] as? [[String: Any]])
            let byScope = Dictionary(uniqueKeysWithValues: scopes.map { ($0["name"] as? String ?? "", $0["tags"] as? [String] ?? []) })
            #expect(Set(byScope["resource"] ?? []).isSuperset(of: ["service.name", "deployment.environment", "k8s.namespace.name", "host.cpus"]))
            #expect(Set(byScope["span"] ?? []).isSuperset(of: ["http.route", "http.status_code", "cached", "db.system"]))
            #expect(Set(byScope["intrinsic"] ?? []).isSuperset(of: ["name", "status", "duration", "kind"]))
            let spanOnly = try #require(try await server.get("/api/v2/search/tags?scope=span").json)
            #expect((spanOnly["scopes"] as? [[String: Any]])?.map { $0["name"] as? String } == ["span"])
            #expect(try await server.get("/api/v2/search/tags?scope=galaxy").status == 400)
            // v1: one flat list.
            let v1 = try #require(try await server.get("/api/search/tags").json)
            #expect(Set(v1["tagNames"] as? [String] ?? []).isSuperset(of: ["service.name", "http.route"]))

            // Values: v1 unscoped names, v2 scoped and typed; names arrive encoded, sometimes twice.
            let services = try #require(try await server.get("/api/search/tag/service.name/values").json)
            #expect((services["tagValues"] as? [String])?.contains("shop") == true)
            let routes = try #require(try await server.get("/api/search/tag/http.route/values?" + range).json)
            // (Sightline's own API spans carry routes too.)
            #expect(Set(routes["tagValues"] as? [String] ?? []).isSuperset(of: ["/cart", "/pay"]))
            func typed(_ path: String) async throws -> [String] {
                let answer = try await server.get(path)
                #expect(answer.status == 200, "\(path): \(answer.body)")
                return (answer.json?["tagValues"] as? [[String: Any]] ?? []).map { "\($0["type"] ?? ""):\($0["value"] ?? "")" }
            }
            #expect(try await typed("/api/v2/search/tag/resource.service.name/values?" + range).contains("string:shop"))
            #expect(try await typed("/api/v2/search/tag/span%252Ehttp%252Estatus_code/values?" + range) == ["int:200", "int:502"])
            #expect(try await typed("/api/v2/search/tag/span%2Ecached/values") == ["bool:false", "bool:true"])
            #expect(try await typed("/api/v2/search/tag/resource.host.cpus/values") == ["int:8"])
            #expect(try await typed("/api/v2/search/tag/status/values").contains("keyword:error"))
            #expect(try await typed("/api/v2/search/tag/name/values?" + FormEncoding.query([("q", #"{ resource.service.name = "shop" }"#)]))
                == ["string:GET /cart", "string:POST /pay", "string:SELECT orders"])
            // An incomplete query from the editor does not narrow (nor fail).
            #expect(try await typed("/api/v2/search/tag/name/values?" + FormEncoding.query([("q", #"{ span.http.route = "#)])).count >= 3)
            #expect(try await server.get("/api/v2/search/tag/nonsense/values").status == 400)
        }
    }

    @Test(arguments: StoreKind.available)
    func traceByIDInEveryEncoding(_ kind: StoreKind) async throws {
        try await withData(kind) { server, data in
            for index in [0, 2, 4] {
                let id = data.traceID(index).hex
                let expected = data.traces.only(id).normalized

                // The trace view: protobuf, decoded with the project's generated Tempo messages.
                let v1 = try await server.get("/api/traces/\(id)", headers: [("Accept", "application/protobuf")])
                #expect(v1.status == 200)
                #expect(v1.headers.first(name: "Content-Type") == "application/protobuf")
                let trace = try TempoTrace(serializedBytes: v1.bytes)
                #expect(trace.batches.flatMap { $0.scopeSpans.flatMap(\.spans) }.count == 2)
                #expect(try OTLPProtobufDecoder().decodeTraces(from: try trace.serializedData()).request.normalized == expected)

                let v2 = try await server.get("/api/v2/traces/\(id)", headers: [("Accept", "application/protobuf")])
                #expect(v2.status == 200)
                let response = try TempoTraceByIDResponse(serializedBytes: v2.bytes)
                #expect(try OTLPProtobufDecoder().decodeTraces(from: try response.trace.serializedData()).request.normalized == expected)

                // OTLP/JSON: v1 `{"batches": [...]}`, v2 `{"trace": {"resourceSpans": [...]}}`.
                let json = try await server.get("/api/traces/\(id)", headers: [("Accept", "application/json")])
                #expect(json.headers.first(name: "Content-Type") == "application/json")
                let batches = try #require(json.json?["batches"])
                let otlp = try JSONSerialization.data(withJSONObject: ["resourceSpans": batches])
                #expect(try OTLPJSONDecoder().decodeTraces(from: otlp).request.normalized == expected)
                let jsonV2 = try await server.get("/api/v2/traces/\(id)")
                let inner = try JSONSerialization.data(withJSONObject: try #require(jsonV2.json?["trace"]))
                #expect(try OTLPJSONDecoder().decodeTraces(from: inner).request.normalized == expected)
            }
            // Tempo takes ids without their leading zeros.
            let short = String(data.traceID(0).hex.drop { $0 == "0" })
            #expect(try await server.get("/api/traces/\(short)").status == 200)
            #expect(try await server.get("/api/traces/\(TraceID(high: 9, low: 9).hex)").status == 404)
            #expect(try await server.get("/api/v2/traces/\(TraceID(high: 9, low: 9).hex)", headers: [("Accept", "application/protobuf")]).status == 404)
            for bad in ["xyz", String(repeating: "a", count: 33), "00000000000000000000000000000000"] {
                let answer = try await server.get("/api/traces/\(bad)")
                #expect(answer.status == 400, "\(bad)")
                #expect(answer.body.contains("traceID"))
            }
        }
    }

    /// The issue's equality: the Python SDK's capture, read back through `/api/traces/{id}`,
    /// equals what was sent, up to ordering.
    @Test(arguments: StoreKind.available)
    func pythonSDKTraceReadsBackEqual(_ kind: StoreKind) async throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/python-sdk/python-proto-traces.bin").standardized
        let bytes = try Data(contentsOf: url)
        let sent = try OTLPProtobufDecoder().decodeTraces(from: bytes).request
        try await GrafanaTestServer.with(kind) { server in
            try await server.ingest(sent)
            let ids = Set(sent.resourceSpans.flatMap { $0.scopeSpans.flatMap { $0.spans.map(\.traceId.hex) } })
            #expect(!ids.isEmpty)
            for id in ids {
                let read = try #require(try await server.tempoTrace(id))
                #expect(read.normalized == sent.only(id).normalized)
            }
        }
    }
}
