import Foundation
import OTLP
import Testing

// OTLP/HTTP protobuf: the same model and the same rules as OTLP/JSON.

/// The requests with every NaN replaced by a marker (see `nanMarked` in TestSupport.swift).
func nanMarked(_ request: ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    var request = request
    for r in request.resourceSpans.indices {
        for s in request.resourceSpans[r].scopeSpans.indices {
            for i in request.resourceSpans[r].scopeSpans[s].spans.indices {
                var span = request.resourceSpans[r].scopeSpans[s].spans[i]
                span.attributes = nanMarked(span.attributes)
                for e in span.events.indices { span.events[e].attributes = nanMarked(span.events[e].attributes) }
                for l in span.links.indices { span.links[l].attributes = nanMarked(span.links[l].attributes) }
                request.resourceSpans[r].scopeSpans[s].spans[i] = span
            }
        }
    }
    return request
}

func nanMarked(_ request: ExportLogsServiceRequest) -> ExportLogsServiceRequest {
    var request = request
    for r in request.resourceLogs.indices {
        for s in request.resourceLogs[r].scopeLogs.indices {
            for i in request.resourceLogs[r].scopeLogs[s].logRecords.indices {
                var record = request.resourceLogs[r].scopeLogs[s].logRecords[i]
                record.attributes = nanMarked(record.attributes)
                record.body = record.body.map(nanMarked)
                request.resourceLogs[r].scopeLogs[s].logRecords[i] = record
            }
        }
    }
    return request
}

@Suite("Decoding OTLP protobuf")
struct ProtobufDecodingTests {
    let decoder = OTLPProtobufDecoder()

    // MARK: Round trips

    static let traceFixtures = ["python-sdk/python-json-traces.json", "otlp-examples/trace.json"]
    static let logFixtures = ["python-sdk/python-json-logs.json", "otlp-examples/logs.json", "otlp-examples/events.json"]

    @Test(arguments: traceFixtures)
    func jsonTracesThroughProtobufAndBack(_ path: String) throws {
        let json = try OTLPJSONDecoder().decodeTraces(from: Fixtures.data(path))
        try #require(json.rejected.isEmpty)
        try #require(json.request.spanCount > 0)
        let bytes = OTLPProtobufEncoder.encode(json.request)
        let back = try decoder.decodeTraces(from: bytes)
        #expect(back.rejected.isEmpty)
        #expect(nanMarked(back.request) == nanMarked(json.request))
    }

    @Test(arguments: logFixtures)
    func jsonLogsThroughProtobufAndBack(_ path: String) throws {
        let json = try OTLPJSONDecoder().decodeLogs(from: Fixtures.data(path))
        try #require(json.rejected.isEmpty)
        try #require(json.request.logRecordCount > 0)
        let bytes = OTLPProtobufEncoder.encode(json.request)
        let back = try decoder.decodeLogs(from: bytes)
        #expect(back.rejected.isEmpty)
        #expect(nanMarked(back.request) == nanMarked(json.request))
    }

    @Test func everyValueKindRoundTrips() throws {
        let values: [AnyValue] = [
            .string(""), .string("héllo\u{0}"), .bool(true), .bool(false), .int(.min), .int(.max), .double(-0.5),
            .double(.infinity), .bytes([0, 1, 255]), .bytes([]), .array([]), .kvlist([]), .empty,
            .array([.int(1), .array([.string("x")]), .kvlist([KeyValue(key: "k", value: .empty)])]),
        ]
        let span = Span(traceId: TraceID(high: 1, low: 2), spanId: SpanID(3), traceState: "a=b", parentSpanId: SpanID(4),
                        flags: 0x301, name: "n", kind: SpanKind(rawValue: 9), startTimeUnixNano: 1, endTimeUnixNano: UInt64(Int64.max),
                        attributes: values.enumerated().map { KeyValue(key: "k\($0.offset)", value: $0.element) },
                        droppedAttributesCount: 1, events: [SpanEvent(timeUnixNano: 5, name: "e", droppedAttributesCount: 2)],
                        droppedEventsCount: 3, links: [SpanLink(traceId: TraceID(high: 7, low: 8), spanId: SpanID(9), traceState: "t",
                                                                droppedAttributesCount: 4, flags: 256)],
                        droppedLinksCount: 5, status: SpanStatus(message: "m", code: StatusCode(rawValue: 7)))
        let request = ExportTraceServiceRequest(resourceSpans: [ResourceSpans(
            resource: Resource(attributes: [KeyValue(key: "service.name", value: .string("s"))], droppedAttributesCount: 6,
                               entityRefs: [EntityRef(schemaUrl: "u", type: "service", idKeys: ["a"], descriptionKeys: ["b", "c"])]),
            scopeSpans: [ScopeSpans(scope: InstrumentationScope(name: "sc", version: "1", droppedAttributesCount: 2), spans: [span], schemaUrl: "x")],
            schemaUrl: "y")])
        let back = try decoder.decodeTraces(from: OTLPProtobufEncoder.encode(request))
        #expect(back.rejected.isEmpty)
        #expect(back.request == request)

        let record = LogRecord(timeUnixNano: 1, observedTimeUnixNano: 2, severityNumber: SeverityNumber(rawValue: 30),
                               severityText: "W", body: .kvlist([KeyValue(key: "a", value: .array(values))]),
                               attributes: [KeyValue(key: "x", value: .empty)], droppedAttributesCount: 1, flags: 1,
                               traceId: TraceID(high: 0, low: 1), spanId: SpanID(2), eventName: "ev")
        let logs = ExportLogsServiceRequest(resourceLogs: [ResourceLogs(scopeLogs: [ScopeLogs(logRecords: [record, LogRecord()])])])
        let logsBack = try decoder.decodeLogs(from: OTLPProtobufEncoder.encode(logs))
        #expect(logsBack.rejected.isEmpty)
        #expect(logsBack.request == logs)
    }

