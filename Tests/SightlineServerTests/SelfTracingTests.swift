import Foundation
import SightlineServer
import StoreTestSupport
import Testing

/// Sightline traces its own API requests into its own store (docs/architecture.md, "Self-tracing").
@Suite struct SelfTracingTests {
    static let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let parent = "00f067aa0ba902b7"

    func get(_ server: TestServer, _ path: String, headers: [(String, String)]) async throws -> Answer {
        try await server.request(server.api + path, method: .GET, body: nil, contentType: nil, headers: headers)
    }

    /// The stored trace, once the writer has committed it (bounded wait).
    func storedTrace(_ server: TestServer, _ id: String) async throws -> [String: Any]? {
        var trace: [String: Any]?
        _ = try await eventually(20) {
            let answer = try await get(server, "/api/observability/traces/\(id)", headers: [])
            if answer.status == 200 { trace = answer.json }
            return answer.status == 200
        }
        return trace
    }

    @Test(arguments: StoreKind.available)
    func aValidTraceparentIsContinuedAndStored(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let answer = try await get(server, "/api/observability/traces?limit=5", headers: [
                ("traceparent", "00-\(Self.trace)-\(Self.parent)-01"), ("tracestate", "rojo=00f067aa0ba902b7"),
            ])
            #expect(answer.status == 200)
            let traceparent = try #require(answer.headers.first(name: "traceparent"))
            let parts = traceparent.split(separator: "-").map(String.init)
            #expect(parts.count == 4)
            #expect(parts[0] == "00" && parts[1] == Self.trace && parts[3] == "01")
            #expect(parts[2] != Self.parent && parts[2].count == 16)
            #expect(answer.headers.first(name: "tracestate") == "rojo=00f067aa0ba902b7")
            #expect(answer.headers.first(name: "X-Trace-ID") == Self.trace)

            let stored = try #require(try await storedTrace(server, Self.trace), "the request's trace was not stored")
            let trace = try #require(stored["trace"] as? [String: Any])
            #expect(trace["service_name"] as? String == "sightline")
            #expect(trace["entry_point"] as? String == "http")
            #expect(trace["method"] as? String == "GET")
            let span = try #require((stored["spans"] as? [[String: Any]])?.first)
            #expect(span["operation_name"] as? String == "GET /api/observability/traces")
            #expect(span["span_id"] as? String == parts[2])
            #expect(span["parent_span_id"] as? String == Self.parent)
            #expect(span["span_kind"] as? Int == 2)
            #expect((span["tags"] as? [String: Any])?["http.response.status_code"] as? Int == 200)
        }
    }

    @Test func theTestRoutePropagatesToEachCallAsAChildSpan() async throws {
        try await TestServer.with(flags: [.tracecontextTestRoute: "true"]) { server in
            // The call goes back to Sightline's own API, which stores what it received.
            let target = server.api + "/api/observability/logs/stats/levels"
            let body = Array(#"[{"url": "\#(target)", "arguments": [1, {"a": "b"}]}]"#.utf8)
            let answer = try await server.request(server.api + "/_test/tracecontext", method: .POST, body: body,
                                                  contentType: "application/json",
                                                  headers: [("traceparent", "00-\(Self.trace)-\(Self.parent)-01")])
            #expect(answer.status == 200)
            // Three spans in the caller's trace: the route (child of the caller), its client
            // call, and the request that call made.
            var spans: [[String: Any]] = []
            _ = try await eventually(20) {
                spans = (try await storedTrace(server, Self.trace)?["spans"] as? [[String: Any]]) ?? []
                return spans.count == 3
            }
            try #require(spans.count == 3, "\(spans.map { $0["operation_name"] ?? "" })")
            let route = try #require(spans.first { $0["operation_name"] as? String == "POST /_test/tracecontext" })
            let call = try #require(spans.first { $0["span_kind"] as? Int == 3 })
            let received = try #require(spans.first { $0 as NSDictionary != route as NSDictionary && $0["span_kind"] as? Int == 2 })
            #expect(route["parent_span_id"] as? String == Self.parent)
            #expect(call["parent_span_id"] as? String == route["span_id"] as? String)
            #expect(received["parent_span_id"] as? String == call["span_id"] as? String)

            let remote = Array(#"[{"url": "http://example.com/", "arguments": []}]"#.utf8)
            #expect(try await server.request(server.api + "/_test/tracecontext", method: .POST, body: remote,
                                             contentType: "application/json", headers: []).status == 400)
        }
        // Off by default.
        try await TestServer.with { server in
            let answer = try await server.request(server.api + "/_test/tracecontext", method: .POST, body: Array("[]".utf8),
                                                  contentType: "application/json", headers: [])
            #expect(answer.status == 404)
        }
    }

    @Test func anInvalidTraceparentStartsANewTrace() async throws {
        try await TestServer.with { server in
            for header in ["00-\(Self.trace.uppercased())-\(Self.parent)-01", "ff-\(Self.trace)-\(Self.parent)-01",
                           "00-\(Self.trace)-\(Self.parent)-01-x"] {
                let answer = try await get(server, "/api/observability/logs/stats/levels", headers: [("traceparent", header)])
                #expect(answer.status == 200)
                let traceID = try #require(answer.headers.first(name: "X-Trace-ID"))
                #expect(traceID != Self.trace && traceID.count == 32, "\(header)")
                #expect(answer.headers.first(name: "traceparent")?.hasSuffix("-03") == true, "a new trace is sampled and random")
            }
            // Two traceparent headers are invalid together.
            let twice = try await get(server, "/api/observability/logs/stats/levels", headers: [
                ("traceparent", "00-\(Self.trace)-\(Self.parent)-01"), ("traceparent", "00-\(Self.trace)-\(Self.parent)-01"),
            ])
            #expect(twice.headers.first(name: "X-Trace-ID") != Self.trace)
            // Errors are traced too; the probes are not.
            let missing = try await get(server, "/api/observability/traces/" + String(repeating: "a", count: 32), headers: [])
            #expect(missing.status == 404)
            #expect(missing.headers.first(name: "traceparent") != nil)
            #expect(try await get(server, "/health", headers: []).headers.first(name: "traceparent") == nil)
        }
    }
}
