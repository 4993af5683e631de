import Foundation
import Ingest
import OTLP
import Store
import Testing

/// When the mapping tells the store that a span's typed events follow from its `logs`
/// (`EventsInLogs`).
@Suite struct EventsInLogsMappingTests {
    static func row(_ events: [SpanEvent]) -> SpanRow {
        let span = Span(traceId: TraceID(high: 1, low: 2), spanId: SpanID(3), name: "op", kind: .server,
                        startTimeUnixNano: 1_000, endTimeUnixNano: 2_000, events: events)
        return ExportTraceServiceRequest(resourceSpans: [ResourceSpans(scopeSpans: [ScopeSpans(spans: [span])])]).writeBatch().spans[0]
    }

    @Test func scalarEventsFollowFromLogs() {
        let row = Self.row([
            SpanEvent(timeUnixNano: 1_796_637_600_123_456_789, name: "e",
                      attributes: [KeyValue(key: "step", value: .int(1)), KeyValue(key: "ok", value: .bool(true)), KeyValue(key: "r", value: .double(0.5))]),
            SpanEvent(timeUnixNano: 1_796_637_600_000_001_000, name: "f"),
        ])
        #expect(row.eventsInLogs == EventsInLogs(parts: [
            .init(nanoseconds: 789, jsonbPositions: AttributesInTags.jsonbPositions(of: ["step", "ok", "r"])),
            .init(nanoseconds: 0, jsonbPositions: nil),
        ]))
        #expect(Self.row([]).eventsInLogs == EventsInLogs(parts: []))
    }

    @Test(arguments: [
        AnyValue.array([.int(1)]), .kvlist([KeyValue(key: "k", value: .int(1))]), .bytes([1]), .double(1e20), .double(.nan), .double(-0.0),
    ])
    func whatLogsLoseKeepsTheTypedForm(_ value: AnyValue) {
        #expect(Self.row([SpanEvent(timeUnixNano: 5_000, name: "e", attributes: [KeyValue(key: "v", value: value)])]).eventsInLogs == nil)
    }

    @Test func droppedAttributesOrARepeatedKeyKeepTheTypedForm() {
        #expect(Self.row([SpanEvent(timeUnixNano: 5_000, name: "e", droppedAttributesCount: 1)]).eventsInLogs == nil)
        #expect(Self.row([SpanEvent(timeUnixNano: 5_000, name: "e", attributes: [KeyValue(key: "k", value: .int(1)), KeyValue(key: "k", value: .int(2))])]).eventsInLogs == nil)
    }

    /// The readers refuse a time past the store's signed 64 bits (a 400 naming the field); a
    /// model built some other way still maps, at the largest time, instead of trapping.
    @Test func aTimePastSignedSixtyFourBitsMapsWithoutTrapping() {
        let row = Self.row([SpanEvent(timeUnixNano: .max, name: "far")])
        #expect(row.logs.contains("far"))
    }
}
