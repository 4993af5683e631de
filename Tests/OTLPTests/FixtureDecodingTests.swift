import Foundation
import OTLP
import Testing

/// The conformance payloads: what the OpenTelemetry Python SDK and the opentelemetry-proto
/// examples really send.
@Suite("Decoding the conformance fixtures")
struct FixtureDecodingTests {
    static let traceA = "972a1b8b1aed1d623d5636c5bf0275d1"
    static let traceB = "4bf92f3577b34da6a3ce929d0e0e4736"

    func pythonTraces() throws -> DecodedExport<ExportTraceServiceRequest> {
        try OTLPJSONDecoder().decodeTraces(from: Fixtures.data("python-sdk/python-json-traces.json"))
    }

    func pythonLogs() throws -> DecodedExport<ExportLogsServiceRequest> {
        try OTLPJSONDecoder().decodeLogs(from: Fixtures.data("python-sdk/python-json-logs.json"))
    }

    func span(named name: String) throws -> Span {
        let spans = try allSpans(pythonTraces().request).filter { $0.name == name }
        try #require(spans.count == 1, "exactly one span named \(name)")
        return spans[0]
    }

    // MARK: python-json-traces.json

    @Test func pythonTracesStructure() throws {
        let decoded = try pythonTraces()
        #expect(decoded.rejected.isEmpty)
        let request = decoded.request
        #expect(request.resourceSpans.count == 1)
        #expect(request.spanCount == 9)
        let resourceSpans = try #require(request.resourceSpans.first)
        #expect(resourceSpans.schemaUrl == "")
        #expect(resourceSpans.resource.attributes == [
            kv("telemetry.sdk.language", .string("python")),
            kv("telemetry.sdk.name", .string("opentelemetry")),
            kv("telemetry.sdk.version", .string("1.45.2")),
            kv("service.instance.id", .string("0f178346-c4c5-4675-a2b3-93acc34c4b9d")),
            kv("service.name", .string("chat-api")),
            kv("service.version", .string("2.3.1")),
            kv("deployment.environment", .string("staging")),
            kv("host.name", .string("web-01.internal")),
        ])
        #expect(resourceSpans.resource.droppedAttributesCount == 0)
        #expect(resourceSpans.resource.entityRefs.isEmpty)
        #expect(resourceSpans.scopeSpans.count == 1)
        let scopeSpans = try #require(resourceSpans.scopeSpans.first)
        #expect(scopeSpans.scope == InstrumentationScope(name: "otelprobe.web", version: "1.2.3",
                                                         attributes: [kv("scope.attr", .string("probe"))]))
        #expect(scopeSpans.schemaUrl == "https://opentelemetry.io/schemas/1.26.0")
        #expect(scopeSpans.spans.map(\.name) == [
            "embedding", "vector_search", "rag_retrieve", "llm_generate", "tool_call",
            "enqueue_followup", "attribute_types", "GET /api/chat", "process chat.followups",
        ])
    }

    struct ExpectedSpan: Sendable, CustomTestStringConvertible {
        var name: String
        var traceId: String
        var spanId: String
        var parentSpanId: String?
        var kind: SpanKind
        var flags: UInt32
        var start: UInt64
        var end: UInt64
        var statusCode: StatusCode = .unset
        var statusMessage: String = ""
        var traceState: String = ""
        var eventNames: [String] = []
        var linkCount = 0
        var attributeCount: Int
        var testDescription: String { name }
    }

    static let expectedSpans: [ExpectedSpan] = [
        .init(name: "embedding", traceId: traceA, spanId: "7cfb8ea3edd78be8", parentSpanId: "4bd93a67556853a9",
              kind: .internal, flags: 256, start: 1795312307879279681, end: 1795312307881466181, attributeCount: 2),
        .init(name: "vector_search", traceId: traceA, spanId: "8f22932a71e21f1d", parentSpanId: "4bd93a67556853a9",
              kind: .internal, flags: 256, start: 1795312307881692939, end: 1795312307884070800, attributeCount: 3),
        .init(name: "rag_retrieve", traceId: traceA, spanId: "4bd93a67556853a9", parentSpanId: "7384601d4d6c4480",
              kind: .internal, flags: 256, start: 1795312307879173955, end: 1795312307884132184,
              eventNames: ["cache_miss"], attributeCount: 1),
        .init(name: "llm_generate", traceId: traceA, spanId: "1479cf8ee48ab261", parentSpanId: "7384601d4d6c4480",
              kind: .client, flags: 256, start: 1795312307884288556, end: 1795312307884357532,
              statusCode: .ok, attributeCount: 9),
        .init(name: "tool_call", traceId: traceA, spanId: "2ee15f9ad058fbc1", parentSpanId: "7384601d4d6c4480",
              kind: .internal, flags: 256, start: 1795312307884437059, end: 1795312307886092121,
              statusCode: .error, statusMessage: "CRM lookup failed", eventNames: ["exception"], attributeCount: 1),
        .init(name: "enqueue_followup", traceId: traceA, spanId: "7fcfb3fdf4ea1877", parentSpanId: "7384601d4d6c4480",
              kind: .producer, flags: 256, start: 1795312307886235153, end: 1795312307886251172,
              linkCount: 1, attributeCount: 2),
        .init(name: "attribute_types", traceId: traceA, spanId: "5285fac8051ab020", parentSpanId: "7384601d4d6c4480",
              kind: .internal, flags: 256, start: 1795312307886385251, end: 1795312307886399656, attributeCount: 19),
        .init(name: "GET /api/chat", traceId: traceA, spanId: "7384601d4d6c4480", parentSpanId: nil,
              kind: .server, flags: 256, start: 1795312307878880967, end: 1795312307886434226, attributeCount: 9),
        .init(name: "process chat.followups", traceId: traceB, spanId: "9b9d639914509fe7", parentSpanId: "00f067aa0ba902b7",
              kind: .consumer, flags: 768, start: 1795312307886506433, end: 1795312307886704184,
              traceState: "vendor=abc", attributeCount: 1),
    ]

    @Test(arguments: expectedSpans)
    func pythonSpan(_ expected: ExpectedSpan) throws {
        let span = try span(named: expected.name)
        #expect(span.traceId.hex == expected.traceId)
        #expect(span.spanId.hex == expected.spanId)
        #expect(span.parentSpanId?.hex == expected.parentSpanId)
        #expect(span.kind == expected.kind)
        #expect(span.flags == expected.flags)
        #expect(span.startTimeUnixNano == expected.start)
        #expect(span.endTimeUnixNano == expected.end)
        #expect(span.status == SpanStatus(message: expected.statusMessage, code: expected.statusCode))
        #expect(span.traceState == expected.traceState)
        #expect(span.events.map(\.name) == expected.eventNames)
        #expect(span.links.count == expected.linkCount)
        #expect(span.attributes.count == expected.attributeCount)
        #expect(span.droppedAttributesCount == 0)
        #expect(span.droppedEventsCount == 0)
        #expect(span.droppedLinksCount == 0)
    }

    @Test func pythonSimpleSpanAttributes() throws {
        #expect(try span(named: "embedding").attributes == [
            kv("embedding.model", .string("text-embedding-3-small")),
            kv("embedding.dimensions", .int(1536)),
        ])
        #expect(try span(named: "vector_search").attributes == [
            kv("db.system", .string("qdrant")),
            kv("db.collection.name", .string("docs")),
            kv("vector.results", .int(5)),
        ])
        #expect(try span(named: "llm_generate").attributes == [
            kv("gen_ai.system", .string("openai")),
            kv("gen_ai.operation.name", .string("chat")),
            kv("gen_ai.request.model", .string("gpt-4o")),
            kv("gen_ai.response.model", .string("gpt-4o-2024-08-06")),
            kv("gen_ai.usage.input_tokens", .int(1200)),
            kv("gen_ai.usage.output_tokens", .int(350)),
            kv("gen_ai.request.temperature", .double(0.2)),
            kv("gen_ai.response.finish_reasons", .array([.string("stop")])),
            kv("server.address", .string("api.openai.com")),
        ])
        #expect(try span(named: "GET /api/chat").attributes == [
            kv("http.request.method", .string("GET")),
            kv("http.route", .string("/api/chat")),
            kv("url.path", .string("/api/chat")),
            kv("url.scheme", .string("https")),
            kv("server.address", .string("chat.example.com")),
            kv("user.email", .string("alice@example.com")),
            kv("session.id", .string("sess-7f3a9c")),
            kv("department", .string("sales")),
            kv("http.response.status_code", .int(200)),
        ])
        #expect(try span(named: "process chat.followups").attributes == [kv("messaging.system", .string("kafka"))])
    }

    @Test func pythonSpanEvents() throws {
        let cacheMiss = try #require(try span(named: "rag_retrieve").events.first)
        #expect(cacheMiss == SpanEvent(timeUnixNano: 1795312307879208800, name: "cache_miss", attributes: [
            kv("cache.key", .string("emb:alice:42")),
            kv("cache.tier", .string("redis")),
            kv("cache.lookup_ms", .double(1.75)),
            kv("cache.hit", .bool(false)),
        ]))

        let exception = try #require(try span(named: "tool_call").events.first)
        #expect(exception == SpanEvent(timeUnixNano: 1795312307885375506, name: "exception", attributes: [
            kv("exception.type", .string("__main__.ToolError")),
            kv("exception.message", .string("CRM lookup failed: upstream timeout after 3000ms")),
            kv("exception.stacktrace", .string("""
                Traceback (most recent call last):
                  File "/app/chat_api.py", line 147, in <module>
                    raise ToolError("CRM lookup failed: upstream timeout after 3000ms")
                ToolError: CRM lookup failed: upstream timeout after 3000ms

                """)),
            kv("exception.escaped", .string("False")),
            kv("tool.retryable", .bool(true)),
        ]))
    }

    @Test func pythonProducerLink() throws {
        let producer = try span(named: "enqueue_followup")
        #expect(producer.attributes == [
            kv("messaging.system", .string("kafka")),
            kv("messaging.destination.name", .string("chat.followups")),
        ])
        let link = try #require(producer.links.first)
        #expect(link.traceId.hex == Self.traceB)
        #expect(link.spanId.hex == "00f067aa0ba902b7")
        // The Python SDK sent no trace state on this link (the remote context had none).
        #expect(link.traceState == "")
        #expect(link.flags == 768)
        #expect(link.droppedAttributesCount == 0)
        #expect(link.attributes == [kv("link.reason", .string("triggered_by")), kv("link.batch", .int(7))])
    }

    @Test func pythonConsumerRemoteParent() throws {
        let consumer = try span(named: "process chat.followups")
        // Its parent is the linked producer context in another trace: not in this payload.
        #expect(consumer.parentSpanId == SpanID(0x00f0_67aa_0ba9_02b7))
        #expect(consumer.traceId == TraceID(high: 0x4bf9_2f35_77b3_4da6, low: 0xa3ce_929d_0e0e_4736))
        #expect(consumer.traceState == "vendor=abc")
        #expect(consumer.flags == 768)
        #expect(consumer.flags & 0x300 == 0x300, "has-is-remote and is-remote bits")
        let parentIds = Set(allSpans(try pythonTraces().request).map(\.spanId))
        #expect(!parentIds.contains(SpanID(0x00f0_67aa_0ba9_02b7)))
    }

    @Test func pythonEveryAttributeType() throws {
        let span = try span(named: "attribute_types")
        let expected: [KeyValue] = [
            kv("t.string", .string("hello")),
            kv("t.empty_string", .string("")),
            kv("t.bool", .bool(true)),
            kv("t.int", .int(42)),
            kv("t.int_negative", .int(-7)),
            kv("t.int_big", .int(9_007_199_254_740_993)),
            kv("t.double", .double(3.14159)),
            kv("t.double_whole", .double(2.0)),
            kv("t.string_array", .array([.string("a"), .string("b"), .string("c")])),
            kv("t.int_array", .array([.int(1), .int(2), .int(3)])),
            kv("t.double_array", .array([.double(0.5), .double(1.5)])),
            kv("t.bool_array", .array([.bool(true), .bool(false)])),
            kv("t.empty_array", .array([])),
            kv("t.bytes", .bytes([0x00, 0x01, 0xFE, 0xFF])),
            kv("t.map", .kvlist([kv("nested.key", .string("v")), kv("nested.n", .int(1))])),
            kv("t.mixed_array", .array([.string("x"), .int(1), .bool(true)])),
            kv("t.nan", .double(.nan)),
            kv("t.inf", .double(.infinity)),
            kv("t.unicode", .string("h\u{e9}llo \u{2603} \"quoted\"\n")),
        ]
        #expect(span.attributes.map(\.key) == expected.map(\.key))
        #expect(nanMarked(span.attributes) == nanMarked(expected))
        guard case .double(let nan)? = span.attributes[key: "t.nan"] else {
            Issue.record("t.nan is not a double: \(String(describing: span.attributes[key: "t.nan"]))")
            return
        }
        #expect(nan.isNaN)
        #expect(span.attributes[key: "t.inf"] == .double(.infinity))
    }

    // MARK: python-json-logs.json

    @Test func pythonLogsStructure() throws {
        let decoded = try pythonLogs()
        #expect(decoded.rejected.isEmpty)
        let request = decoded.request
        #expect(request.logRecordCount == 8)
        let resourceLogs = try #require(request.resourceLogs.first)
        #expect(resourceLogs.resource.attributes[key: "service.name"] == .string("chat-api"))
        #expect(resourceLogs.resource.attributes.count == 8)
        #expect(resourceLogs.scopeLogs.map(\.scope) == [
            InstrumentationScope(name: "otelprobe.app"),
            InstrumentationScope(name: "otelprobe.events", version: "0.1.0"),
        ])
        #expect(resourceLogs.scopeLogs.map(\.logRecords.count) == [7, 1])
        let records = allRecords(request)
        #expect(records.map(\.severityNumber.rawValue) == [5, 9, 13, 17, 9, 21, 17, 9])
        #expect(records.map(\.severityText) == ["DEBUG", "INFO", "WARN", "ERROR", "INFO", "FATAL", "ERROR", "INFO"])
        #expect(records.map(\.body) == [
            .string("starting request handling (no active span)"),
            .string("chat request received"),
            .string("vector search slow"),
            .string("tool call failed"),
            .string("consumed follow-up"),
            .string("shutting down: disk almost full"),
            .string("lookup blew up (logger.exception, outside span)"),
            .kvlist([
                kv("feedback", .string("thumbs_up")),
                kv("score", .int(5)),
                kv("tags", .array([.string("helpful"), .string("fast")])),
            ]),
        ])
        #expect(records.map { $0.traceId?.hex } == [
            nil, Self.traceA, Self.traceA, Self.traceA, Self.traceB, nil, nil, nil,
        ])
        #expect(records.map { $0.spanId?.hex } == [
            nil, "7384601d4d6c4480", "8f22932a71e21f1d", "2ee15f9ad058fbc1", "9b9d639914509fe7", nil, nil, nil,
        ])
        #expect(records.map(\.flags) == [0, 3, 3, 3, 1, 0, 0, 0])
        #expect(records.map(\.eventName) == ["", "", "", "", "", "", "", "chat.feedback"])
        #expect(records.map(\.timeUnixNano) == [
            1795312307878387712, 1795312307878941440, 1795312307881762048, 1795312307885453568,
            1795312307886571520, 1795312307886754304, 1795312307886876160, 0,
        ])
        #expect(records.map(\.observedTimeUnixNano) == [
            1795312307878497989, 1795312307878981110, 1795312307881825734, 1795312307885509863,
            1795312307886622404, 1795312307886786491, 1795312307886901216, 1795312307887761216,
        ])
    }

    @Test func pythonLogAttributes() throws {
        let records = allRecords(try pythonLogs().request)
        try #require(records.count == 8)
        #expect(records[0].attributes == [
            kv("code.file.path", .string("/app/chat_api.py")),
            kv("code.function.name", .string("<module>")),
            kv("code.line.number", .int(105)),
        ])
        #expect(records[1].attributes.prefix(3) == [
            kv("user.id", .string("u-42")),
            kv("chat.turns", .int(3)),
            kv("feature.flags", .array([.string("rag"), .string("stream")])),
        ])
        #expect(records[2].attributes.prefix(2) == [kv("latency_ms", .double(812.5)), kv("retry", .bool(true))])
        #expect(records[3].attributes.map(\.key) == [
            "tool.name", "code.file.path", "code.function.name", "code.line.number",
            "exception.type", "exception.message", "exception.stacktrace",
        ])
        #expect(records[3].attributes[key: "exception.type"] == .string("ToolError"))
        #expect(records[6].attributes[key: "exception.stacktrace"] == .string("""
            Traceback (most recent call last):
              File "/app/chat_api.py", line 194, in <module>
                {}["missing"]
                ~~^^^^^^^^^^^
            KeyError: 'missing'

            """))
        #expect(records[7].attributes == [
            kv("t.bytes", .bytes([0xDE, 0xAD, 0xBE, 0xEF])),
            kv("t.map", .kvlist([kv("a", .int(1))])),
        ])
    }

    // MARK: otlp-examples

    @Test func otlpExampleTrace() throws {
        let decoded = try OTLPJSONDecoder().decodeTraces(from: Fixtures.data("otlp-examples/trace.json"))
        #expect(decoded.rejected.isEmpty)
        let resourceSpans = try #require(decoded.request.resourceSpans.first)
        #expect(resourceSpans.resource.attributes == [kv("service.name", .string("my.service"))])
        let scopeSpans = try #require(resourceSpans.scopeSpans.first)
        #expect(scopeSpans.scope == InstrumentationScope(name: "my.library", version: "1.0.0", attributes: [
            kv("my.scope.attribute", .string("some scope attribute")),
        ]))
        #expect(scopeSpans.spans.count == 1)
        let span = try #require(scopeSpans.spans.first)
        // Upper-case hex on the wire; the ids are the same numbers, printed lower case.
        #expect(span.traceId == TraceID(high: 0x5B8E_FFF7_9803_8103, low: 0xD269_B633_813F_C60C))
        #expect(span.traceId.hex == "5b8efff798038103d269b633813fc60c")
        #expect(span.spanId.hex == "eee19b7ec3c1b174")
        #expect(span.parentSpanId?.hex == "eee19b7ec3c1b173")
        #expect(span.name == "I'm a server span")
        #expect(span.kind == .server)
        #expect(span.startTimeUnixNano == 1544712660000000000)
        #expect(span.endTimeUnixNano == 1544712661000000000)
        #expect(span.attributes == [kv("my.span.attr", .string("some value"))])
        #expect(span.flags == 0)
        #expect(span.traceState == "")
        #expect(span.status == SpanStatus())
        #expect(span.events.isEmpty)
        #expect(span.links.isEmpty)
    }

    @Test func otlpExampleLogs() throws {
        let decoded = try OTLPJSONDecoder().decodeLogs(from: Fixtures.data("otlp-examples/logs.json"))
        #expect(decoded.rejected.isEmpty)
        let records = allRecords(decoded.request)
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(decoded.request.resourceLogs.first?.scopeLogs.first?.scope.name == "my.library")
        #expect(record.timeUnixNano == 1544712660300000000)
        #expect(record.observedTimeUnixNano == 1544712660300000000)
        #expect(record.severityNumber == SeverityNumber(rawValue: 10))
        #expect(record.severityText == "Information")
        #expect(record.traceId?.hex == "5b8efff798038103d269b633813fc60c")
        #expect(record.spanId?.hex == "eee19b7ec3c1b174")
        #expect(record.body == .string("Example log record"))
        #expect(record.eventName == "")
        #expect(record.attributes == [
            kv("string.attribute", .string("some string")),
            kv("boolean.attribute", .bool(true)),
            kv("int.attribute", .int(10)),
            kv("double.attribute", .double(637.704)),
            kv("array.attribute", .array([.string("many"), .string("values")])),
            kv("map.attribute", .kvlist([kv("some.map.key", .string("some value"))])),
        ])
    }

    @Test func otlpExampleEvent() throws {
        let decoded = try OTLPJSONDecoder().decodeLogs(from: Fixtures.data("otlp-examples/events.json"))
        #expect(decoded.rejected.isEmpty)
        let records = allRecords(decoded.request)
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.eventName == "browser.page_view")
        #expect(record.severityNumber.rawValue == 9)
        #expect(record.severityText == "test severity text")
        #expect(record.traceId == nil)
        #expect(record.spanId == nil)
        #expect(record.attributes == [kv("event.attribute", .string("some event attribute"))])
        #expect(record.body == .kvlist([
            kv("type", .int(0)),
            kv("url", .string("https://www.guidgenerator.com/online-guid-generator.aspx")),
            kv("referrer", .string("https://wwww.google.com")),
            kv("title", .string("Free Online GUID Generator")),
        ]))
    }

    @Test func otlpExampleMetricsIsNotATraceOrLogRequest() throws {
        // Unknown top-level fields are ignored: a metrics payload is an empty traces/logs request.
        let data = try Fixtures.data("otlp-examples/metrics.json")
        let traces = try OTLPJSONDecoder().decodeTraces(from: data)
        #expect(traces.request == ExportTraceServiceRequest())
        #expect(traces.rejected.isEmpty)
        let logs = try OTLPJSONDecoder().decodeLogs(from: data)
        #expect(logs.request == ExportLogsServiceRequest())
    }

    @Test func compressedFixturesAreCompressed() throws {
        // The receiver tests inflate these; here only check they are what their names say.
        let gzip = try Fixtures.data("python-sdk/python-json-traces.json.gz")
        #expect(Array(gzip.prefix(2)) == [0x1F, 0x8B])
        let zlib = try Fixtures.data("python-sdk/python-json-logs.json.zlib")
        #expect(zlib.first == 0x78, "zlib header, deflate method")
        #expect((UInt16(zlib[zlib.startIndex]) << 8 | UInt16(zlib[zlib.startIndex + 1])) % 31 == 0, "zlib header check bits")
    }
}
