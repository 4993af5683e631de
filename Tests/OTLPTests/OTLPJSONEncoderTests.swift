import Foundation
import OTLP
import Testing

@Suite("Encoding OTLP/JSON")
struct OTLPJSONEncoderTests {
    static let traceFixtures = ["python-sdk/python-json-traces.json", "otlp-examples/trace.json"]
    static let logFixtures = ["python-sdk/python-json-logs.json", "otlp-examples/logs.json", "otlp-examples/events.json"]

    // MARK: Round trips through the decoder

    @Test(arguments: traceFixtures)
    func tracesRoundTrip(_ path: String) throws {
        let decoded = try OTLPJSONDecoder().decodeTraces(from: Fixtures.data(path))
        try #require(decoded.rejected.isEmpty)
        try #require(decoded.request.spanCount > 0)
        let back = try OTLPJSONDecoder().decodeTraces(from: Data(OTLPJSONEncoder.encode(decoded.request)))
        #expect(back.rejected.isEmpty)
        #expect(nanMarked(back.request) == nanMarked(decoded.request))
    }

    @Test(arguments: logFixtures)
    func logsRoundTrip(_ path: String) throws {
        let decoded = try OTLPJSONDecoder().decodeLogs(from: Fixtures.data(path))
        try #require(decoded.rejected.isEmpty)
        try #require(decoded.request.logRecordCount > 0)
        let back = try OTLPJSONDecoder().decodeLogs(from: Data(OTLPJSONEncoder.encode(decoded.request)))
        #expect(back.rejected.isEmpty)
        #expect(nanMarked(back.request) == nanMarked(decoded.request))
    }

    /// What the Python SDK sent as protobuf reads back the same after JSON encoding.
    @Test func protobufFixturesRoundTrip() throws {
        let traces = try OTLPProtobufDecoder().decodeTraces(from: Fixtures.data("python-sdk/python-proto-traces.bin"))
        try #require(traces.request.spanCount > 0)
        let tracesBack = try OTLPJSONDecoder().decodeTraces(from: Data(OTLPJSONEncoder.encode(traces.request)))
        #expect(nanMarked(tracesBack.request) == nanMarked(traces.request))

        let logs = try OTLPProtobufDecoder().decodeLogs(from: Fixtures.data("python-sdk/python-proto-logs.bin"))
        try #require(logs.request.logRecordCount > 0)
        let logsBack = try OTLPJSONDecoder().decodeLogs(from: Data(OTLPJSONEncoder.encode(logs.request)))
        #expect(logsBack.request == logs.request)
    }

    /// Every field set to a value other than its default, every value kind, extreme numbers.
    @Test func everyFieldRoundTrips() throws {
        let values: [KeyValue] = [
            kv("s", .string("quote \" backslash \\ newline \n tab \t nul \u{0} é ✓")),
            kv("b", .bool(true)), kv("i", .int(.min)), kv("j", .int(.max)),
            kv("d", .double(-0.000_001_5)), kv("inf", .double(.infinity)), kv("ninf", .double(-.infinity)),
            kv("nan", .double(.nan)), kv("bytes", .bytes([0, 1, 254, 255])),
            kv("a", .array([.int(1), .string("x"), .array([]), .kvlist([])])),
            kv("m", .kvlist([kv("inner", .kvlist([kv("deep", .bool(false))]))])), kv("e", .empty),
        ]
        let span = Span(
            traceId: TraceID(high: .max, low: 1), spanId: SpanID(.max), traceState: "k=v", parentSpanId: SpanID(2),
            flags: 0x301, name: "n", kind: SpanKind(rawValue: 9), startTimeUnixNano: UInt64(Int64.max), endTimeUnixNano: 1,
            attributes: values, droppedAttributesCount: 1,
            events: [SpanEvent(timeUnixNano: 3, name: "ev", attributes: values, droppedAttributesCount: 2)],
            droppedEventsCount: 3,
            links: [SpanLink(traceId: TraceID(high: 4, low: 5), spanId: SpanID(6), traceState: "a=b",
                             attributes: values, droppedAttributesCount: 4, flags: 0x100)],
            droppedLinksCount: 5, status: SpanStatus(message: "boom", code: .error))
        // `nanMarked` leaves resource and scope attributes alone, so they carry no NaN.
        let withoutNaN = values.filter { $0.key != "nan" }
        let resource = Resource(attributes: withoutNaN, droppedAttributesCount: 7,
                                entityRefs: [EntityRef(schemaUrl: "u", type: "service", idKeys: ["service.name"], descriptionKeys: ["d"])])
        let scope = InstrumentationScope(name: "scope", version: "1", attributes: withoutNaN, droppedAttributesCount: 8)
        let traces = ExportTraceServiceRequest(resourceSpans: [
            ResourceSpans(resource: resource, scopeSpans: [
                ScopeSpans(scope: scope, spans: [span, Span(traceId: TraceID(high: 0, low: 9), spanId: SpanID(10))], schemaUrl: "scope-schema"),
            ], schemaUrl: "resource-schema"),
            ResourceSpans(),
        ])
        let tracesBack = try OTLPJSONDecoder().decodeTraces(from: Data(OTLPJSONEncoder.encode(traces)))
        #expect(tracesBack.rejected.isEmpty)
        #expect(nanMarked(tracesBack.request) == nanMarked(traces))

        let records = [
            LogRecord(timeUnixNano: UInt64(Int64.max), observedTimeUnixNano: 2, severityNumber: SeverityNumber(rawValue: 21),
                      severityText: "FATAL", body: .kvlist(values), attributes: values, droppedAttributesCount: 3,
                      flags: 1, traceId: TraceID(high: 1, low: 2), spanId: SpanID(3), eventName: "e"),
            LogRecord(body: .empty),
            LogRecord(),
        ]
        let logs = ExportLogsServiceRequest(resourceLogs: [
            ResourceLogs(resource: resource, scopeLogs: [ScopeLogs(scope: scope, logRecords: records, schemaUrl: "s")], schemaUrl: "r"),
        ])
        let logsBack = try OTLPJSONDecoder().decodeLogs(from: Data(OTLPJSONEncoder.encode(logs)))
        #expect(logsBack.rejected.isEmpty)
        #expect(nanMarked(logsBack.request) == nanMarked(logs))
    }