    // MARK: Per-item rules, as in JSON

    /// A traces request of `spans` in one resource and scope, as protobuf bytes.
    static func traces(_ spans: [PBWire.Message]) -> Data {
        PBWire.message([
            .message(1, [ // resource_spans
                .message(1, [.message(1, [.bytes(1, Data("service.name".utf8))])]), // resource.attributes[0].key
                .message(2, [.message(1, [.bytes(1, Data("scope".utf8))])] + spans.map { .message(2, $0) }), // scope_spans
            ]),
        ])
    }

    static func span(traceID: Data = Data(repeating: 0xAB, count: 16), spanID: Data = Data(repeating: 0xCD, count: 8),
                     _ more: [PBWire.Field] = []) -> PBWire.Message {
        (traceID.isEmpty ? [] : [.bytes(1, traceID)]) + (spanID.isEmpty ? [] : [.bytes(2, spanID)]) + more
    }

    struct RuleCase: Sendable, CustomTestStringConvertible {
        var name: String
        var span: PBWire.Message
        var path: String
        var message: String
        var testDescription: String { name }
    }

    static let ruleCases: [RuleCase] = [
        RuleCase(name: "short trace id", span: span(traceID: Data([1, 2, 3, 4, 5])), path: "traceId", message: "expected 16 bytes, got 5"),
        RuleCase(name: "long span id", span: span(spanID: Data(repeating: 1, count: 9)), path: "spanId", message: "expected 8 bytes, got 9"),
        RuleCase(name: "missing trace id", span: span(traceID: Data()), path: "traceId", message: "is required"),
        RuleCase(name: "missing span id", span: span(spanID: Data()), path: "spanId", message: "is required"),
        RuleCase(name: "zero trace id", span: span(traceID: Data(count: 16)), path: "traceId", message: "must not be all zeros"),
        RuleCase(name: "zero span id", span: span(spanID: Data(count: 8)), path: "spanId", message: "must not be all zeros"),
        RuleCase(name: "short parent id", span: span([.bytes(4, Data([1, 2]))]), path: "parentSpanId", message: "expected 8 bytes, got 2"),
        RuleCase(name: "start out of range", span: span([.fixed64(7, UInt64(Int64.max) + 1)]), path: "startTimeUnixNano",
                 message: "timestamp out of range"),
        RuleCase(name: "event time out of range", span: span([.message(11, [.fixed64(1, .max)])]), path: "events[0].timeUnixNano",
                 message: "timestamp out of range"),
        RuleCase(name: "link without span id", span: span([.message(13, []), .message(13, [.bytes(1, Data(repeating: 1, count: 16))])]),
                 path: "links[0].traceId", message: "is required"),
        RuleCase(name: "link span id short", span: span([.message(13, [.bytes(1, Data(repeating: 1, count: 16)), .bytes(2, Data([1]))])]),
                 path: "links[0].spanId", message: "expected 8 bytes, got 1"),
        RuleCase(name: "value nested too deeply", span: span([.message(9, [.bytes(1, Data("deep".utf8)), .message(2, PBWire.nestedArrays(40))])]),
                 path: "attributes[0].value" + String(repeating: ".arrayValue.values[0]", count: 32) + ".arrayValue",
                 message: "values nest deeper than 32 levels"),
    ]

    @Test(arguments: ruleCases, [OTLPProtobufDecoder.Engine.direct, .generated])
    func invalidSpanIsRejectedAlone(_ rule: RuleCase, engine: OTLPProtobufDecoder.Engine) throws {
        let good = Self.span([.bytes(5, Data("good".utf8))])
        let decoded = try OTLPProtobufDecoder(engine: engine).decodeTraces(from: Self.traces([good, rule.span, good]))
        #expect(decoded.request.spanCount == 2)
        #expect(decoded.request.resourceSpans[0].scopeSpans[0].spans.map(\.name) == ["good", "good"])
        #expect(decoded.rejected == [OTLPDecodingError(path: "resourceSpans[0].scopeSpans[0].spans[1]." + rule.path, message: rule.message)])
    }

