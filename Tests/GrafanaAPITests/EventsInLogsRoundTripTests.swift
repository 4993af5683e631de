import Foundation
@testable import OTLP
import StoreTestSupport
import Testing

/// On PostgreSQL a span's typed events are stored only where its flat `logs` cannot give them
/// back (docs/partitioning.md, "Span events (migration 016)"): spans with events of every kind,
/// at nanosecond times, attributes in an order `jsonb` would change, with and without what keeps
/// the typed form, read back through Tempo's protobuf trace by id equal to what was sent, and
/// TraceQL finds them by their events' names and attributes.
@Suite struct EventsInLogsRoundTripTests {
    static func request(trace: TraceID, start: UInt64) -> ExportTraceServiceRequest {
        let resource = Resource(attributes: [KeyValue(key: "service.name", value: .string("events"))] + StoredContextRoundTripTests.everyKind("resource"))
        let scope = InstrumentationScope(name: "events.test", version: "1.0", attributes: StoredContextRoundTripTests.everyKind("scope"))
        let scalars = [
            KeyValue(key: "message.text", value: .string("hit \"it\" é\n")), KeyValue(key: "step", value: .int(-3)),
            KeyValue(key: "ok", value: .bool(true)), KeyValue(key: "ratio", value: .double(0.25)), KeyValue(key: "whole", value: .double(2)),
            KeyValue(key: "nothing", value: .empty),
        ]
        func span(_ id: UInt64, _ events: [SpanEvent]) -> Span {
            Span(traceId: trace, spanId: SpanID(id), parentSpanId: id == 1 ? nil : SpanID(1), name: "op \(id)", kind: .internal,
                 startTimeUnixNano: start + id * 1_000, endTimeUnixNano: start + id * 1_000 + 1_000_000, events: events)
        }
        return ExportTraceServiceRequest(resourceSpans: [ResourceSpans(resource: resource, scopeSpans: [ScopeSpans(scope: scope, spans: [
            // Scalars out of `jsonb`'s order, nanosecond times, an event without attributes.
            span(1, [SpanEvent(timeUnixNano: start + 123_456_789, name: "cache.lookup", attributes: scalars),
                     SpanEvent(timeUnixNano: start + 200_000_000, name: "plain"),
                     SpanEvent(timeUnixNano: start + 300_000_001, name: "ordered", attributes: [KeyValue(key: "a", value: .int(1)), KeyValue(key: "bb", value: .int(2))])]),
            // What keeps the typed form: an array, a kvlist, bytes, dropped attributes, a time before 1970's microsecond.
            span(2, [SpanEvent(timeUnixNano: start + 1, name: "typed", attributes: scalars + [KeyValue(key: "list", value: .array([.string("a"), .int(2)]))])]),
            span(3, [SpanEvent(timeUnixNano: start + 2, name: "typed", attributes: [KeyValue(key: "map", value: .kvlist([KeyValue(key: "k", value: .int(1))]))])]),
            span(4, [SpanEvent(timeUnixNano: start + 3, name: "typed", attributes: [KeyValue(key: "raw", value: .bytes([0, 255]))])]),
            span(5, [SpanEvent(timeUnixNano: start + 4, name: "dropped", attributes: scalars, droppedAttributesCount: 2)]),
            span(6, [SpanEvent(timeUnixNano: 999, name: "at the start of 1970")]),
            span(7, []),
        ])])])
    }

    @Test(arguments: StoreKind.available)
    func everyEventReadsBackAtItsNanosecond(_ kind: StoreKind) async throws {
        let trace = TraceID(high: 0x16, low: 1)
        let now = UInt64(Date.now.timeIntervalSince1970)
        let sent = Self.request(trace: trace, start: (now - 60) * 1_000_000_000)
        try await GrafanaTestServer.with(kind) { server in
            try await server.ingest(sent)
            let read = try #require(try await server.tempoTrace(trace.hex))
            #expect(read.normalized == sent.normalized)
            let spans = read.resourceSpans.flatMap(\.scopeSpans).flatMap(\.spans).sorted { $0.spanId.hex < $1.spanId.hex }
            let sentSpans = sent.resourceSpans[0].scopeSpans[0].spans
            #expect(spans.count == sentSpans.count)
            for (got, want) in zip(spans, sentSpans) {
                #expect(got.events.map(\.timeUnixNano) == want.events.map(\.timeUnixNano), "span \(want.spanId.hex)")
                #expect(got.events.map { $0.attributes.map(\.key) } == want.events.map { $0.attributes.map(\.key) }, "span \(want.spanId.hex)")
            }

            // TraceQL reads the events' names and typed attributes, whichever form they are stored in.
            let range = [("start", String(now - 3_600)), ("end", String(now + 60))]
            for query in [#"{ event:name = "cache.lookup" }"#, #"{ event.step = -3 }"#, #"{ event.ok = true }"#, #"{ event.ratio > 0.2 }"#,
                          #"{ event.message.text =~ "hit.*" }"#, #"{ event:name = "ordered" }"#, #"{ event.bb = 2 }"#,
                          #"{ event.raw != nil }"#, #"{ event.step = -3 && event:name = "dropped" }"#] {
                let found = try await server.get("/api/search?" + FormEncoding.query([("q", query)] + range))
                #expect(found.status == 200, "\(query): \(found.body)")
                let traces = (found.json?["traces"] as? [[String: Any]] ?? []).compactMap { $0["traceID"] as? String }
                #expect(traces == [trace.hex], "\(query): \(found.body)")
            }
            let none = try await server.get("/api/search?" + FormEncoding.query([("q", #"{ event.step = 3 }"#)] + range))
            #expect((none.json?["traces"] as? [[String: Any]] ?? []).isEmpty, "\(none.body)")
        }
    }
}