    // MARK: The OTLP/JSON rules on the text

    @Test func writesTheOTLPJSONForms() throws {
        let span = Span(
            traceId: TraceID(hex: "5B8EFFF798038103D269B633813FC60C")!, spanId: SpanID(hex: "EEE19B7EC3C1B174")!,
            parentSpanId: SpanID(hex: "0102030405060708")!, name: "GET /", kind: .server,
            startTimeUnixNano: 1_544_712_660_000_000_000, endTimeUnixNano: 1_544_712_661_000_000_000,
            attributes: [kv("n", .int(42)), kv("d", .double(.nan))], status: SpanStatus(code: .error))
        let text = String(decoding: OTLPJSONEncoder.encode(ExportTraceServiceRequest(resourceSpans: [
            ResourceSpans(scopeSpans: [ScopeSpans(spans: [span])]),
        ])), as: UTF8.self)
        #expect(text.contains(#""traceId":"5b8efff798038103d269b633813fc60c""#))
        #expect(text.contains(#""spanId":"eee19b7ec3c1b174""#))
        #expect(text.contains(#""parentSpanId":"0102030405060708""#))
        #expect(text.contains(#""kind":2"#))
        #expect(text.contains(#""startTimeUnixNano":"1544712660000000000""#))
        #expect(text.contains(#"{"key":"n","value":{"intValue":"42"}}"#))
        #expect(text.contains(#"{"doubleValue":"NaN"}"#))
        #expect(text.contains(#""status":{"code":2}"#))
        // Defaults are left out.
        #expect(!text.contains("traceState"))
        #expect(!text.contains("droppedAttributesCount"))
        #expect(!text.contains("flags"))

        let record = LogRecord(severityNumber: SeverityNumber(rawValue: 17), severityText: "ERROR", body: .string("x"))
        let logText = String(decoding: OTLPJSONEncoder.encode(ExportLogsServiceRequest(resourceLogs: [
            ResourceLogs(scopeLogs: [ScopeLogs(logRecords: [record])]),
        ])), as: UTF8.self)
        #expect(logText.contains(#""severityNumber":17,"severityText":"ERROR","body":{"stringValue":"x"}"#))
        #expect(!logText.contains("traceId"))
        #expect(!logText.contains("timeUnixNano"))
    }

    @Test func emptyRequestsAreValid() throws {
        #expect(String(decoding: OTLPJSONEncoder.encode(ExportTraceServiceRequest()), as: UTF8.self) == #"{"resourceSpans":[]}"#)
        #expect(String(decoding: OTLPJSONEncoder.encode(ExportLogsServiceRequest()), as: UTF8.self) == #"{"resourceLogs":[]}"#)
    }
}
