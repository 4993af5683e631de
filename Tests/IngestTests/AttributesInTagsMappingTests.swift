import Foundation
import Ingest
import OTLP
import Store
import Testing

/// When the mapping tells the store that a span's typed attributes follow from its `tags`
/// (`AttributesInTags`), and in which order `jsonb` would put them.
@Suite struct AttributesInTagsMappingTests {
    static func row(_ attributes: [KeyValue]) -> SpanRow {
        let span = Span(traceId: TraceID(high: 1, low: 2), spanId: SpanID(3), name: "op", kind: .server,
                        startTimeUnixNano: 1_000, endTimeUnixNano: 2_000, attributes: attributes)
        let request = ExportTraceServiceRequest(resourceSpans: [ResourceSpans(scopeSpans: [ScopeSpans(spans: [span])])])
        return request.writeBatch().spans[0]
    }

    @Test func everyKindButBytesFollowsFromTags() {
        let row = Self.row([
            KeyValue(key: "http.route", value: .string("/x")), KeyValue(key: "n", value: .int(-7)),
            KeyValue(key: "ok", value: .bool(true)), KeyValue(key: "ratio", value: .double(0.5)),
            KeyValue(key: "whole", value: .double(2)), KeyValue(key: "none", value: .empty),
            KeyValue(key: "list", value: .array([.string("a"), .int(1), .array([])])),
            KeyValue(key: "map", value: .kvlist([KeyValue(key: "n", value: .int(1)), KeyValue(key: "inner", value: .bool(false))])),
        ])
        let layout = row.attributesInTags
        #expect(layout?.jsonbPositions == AttributesInTags.jsonbPositions(of: ["http.route", "n", "ok", "ratio", "whole", "none", "list", "map"]))
        #expect(layout?.jsonbPositions != nil)
        #expect(layout?.nestedOrderSurvivesJSONB == true)
    }

    @Test func inJSONBOrderNeedsNoPositions() {
        let row = Self.row([KeyValue(key: "a", value: .string("x")), KeyValue(key: "bb", value: .int(1))])
        #expect(row.attributesInTags == AttributesInTags(jsonbPositions: nil, nestedOrderSurvivesJSONB: true))
        #expect(Self.row([]).attributesInTags == AttributesInTags(jsonbPositions: nil, nestedOrderSurvivesJSONB: true))
    }

    @Test func aKVListOutOfJSONBOrderIsSaid() {
        let row = Self.row([KeyValue(key: "map", value: .kvlist([KeyValue(key: "inner", value: .int(1)), KeyValue(key: "n", value: .int(2))]))])
        #expect(row.attributesInTags?.nestedOrderSurvivesJSONB == false)
    }

    @Test(arguments: [
        AnyValue.bytes([0, 1]), .double(1e20), .double(1e-7), .double(.nan), .double(.infinity), .double(-0.0),
        .array([.bytes([1])]), .kvlist([KeyValue(key: "k", value: .int(1)), KeyValue(key: "k", value: .int(2))]),
    ])
    func whatTagsLoseKeepsTheTypedForm(_ value: AnyValue) {
        #expect(Self.row([KeyValue(key: "a", value: .string("x")), KeyValue(key: "v", value: value)]).attributesInTags == nil)
    }

    @Test func aRepeatedKeyOrOneWithNULKeepsTheTypedForm() {
        #expect(Self.row([KeyValue(key: "k", value: .int(1)), KeyValue(key: "k", value: .int(2))]).attributesInTags == nil)
        #expect(Self.row([KeyValue(key: "k\u{0}", value: .int(1))]).attributesInTags == nil)
    }
}
