import Foundation
@testable import OTLP
import StoreTestSupport
import Testing

/// A span's typed attributes are stored only where its flat `tags` cannot give them back
/// (docs/partitioning.md, "Attributes stored once"): spans with every kind of attribute value,
/// in an order `jsonb` would change, with and without values that keep the typed form, read back
/// through Tempo's protobuf trace by id equal to what was sent, attribute order included.
@Suite struct AttributesInTagsRoundTripTests {
    /// Every kind of value `tags` gives back, its keys out of `jsonb`'s order (shorter first).
    static let derivable: [KeyValue] = [
        KeyValue(key: "http.route", value: .string("/checkout \"now\" é\n")),
        KeyValue(key: "ok", value: .bool(false)),
        KeyValue(key: "n", value: .int(-9_007_199_254_740_993)),
        KeyValue(key: "ratio", value: .double(0.1)),
        KeyValue(key: "whole", value: .double(3)),
        KeyValue(key: "list", value: .array([.string("a"), .int(2), .bool(true), .double(1.5), .empty, .array([])])),
        KeyValue(key: "map", value: .kvlist([KeyValue(key: "n", value: .int(7)), KeyValue(key: "inner", value: .array([.string("x")]))])),
        KeyValue(key: "empty.map", value: .kvlist([])),
        KeyValue(key: "nothing", value: .empty),
    ]

    static func request(trace: TraceID, start: UInt64) -> ExportTraceServiceRequest {
        let resource = Resource(attributes: [KeyValue(key: "service.name", value: .string("api"))] + StoredContextRoundTripTests.everyKind("resource"))
        let scope = InstrumentationScope(name: "api.http", version: "2.0", attributes: StoredContextRoundTripTests.everyKind("scope"))
        func span(_ id: UInt64, _ attributes: [KeyValue]) -> Span {
            Span(traceId: trace, spanId: SpanID(id), parentSpanId: id == 1 ? nil : SpanID(1), name: "op \(id)", kind: .internal,
                 startTimeUnixNano: start + id * 1_000, endTimeUnixNano: start + id * 1_000 + 1_000_000, attributes: attributes)
        }
        return ExportTraceServiceRequest(resourceSpans: [ResourceSpans(resource: resource, scopeSpans: [ScopeSpans(scope: scope, spans: [
            span(1, derivable),
            // A kvlist whose members `jsonb` would reorder.
            span(2, derivable + [KeyValue(key: "reordered", value: .kvlist([KeyValue(key: "zzz", value: .int(1)), KeyValue(key: "a", value: .int(2))]))]),
            // Values `tags` loses: bytes, doubles with an exponent or not finite, -0.0, a repeated key.
            span(3, derivable + [KeyValue(key: "raw", value: .bytes([0, 1, 254, 255])), KeyValue(key: "tiny", value: .double(1e-7)),
                                 KeyValue(key: "huge", value: .double(1e300)), KeyValue(key: "inf", value: .double(-.infinity)),
                                 KeyValue(key: "zero", value: .double(-0.0)), KeyValue(key: "ok", value: .bool(true))]),
            span(4, []),
            span(5, StoredContextRoundTripTests.everyKind("span")),
        ])])])
    }

    @Test(arguments: StoreKind.available)
    func everyAttributeKindReadsBackInOrder(_ kind: StoreKind) async throws {
        let trace = TraceID(high: 0x24, low: 1)
        let sent = Self.request(trace: trace, start: UInt64(Date.now.timeIntervalSince1970 - 60) * 1_000_000_000)
        try await GrafanaTestServer.with(kind) { server in
            try await server.ingest(sent)
            let read = try #require(try await server.tempoTrace(trace.hex))
            #expect(read.normalized == sent.normalized)
            let spans = read.resourceSpans.flatMap(\.scopeSpans).flatMap(\.spans).sorted { $0.spanId.hex < $1.spanId.hex }
            let sentSpans = sent.resourceSpans[0].scopeSpans[0].spans
            #expect(spans.count == sentSpans.count)
            for (got, want) in zip(spans, sentSpans) {
                #expect(got.attributes.map(\.key) == want.attributes.map(\.key), "span \(want.spanId.hex)")
            }
        }
    }
}
