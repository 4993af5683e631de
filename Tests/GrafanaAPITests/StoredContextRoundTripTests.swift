import Foundation
@testable import OTLP
import StoreTestSupport
import Testing

/// Resources and scopes are stored once each and referenced by id (docs/partitioning.md): a
/// trace read back through Tempo's protobuf trace by id still equals, up to ordering, what was
/// sent, with every kind of attribute value on the resource, the scope, the span, its events and
/// links, and with resources and scopes shared by several spans, requests and traces.
@Suite struct StoredContextRoundTripTests {
    static let second: UInt64 = 1_000_000_000

    /// One attribute of every kind OTLP has.
    static func everyKind(_ prefix: String) -> [KeyValue] {
        [
            KeyValue(key: "\(prefix).string", value: .string("text with \"quotes\" and é")),
            KeyValue(key: "\(prefix).bool", value: .bool(true)),
            KeyValue(key: "\(prefix).int", value: .int(-9_007_199_254_740_993)),
            KeyValue(key: "\(prefix).double", value: .double(0.125)),
            KeyValue(key: "\(prefix).bytes", value: .bytes([0, 1, 254, 255])),
            KeyValue(key: "\(prefix).array", value: .array([.string("a"), .int(2), .bool(false), .double(1.5)])),
            KeyValue(key: "\(prefix).kvlist", value: .kvlist([KeyValue(key: "inner", value: .array([.string("x")])),
                                                                 KeyValue(key: "n", value: .int(7))])),
            KeyValue(key: "\(prefix).empty", value: .empty),
        ]
    }

    static func request(trace: TraceID, start: UInt64) -> ExportTraceServiceRequest {
        let api = Resource(attributes: [KeyValue(key: "service.name", value: .string("api"))] + everyKind("resource"),
                           droppedAttributesCount: 2,
                           entityRefs: [EntityRef(schemaUrl: "https://example.com/e", type: "service", idKeys: ["service.name"])])
        let worker = Resource(attributes: [KeyValue(key: "service.name", value: .string("worker"))])
        let http = InstrumentationScope(name: "api.http", version: "2.0", attributes: everyKind("scope"), droppedAttributesCount: 1)
        let db = InstrumentationScope(name: "api.db")
        func span(_ id: UInt64, parent: UInt64?, _ name: String) -> Span {
            Span(traceId: trace, spanId: SpanID(id), traceState: "k=v", parentSpanId: parent.map { SpanID($0) }, flags: 257, name: name,
                 kind: .server, startTimeUnixNano: start + id * 1_000, endTimeUnixNano: start + id * 1_000 + 5_000_000,
                 attributes: everyKind("span"), droppedAttributesCount: 3,
                 events: [SpanEvent(timeUnixNano: start + 2_000, name: "retry", attributes: everyKind("event"), droppedAttributesCount: 1)],
                 droppedEventsCount: 4,
                 links: [SpanLink(traceId: trace, spanId: SpanID(id + 100), traceState: "x=y", attributes: everyKind("link"),
                                  droppedAttributesCount: 5, flags: 1)],
                 droppedLinksCount: 6, status: SpanStatus(message: "it broke", code: .error))
        }
        return ExportTraceServiceRequest(resourceSpans: [
            ResourceSpans(resource: api, scopeSpans: [
                ScopeSpans(scope: http, spans: [span(1, parent: nil, "GET /"), span(2, parent: 1, "render")],
                           schemaUrl: "https://opentelemetry.io/schemas/1.24.0"),
                ScopeSpans(scope: db, spans: [span(3, parent: 1, "SELECT")]),
            ], schemaUrl: "https://opentelemetry.io/schemas/1.21.0"),
            ResourceSpans(resource: worker, scopeSpans: [ScopeSpans(scope: db, spans: [span(4, parent: 3, "job")])]),
        ])
    }

    @Test(arguments: StoreKind.available)
    func everyAttributeKindReadsBackEqual(_ kind: StoreKind) async throws {
        let now = UInt64(Date.now.timeIntervalSince1970) * Self.second
        let first = TraceID(high: 0x22, low: 1)
        let second = TraceID(high: 0x22, low: 2)
        try await GrafanaTestServer.with(kind) { server in
            // Two requests with the same resources and scopes: the second finds their ids.
            let sent = [first: Self.request(trace: first, start: now - 60 * Self.second),
                        second: Self.request(trace: second, start: now - 30 * Self.second)]
            try await server.ingest(sent[first]!)
            try await server.ingest(sent[second]!)
            for (id, request) in sent {
                let read = try #require(try await server.tempoTrace(id.hex))
                #expect(read.normalized == request.normalized)
            }
        }
    }
}
