import Foundation
import OTLP
import SightlineServer
import StoreTestSupport
import Testing

/// `GET /services/graph` on both stores: a frontend calling an api, the api's spans sent
/// before the frontend's (so their calls are paired across commits).
extension QueryAPITests {
    /// Three calls a few minutes ago (the third fails, 400 ms), and one 30 hours ago.
    static func serviceCalls(now: UInt64) -> (api: ExportTraceServiceRequest, frontend: ExportTraceServiceRequest) {
        var api: [Span] = [], frontend: [Span] = []
        for (index, minutesAgo) in [5, 4, 3, 30 * 60].enumerated() {
            let start = now - UInt64(minutesAgo) * 60_000_000_000
            let trace = TraceID(high: 0x5E41, low: UInt64(index + 1))
            let root = SpanID(UInt64(index * 10 + 1)), client = SpanID(UInt64(index * 10 + 2))
            let failed = index == 2
            let serverMs: UInt64 = failed ? 400 : 20
            frontend.append(Span(traceId: trace, spanId: root, name: "GET /", kind: .server, startTimeUnixNano: start,
                                 endTimeUnixNano: start + 500 * millisecond))
            frontend.append(Span(traceId: trace, spanId: client, parentSpanId: root, name: "GET /items", kind: .client,
                                 startTimeUnixNano: start + millisecond, endTimeUnixNano: start + (serverMs + 2) * millisecond))
            api.append(Span(traceId: trace, spanId: SpanID(UInt64(index * 10 + 3)), parentSpanId: client, name: "GET /items",
                            kind: .server, startTimeUnixNano: start + 2 * millisecond,
                            endTimeUnixNano: start + (serverMs + 2) * millisecond,
                            status: failed ? SpanStatus(message: "boom", code: .error) : SpanStatus()))
        }
        return (Dataset.request(service: "api", spans: api), Dataset.request(service: "frontend", spans: frontend))
    }

    @Test(arguments: StoreKind.available)
    func serviceGraphHasTheCallsBetweenServices(_ kind: StoreKind) async throws {
        try await TestServer.with(kind) { server in
            let calls = Self.serviceCalls(now: UInt64(Date.now.timeIntervalSince1970 * 1e9))
            for request in [calls.api, calls.frontend] {
                let answer = try await server.post("/v1/traces", Array(OTLPProtobufEncoder.encode(request)), contentType: "application/x-protobuf")
                try #require(answer.status == 200)
            }
            let graph = try object(try await get(server, "/services/graph?hours=1"))
            #expect(graph["period_hours"] as? Int == 1)
            let edges = list(graph, "edges")
            #expect(edges.count == 1)
            let edge = try #require(edges.first)
            #expect(edge["client"] as? String == "frontend" && edge["server"] as? String == "api")
            #expect(edge["requests"] as? Int == 3 && edge["errors"] as? Int == 1)
            #expect(edge["error_rate"] as? Double == 33.33)
            // 20, 20 and 400 ms: the 95th percentile is in the (250, 500] bucket, at most 400.
            let p95 = try #require(edge["p95_ms"] as? Double)
            #expect(p95 > 250 && p95 <= 400)
            let rate = try #require(edge["rate_per_minute"] as? Double)
            #expect(rate > 0.04 && rate < 0.06, "3 calls over about 60 minutes: \(rate)")
            let nodes = list(graph, "nodes")
            #expect(nodes.compactMap { $0["service"] as? String } == ["api", "frontend"])
            #expect(nodes.first?["requests"] as? Int == 3 && nodes.first?["root_requests"] as? Int == 0)
            #expect(nodes.last?["requests"] as? Int == 3 && nodes.last?["root_requests"] as? Int == 3)
            #expect(nodes.last?["errors"] as? Int == 0)

            // The call 30 hours ago is in a 48-hour window only.
            let longer = try object(try await get(server, "/services/graph?hours=48"))
            #expect(list(longer, "edges").first?["requests"] as? Int == 4)
            for (query, parameter) in [("hours=0", "hours"), ("hours=169", "hours"), ("hours=x", "hours")] {
                let bad = try await get(server, "/services/graph?" + query)
                #expect(bad.status == 400)
                #expect((bad.json?["error"] as? String ?? "").hasPrefix(parameter + ":"), "\(query)")
            }
        }
    }
}