    @Test func jsonRejectsTheSameSpans() throws {
        // The same three-span request in OTLP/JSON is rejected at the same place: one rule set.
        let json = tracesJSON([spanJSON(), spanJSON(#""startTimeUnixNano":"9223372036854775808""#),
                               spanJSON(#""traceId":"\#(validTraceHex)","spanId":"""#, ids: false)])
        let jsonRejected = try decodeTraces(json).rejected.map(\.path)
        let proto = Self.traces([Self.span(), Self.span([.fixed64(7, UInt64(Int64.max) + 1)]), Self.span(spanID: Data())])
        let protoRejected = try decoder.decodeTraces(from: proto).rejected.map(\.path)
        #expect(jsonRejected == protoRejected)
        #expect(protoRejected == ["resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano",
                                  "resourceSpans[0].scopeSpans[0].spans[2].spanId"])
    }

    @Test func tooManyAttributesRejectTheSpan() throws {
        let limited = OTLPProtobufDecoder(maxAttributes: 3)
        let attributes: [PBWire.Field] = (0..<4).map { .message(9, [.bytes(1, Data("k\($0)".utf8))]) }
        let decoded = try limited.decodeTraces(from: Self.traces([Self.span(attributes), Self.span()]))
        #expect(decoded.request.spanCount == 1)
        #expect(decoded.rejected.map(\.description) == ["resourceSpans[0].scopeSpans[0].spans[0].attributes: 4 attributes exceed the limit of 3"])
    }

    @Test func tooManyResourceAttributesRejectThePayload() throws {
        let limited = OTLPProtobufDecoder(maxAttributes: 1)
        let request = PBWire.message([.message(1, [.message(1, [.message(1, []), .message(1, [])])])])
        #expect(throws: OTLPDecodingError(path: "resourceSpans[0].resource.attributes", message: "2 attributes exceed the limit of 1")) {
            try limited.decodeTraces(from: request)
        }
    }

    @Test func logRecordIdRules() throws {
        func logs(_ records: [PBWire.Message]) -> Data {
            PBWire.message([.message(1, [.message(2, records.map { .message(2, $0) })])])
        }
        let decoded = try decoder.decodeLogs(from: logs([
            [.bytes(3, Data("ok".utf8))],
            [.bytes(9, Data([1, 2, 3]))],
            [.bytes(10, Data(repeating: 1, count: 16))],
            [.bytes(9, Data(count: 16)), .bytes(10, Data(count: 8)), .bytes(3, Data("zero ids".utf8))],
            [.fixed64(11, .max)],
        ]))
        #expect(decoded.request.resourceLogs[0].scopeLogs[0].logRecords.map(\.severityText) == ["ok", "zero ids"])
        let zeroIds = decoded.request.resourceLogs[0].scopeLogs[0].logRecords[1]
        #expect(zeroIds.traceId == nil && zeroIds.spanId == nil)
        #expect(decoded.rejected.map(\.description) == [
            "resourceLogs[0].scopeLogs[0].logRecords[1].traceId: expected 16 bytes, got 3",
            "resourceLogs[0].scopeLogs[0].logRecords[2].spanId: expected 8 bytes, got 16",
            "resourceLogs[0].scopeLogs[0].logRecords[4].observedTimeUnixNano: timestamp out of range",
        ])
    }

    @Test func emptyBodiesAreEmptyRequests() throws {
        let traces = try decoder.decodeTraces(from: Data())
        #expect(traces.request == ExportTraceServiceRequest())
        let logs = try decoder.decodeLogs(from: Data())
        #expect(logs.request == ExportLogsServiceRequest())
    }

    @Test func unknownFieldsAreIgnored() throws {
        let request = PBWire.message([
            .varint(99, 7), .bytes(1000, Data("x".utf8)),
            .message(1, [.varint(50, 1), .message(2, [.message(2, Self.span() + [.fixed32(77, 1)])])]),
        ])
        let decoded = try decoder.decodeTraces(from: request)
        #expect(decoded.request.spanCount == 1)
        #expect(decoded.rejected.isEmpty)
    }

    @Test func responsesEncodePartialSuccessAndStatus() throws {
        #expect(OTLPProtobufEncoder.traceResponse().isEmpty)
        let partial = try OTLPProtobufResponse.partialSuccess(from: OTLPProtobufEncoder.traceResponse(rejectedSpans: 2, errorMessage: "why"))
        #expect(partial == OTLPProtobufResponse.PartialSuccess(rejected: 2, errorMessage: "why"))
        let logs = try OTLPProtobufResponse.partialSuccess(from: OTLPProtobufEncoder.logsResponse(rejectedLogRecords: 3, errorMessage: "x"))
        #expect(logs == OTLPProtobufResponse.PartialSuccess(rejected: 3, errorMessage: "x"))
        let status = try OTLPProtobufResponse.status(from: OTLPProtobufEncoder.status(code: 3, message: "bad"))
        #expect(status.code == 3 && status.message == "bad")
        // Field 1 (code) as a varint, field 2 (message) as bytes: what any client's generated code reads.
        #expect(Array(OTLPProtobufEncoder.status(code: 3, message: "bad")) == [0x08, 0x03, 0x12, 0x03, 0x62, 0x61, 0x64])
    }
}
