import Foundation
import Ingest
import OTLP
import Store
import Testing

// Mapping OTLP onto the stored rows (docs/architecture.md, "Where OTLP fields go"), column by column.

private let traceA = "972a1b8b1aed1d623d5636c5bf0275d1"
private let traceB = "4bf92f3577b34da6a3ce929d0e0e4736"

private func pythonTraces() throws -> ExportTraceServiceRequest {
    let decoded = try OTLPJSONDecoder().decodeTraces(from: Fixtures.data("python-sdk/python-json-traces.json"))
    try #require(decoded.rejected.isEmpty)
    return decoded.request
}

private func pythonLogs() throws -> ExportLogsServiceRequest {
    let decoded = try OTLPJSONDecoder().decodeLogs(from: Fixtures.data("python-sdk/python-json-logs.json"))
    try #require(decoded.rejected.isEmpty)
    return decoded.request
}

private func object(_ json: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "not a JSON object: \(json)")
}

private func array(_ json: String) throws -> [Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [Any], "not a JSON array: \(json)")
}

private func kv(_ key: String, _ value: AnyValue) -> KeyValue { KeyValue(key: key, value: value) }

/// NaN is not equal to itself: compare values holding it after replacing it with a marker.
func nanMarked(_ value: AnyValue) -> AnyValue {
    switch value {
    case .double(let number) where number.isNaN: return .string("<NaN>")
    case .array(let values): return .array(values.map(nanMarked))
    case .kvlist(let values): return .kvlist(nanMarked(values))
    default: return value
    }
}

func nanMarked(_ attributes: [KeyValue]) -> [KeyValue] {
    attributes.map { KeyValue(key: $0.key, value: nanMarked($0.value)) }
}

/// Decodes the typed OTLP/JSON columns of a span row back into the wire model.
private func reparse(_ row: SpanRow) throws -> ResourceSpans {
    let json = #"""
        {"resourceSpans":[{"resource":\#(row.resource),"scopeSpans":[{"scope":\#(row.scope),"spans":[
          {"traceId":"\#(row.traceID)","spanId":"\#(row.spanID)","attributes":\#(row.attributes),
           "events":\#(row.events),"links":\#(row.links)}]}]}]}
        """#
    let decoded = try OTLPJSONDecoder().decodeTraces(from: Data(json.utf8))
    try #require(decoded.rejected.isEmpty, "\(decoded.rejected)")
    return try #require(decoded.request.resourceSpans.first)
}

/// Decodes the typed OTLP/JSON columns of a log row back into the wire model.
private func reparse(_ row: LogRow) throws -> ResourceLogs {
    let body = row.body.map { #","body":\#($0)"# } ?? ""
    let json = #"""
        {"resourceLogs":[{"resource":\#(row.resource),"scopeLogs":[{"scope":\#(row.scope),"logRecords":[
          {"attributes":\#(row.attributes)\#(body)}]}]}]}
        """#
    let decoded = try OTLPJSONDecoder().decodeLogs(from: Data(json.utf8))
    try #require(decoded.rejected.isEmpty, "\(decoded.rejected)")
    return try #require(decoded.request.resourceLogs.first)
}

private let chatResource = Resource(attributes: [kv("service.name", .string("checkout"))])

private func makeSpan(
    _ name: String, trace: UInt64 = 0xAB, id: UInt64, parent: UInt64? = nil, start: UInt64, end: UInt64,
    attributes: [KeyValue] = [], status: SpanStatus = .init()
) -> Span {
    Span(traceId: TraceID(high: 0, low: trace), spanId: SpanID(id), parentSpanId: parent.map(SpanID.init), name: name,
         kind: .internal, startTimeUnixNano: start, endTimeUnixNano: end, attributes: attributes, status: status)
}

private func traceRequest(_ spans: [Span], resource: Resource = chatResource) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest(resourceSpans: [ResourceSpans(resource: resource, scopeSpans: [ScopeSpans(spans: spans)])])
}

private func logRequest(_ records: [LogRecord], scope: InstrumentationScope = .init(name: "app.logger"),
                        resource: Resource = chatResource) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest(resourceLogs: [ResourceLogs(resource: resource, scopeLogs: [ScopeLogs(scope: scope, logRecords: records)])])
}

// MARK: - Span rows

@Suite("Mapping spans onto trace_spans")
struct SpanRowMappingTests {
    func rows() throws -> [SpanRow] { try pythonTraces().writeBatch().spans }

    func row(_ name: String) throws -> SpanRow {
        let matching = try rows().filter { $0.operationName == name }
        try #require(matching.count == 1, "one row for \(name)")
        return matching[0]
    }

    @Test func oneRowPerSpanInOrder() throws {
        let rows = try rows()
        #expect(rows.map(\.operationName) == [
            "embedding", "vector_search", "rag_retrieve", "llm_generate", "tool_call",
            "enqueue_followup", "attribute_types", "GET /api/chat", "process chat.followups",
        ])
        #expect(rows.map(\.serviceName) == Array(repeating: "chat-api", count: 9))
        #expect(rows.map(\.traceID) == Array(repeating: traceA, count: 8) + [traceB])
        #expect(rows.map(\.spanID) == [
            "7cfb8ea3edd78be8", "8f22932a71e21f1d", "4bd93a67556853a9", "1479cf8ee48ab261", "2ee15f9ad058fbc1",
            "7fcfb3fdf4ea1877", "5285fac8051ab020", "7384601d4d6c4480", "9b9d639914509fe7",
        ])
        #expect(rows.map(\.parentSpanID) == [
            "4bd93a67556853a9", "4bd93a67556853a9", "7384601d4d6c4480", "7384601d4d6c4480", "7384601d4d6c4480",
            "7384601d4d6c4480", "7384601d4d6c4480", nil, "00f067aa0ba902b7",
        ])
        #expect(rows.map(\.kind) == [1, 1, 1, 3, 1, 4, 1, 2, 5])
        #expect(rows.map(\.flags) == [256, 256, 256, 256, 256, 256, 256, 256, 768])
        #expect(rows.map(\.statusCode) == [0, 0, 0, 1, 2, 0, 0, 0, 0])
        #expect(rows.map(\.status) == ["completed", "completed", "completed", "completed", "error",
                                       "completed", "completed", "completed", "completed"])
        #expect(rows.map(\.errorMessage) == [nil, nil, nil, nil, "CRM lookup failed", nil, nil, nil, nil])
        #expect(rows.map(\.traceState) == [nil, nil, nil, nil, nil, nil, nil, nil, "vendor=abc"])
        #expect(rows.map(\.droppedAttributesCount) == Array(repeating: 0, count: 9))
        #expect(rows.map(\.droppedEventsCount) == Array(repeating: 0, count: 9))
        #expect(rows.map(\.droppedLinksCount) == Array(repeating: 0, count: 9))
    }

    @Test func timesAndDuration() throws {
        let root = try row("GET /api/chat")
        #expect(root.startTimeUnixNano == 1_795_312_307_878_880_967)
        #expect(root.endTimeUnixNano == 1_795_312_307_886_434_226)
        #expect(root.durationMs == 7.553259)
        let llm = try row("llm_generate")
        #expect(llm.startTimeUnixNano == 1_795_312_307_884_288_556)
        #expect(llm.endTimeUnixNano == 1_795_312_307_884_357_532)
        #expect(llm.durationMs == 0.068976)
    }

    @Test func tagsAreAFlatObject() throws {
        #expect(try row("embedding").tags == #"{"embedding.model":"text-embedding-3-small","embedding.dimensions":1536}"#)
        let root = try row("GET /api/chat")
        #expect(root.tags == #"{"http.request.method":"GET","http.route":"/api/chat","url.path":"/api/chat","url.scheme":"https","server.address":"chat.example.com","user.email":"alice@example.com","session.id":"sess-7f3a9c","department":"sales","http.response.status_code":200}"#)
        let tags = try object(root.tags)
        #expect(tags.count == 9)
        #expect(tags["http.route"] as? String == "/api/chat")
        #expect(tags["http.response.status_code"] as? Int == 200)
        let llm = try object(row("llm_generate").tags)
        #expect(llm["gen_ai.usage.input_tokens"] as? Int == 1200)
        #expect(llm["gen_ai.request.temperature"] as? Double == 0.2)
        #expect(llm["gen_ai.response.finish_reasons"] as? [String] == ["stop"])
    }

    @Test func tagsOfEveryAttributeType() throws {
        let row = try row("attribute_types")
        #expect(row.tags == #"{"t.string":"hello","t.empty_string":"","t.bool":true,"t.int":42,"t.int_negative":-7,"t.int_big":9007199254740993,"t.double":3.14159,"t.double_whole":2.0,"t.string_array":["a","b","c"],"t.int_array":[1,2,3],"t.double_array":[0.5,1.5],"t.bool_array":[true,false],"t.empty_array":[],"t.bytes":"AAH+/w==","t.map":{"nested.key":"v","nested.n":1},"t.mixed_array":["x",1,true],"t.nan":"NaN","t.inf":"Infinity","t.unicode":"héllo ☃ \"quoted\"\n"}"#)
        let tags = try object(row.tags)
        #expect(tags.count == 19)
        #expect(tags["t.string"] as? String == "hello")
        #expect(tags["t.empty_string"] as? String == "")
        #expect(tags["t.bool"] as? Bool == true)
        #expect(tags["t.int"] as? Int == 42)
        #expect(tags["t.int_negative"] as? Int == -7)
        #expect((tags["t.int_big"] as? NSNumber)?.int64Value == 9_007_199_254_740_993)
        #expect(tags["t.double"] as? Double == 3.14159)
        #expect(tags["t.double_whole"] as? Double == 2.0)
        #expect(tags["t.string_array"] as? [String] == ["a", "b", "c"])
        #expect(tags["t.int_array"] as? [Int] == [1, 2, 3])
        #expect(tags["t.double_array"] as? [Double] == [0.5, 1.5])
        #expect(tags["t.bool_array"] as? [Bool] == [true, false])
        #expect((tags["t.empty_array"] as? [Any])?.count == 0)
        #expect(tags["t.bytes"] as? String == "AAH+/w==")
        let map = try #require(tags["t.map"] as? [String: Any])
        #expect(map.count == 2)
        #expect(map["nested.key"] as? String == "v")
        #expect(map["nested.n"] as? Int == 1)
        let mixed = try #require(tags["t.mixed_array"] as? [Any])
        #expect(mixed.count == 3)
        #expect(mixed.first as? String == "x")
        #expect(tags["t.nan"] as? String == "NaN")
        #expect(tags["t.inf"] as? String == "Infinity")
        #expect(tags["t.unicode"] as? String == "h\u{e9}llo \u{2603} \"quoted\"\n")
    }

    @Test func logsAreTheSpanEvents() throws {
        let rag = try row("rag_retrieve")
        #expect(rag.logs == #"[{"timestamp":"2026-11-22T01:51:47.879208Z","name":"cache_miss","attributes":{"cache.key":"emb:alice:42","cache.tier":"redis","cache.lookup_ms":1.75,"cache.hit":false}}]"#)

        let events = try array(row("tool_call").logs)
        #expect(events.count == 1)
        let exception = try #require(events.first as? [String: Any])
        #expect(Set(exception.keys) == ["timestamp", "name", "attributes"])
        #expect(exception["timestamp"] as? String == "2026-11-22T01:51:47.885375Z")
        #expect(exception["name"] as? String == "exception")
        let attributes = try #require(exception["attributes"] as? [String: Any])
        #expect(attributes.count == 5)
        #expect(attributes["exception.type"] as? String == "__main__.ToolError")
        #expect(attributes["exception.message"] as? String == "CRM lookup failed: upstream timeout after 3000ms")
        #expect((attributes["exception.stacktrace"] as? String)?.hasPrefix("Traceback (most recent call last):\n  File \"/app/chat_api.py\"") == true)
        #expect(attributes["exception.escaped"] as? String == "False")
        #expect(attributes["tool.retryable"] as? Bool == true)

        #expect(try row("embedding").logs == "[]")
        #expect(try row("GET /api/chat").events == "[]")
        #expect(try row("GET /api/chat").links == "[]")
    }

    @Test func typedColumnsParseBackToWhatWasSent() throws {
        let request = try pythonTraces()
        let original = try #require(request.resourceSpans.first)
        let scopeSpans = try #require(original.scopeSpans.first)
        let rows = request.writeBatch().spans
        try #require(rows.count == scopeSpans.spans.count)
        for (row, span) in zip(rows, scopeSpans.spans) {
            let reparsed = try reparse(row)
            #expect(reparsed.resource == original.resource, "\(span.name)")
            #expect(reparsed.scopeSpans.first?.scope == scopeSpans.scope, "\(span.name)")
            let back = try #require(reparsed.scopeSpans.first?.spans.first)
            #expect(nanMarked(back.attributes) == nanMarked(span.attributes), "\(span.name)")
            #expect(back.events == span.events, "\(span.name)")
            #expect(back.links == span.links, "\(span.name)")
        }
    }

    @Test func typedColumnsExactText() throws {
        let root = try row("GET /api/chat")
        #expect(root.scope == #"{"name":"otelprobe.web","version":"1.2.3","attributes":[{"key":"scope.attr","value":{"stringValue":"probe"}}],"schemaUrl":"https://opentelemetry.io/schemas/1.26.0"}"#)
        let resource = try object(root.resource)
        #expect(Set(resource.keys) == ["attributes"])
        #expect((resource["attributes"] as? [Any])?.count == 8)

        let producer = try row("enqueue_followup")
        #expect(producer.links == #"[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","attributes":[{"key":"link.reason","value":{"stringValue":"triggered_by"}},{"key":"link.batch","value":{"intValue":"7"}}],"flags":768}]"#)
        #expect(producer.attributes == #"[{"key":"messaging.system","value":{"stringValue":"kafka"}},{"key":"messaging.destination.name","value":{"stringValue":"chat.followups"}}]"#)

        let types = try array(row("attribute_types").attributes)
        #expect(types.count == 19)
        let empty = try #require(types.compactMap { $0 as? [String: Any] }.first { $0["key"] as? String == "t.empty_array" })
        #expect((empty["value"] as? [String: Any])?["arrayValue"] as? [String: String] == [:])
        let nan = try #require(types.compactMap { $0 as? [String: Any] }.first { $0["key"] as? String == "t.nan" })
        #expect((nan["value"] as? [String: Any])?["doubleValue"] as? String == "NaN")

        let rag = try row("rag_retrieve")
        let events = try array(rag.events)
        let event = try #require(events.first as? [String: Any])
        #expect(event["timeUnixNano"] as? String == "1795312307879208800")
        #expect(event["name"] as? String == "cache_miss")
    }

    @Test func unknownServiceWhenServiceNameIsEmpty() throws {
        let span = makeSpan("lonely", id: 1, start: 10, end: 20)
        let batch = traceRequest([span], resource: Resource(attributes: [kv("service.name", .string(""))])).writeBatch()
        #expect(batch.spans.map(\.serviceName) == ["unknown_service"])
    }

    @Test func unknownServiceWhenResourceHasNoServiceName() throws {
        let span = makeSpan("lonely", id: 1, start: 10, end: 20)
        for resource in [Resource(), Resource(attributes: [kv("host.name", .string("h"))])] {
            let batch = traceRequest([span], resource: resource).writeBatch()
            #expect(batch.spans.map(\.serviceName) == ["unknown_service"])
            #expect(batch.traces.map(\.context.serviceName) == ["unknown_service"])
            #expect(batch.spans.first?.resource == (resource.attributes.isEmpty
                ? #"{"attributes":[]}"#
                : #"{"attributes":[{"key":"host.name","value":{"stringValue":"h"}}]}"#))
        }
    }

    @Test func serviceNamePerResource() throws {
        let request = ExportTraceServiceRequest(resourceSpans: [
            ResourceSpans(resource: Resource(attributes: [kv("service.name", .string("a"))]),
                          scopeSpans: [ScopeSpans(spans: [makeSpan("x", trace: 1, id: 1, start: 1, end: 2)])]),
            ResourceSpans(resource: Resource(attributes: [kv("service.name", .string("b"))]),
                          scopeSpans: [ScopeSpans(spans: [makeSpan("y", trace: 2, id: 2, start: 1, end: 2)])], schemaUrl: "https://r"),
        ])
        let batch = request.writeBatch()
        #expect(batch.spans.map(\.serviceName) == ["a", "b"])
        #expect(batch.spans.last?.resource == #"{"attributes":[{"key":"service.name","value":{"stringValue":"b"}}],"schemaUrl":"https://r"}"#)
        #expect(batch.spans.first?.scope == #"{"name":""}"#)
    }

    @Test func emptyRequestIsAnEmptyBatch() {
        let batch = ExportTraceServiceRequest().writeBatch()
        #expect(batch.isEmpty)
        #expect(batch.itemCount == 0)
    }
}

// MARK: - Trace rows

@Suite("Mapping spans onto traces")
struct TraceRowMappingTests {
    @Test func oneRowPerTrace() throws {
        let traces = try pythonTraces().writeBatch().traces
        #expect(traces.map(\.traceID) == [traceA, traceB])
    }

    @Test func chatTraceFromItsRootSpan() throws {
        let traces = try pythonTraces().writeBatch().traces
        let chat = try #require(traces.first { $0.traceID == traceA })
        // Earliest start and latest end over its eight spans (both the root's here).
        #expect(chat.startTimeUnixNano == 1_795_312_307_878_880_967)
        #expect(chat.endTimeUnixNano == 1_795_312_307_886_434_226)
        #expect(chat.durationMs == 7.553259)
        #expect(chat.status == "error")
        #expect(chat.errorMessage == "CRM lookup failed")
        let context = chat.context
        #expect(context.fromRoot)
        #expect(context.sourceStartUnixNano == 1_795_312_307_878_880_967)
        #expect(context.entryPoint == "http")
        #expect(context.endpoint == "/api/chat")
        #expect(context.method == "GET")
        #expect(context.sessionID == "sess-7f3a9c")
        #expect(context.userEmail == "alice@example.com")
        #expect(context.department == "sales")
        #expect(context.serviceName == "chat-api")
        #expect(context.rootSpanName == "GET /api/chat")
        #expect(try object(context.tags)["http.route"] as? String == "/api/chat")
        #expect(context.tags == (try pythonTraces().writeBatch().spans.first { $0.operationName == "GET /api/chat" }?.tags))
    }

    @Test func messagingTraceFromItsOnlySpan() throws {
        let traces = try pythonTraces().writeBatch().traces
        let messaging = try #require(traces.first { $0.traceID == traceB })
        #expect(messaging.startTimeUnixNano == 1_795_312_307_886_506_433)
        #expect(messaging.endTimeUnixNano == 1_795_312_307_886_704_184)
        #expect(messaging.status == "completed")
        #expect(messaging.errorMessage == nil)
        #expect(messaging.context.entryPoint == "messaging")
        #expect(messaging.context.fromRoot == false, "its parent is remote")
        #expect(messaging.context.endpoint == "process chat.followups", "no route: the span name")
        #expect(messaging.context.method == nil)
        #expect(messaging.context.sessionID == nil)
        #expect(messaging.context.userEmail == nil)
        #expect(messaging.context.department == nil)
        #expect(messaging.context.rootSpanName == "process chat.followups")
    }

    @Test func fixtureSpansArrivingOneByOneInAnyOrder() throws {
        let request = try pythonTraces()
        let expected = request.writeBatch().traces
        let resourceSpans = try #require(request.resourceSpans.first)
        let scopeSpans = try #require(resourceSpans.scopeSpans.first)
        // One batch per span, as if each arrived in its own request.
        let perSpan = scopeSpans.spans.map { span in
            ExportTraceServiceRequest(resourceSpans: [ResourceSpans(resource: resourceSpans.resource,
                scopeSpans: [ScopeSpans(scope: scopeSpans.scope, spans: [span], schemaUrl: scopeSpans.schemaUrl)])]).writeBatch()
        }
        let rows = perSpan.flatMap(\.traces)
        #expect(rows.count == 9)
        #expect(TraceRow.merging(rows) == expected)
        let reversed = TraceRow.merging(rows.reversed())
        #expect(reversed.map(\.traceID) == [traceB, traceA])
        #expect(reversed.reversed() == expected)
        #expect(WriteBatch.combining(perSpan.reversed()).traces.reversed() == expected)
        #expect(WriteBatch.combining(perSpan).spans == request.writeBatch().spans)
    }

    // Spans of one trace: the root starts late on purpose so "root" and "earliest" differ.
    static let root = makeSpan("GET /orders", id: 1, start: 500, end: 900, attributes: [
        kv("http.request.method", .string("GET")), kv("http.route", .string("/orders")),
        kv("user.email", .string("root@example.com")), kv("session.id", .string("s-root")), kv("department", .string("ops")),
    ])
    static let early = makeSpan("early", id: 2, parent: 1, start: 100, end: 200, attributes: [
        kv("url.path", .string("/early")), kv("http.method", .string("POST")),
        kv("enduser.id", .string("early-user")), kv("session_id", .string("s-early")), kv("enterprise.department", .string("eng")),
    ], status: SpanStatus(message: "early failure", code: .error))
    static let late = makeSpan("late", id: 3, parent: 1, start: 300, end: 1_000, attributes: [
        kv("rpc.system", .string("grpc")),
    ], status: SpanStatus(message: "late failure", code: .error))

    func rowsOneByOne(_ spans: [Span]) -> [TraceRow] {
        spans.flatMap { traceRequest([$0]).writeBatch().traces }
    }

    @Test func rootSpanWinsWhateverTheOrder() throws {
        let spans = [Self.early, Self.late, Self.root]
        let orders = [spans, spans.reversed(), [Self.late, Self.root, Self.early]]
        for order in orders {
            for rows in [traceRequest(order).writeBatch().traces, TraceRow.merging(rowsOneByOne(order)),
                         TraceRow.merging(rowsOneByOne(order).reversed())] {
                try #require(rows.count == 1)
                let row = rows[0]
                #expect(row.startTimeUnixNano == 100)
                #expect(row.endTimeUnixNano == 1_000)
                #expect(row.status == "error")
                #expect(row.context.fromRoot)
                #expect(row.context.entryPoint == "http")
                #expect(row.context.endpoint == "/orders")
                #expect(row.context.method == "GET")
                #expect(row.context.userEmail == "root@example.com")
                #expect(row.context.sessionID == "s-root")
                #expect(row.context.department == "ops")
                #expect(row.context.rootSpanName == "GET /orders")
                #expect(row.context.serviceName == "checkout")
            }
        }
    }

    @Test func earliestSpanWinsWithoutTheRoot() throws {
        for order in [[Self.early, Self.late], [Self.late, Self.early]] {
            for rows in [traceRequest(order).writeBatch().traces, TraceRow.merging(rowsOneByOne(order).reversed())] {
                try #require(rows.count == 1)
                let context = rows[0].context
                #expect(context.fromRoot == false)
                #expect(context.sourceStartUnixNano == 100)
                #expect(context.rootSpanName == "early")
                #expect(context.entryPoint == "http")
                #expect(context.endpoint == "/early")
                #expect(context.method == "POST")
                #expect(context.userEmail == "early-user")
                #expect(context.sessionID == "s-early")
                #expect(context.department == "eng")
                #expect(rows[0].startTimeUnixNano == 100)
                #expect(rows[0].endTimeUnixNano == 1_000)
            }
        }
        // The late span alone describes the trace until an earlier one arrives.
        let lateOnly = try #require(traceRequest([Self.late]).writeBatch().traces.first)
        #expect(lateOnly.context.entryPoint == "grpc")
        #expect(lateOnly.context.endpoint == "late")
    }

    @Test func errorMessageIsTheFirstErrorSeen() throws {
        let forward = TraceRow.merging(rowsOneByOne([Self.early, Self.late]))
        #expect(forward.map(\.errorMessage) == ["early failure"])
        let backward = TraceRow.merging(rowsOneByOne([Self.late, Self.early]))
        #expect(backward.map(\.errorMessage) == ["late failure"])
        let okThenError = TraceRow.merging(rowsOneByOne([Self.root, Self.late]))
        #expect(okThenError.map(\.status) == ["error"])
        #expect(okThenError.map(\.errorMessage) == ["late failure"])
        let completed = TraceRow.merging(rowsOneByOne([Self.root]))
        #expect(completed.map(\.status) == ["completed"])
        #expect(completed.map(\.errorMessage) == [nil])
    }

    /// An error root span that recorded an exception but set no status message (what SDKs that
    /// only set the error code send) takes its message from the first `exception` event.
    @Test func errorMessageFallsBackToTheFirstException() throws {
        func exception(_ type: String?, _ message: String?) -> SpanEvent {
            SpanEvent(timeUnixNano: 600, name: "exception", attributes: [
                type.map { kv("exception.type", .string($0)) }, message.map { kv("exception.message", .string($0)) },
            ].compactMap { $0 })
        }
        func root(status: SpanStatus, events: [SpanEvent]) -> Span {
            var span = makeSpan("GET /orders", id: 1, start: 500, end: 900, status: status)
            span.events = events
            return span
        }
        let error = SpanStatus(code: .error)
        let cases: [(Span, String?)] = [
            (root(status: error, events: [SpanEvent(timeUnixNano: 550, name: "retry"), exception("ValueError", "bad order id"),
                                          exception("KeyError", "second")]), "ValueError: bad order id"),
            (root(status: error, events: [exception("TimeoutError", nil)]), "TimeoutError"),
            (root(status: error, events: [exception(nil, "upstream timeout")]), "upstream timeout"),
            (root(status: error, events: [exception(nil, nil)]), nil),
            (root(status: SpanStatus(message: "checkout failed", code: .error), events: [exception("ValueError", "x")]), "checkout failed"),
            // An exception handled inside a span that did not fail is no error of the trace.
            (root(status: SpanStatus(), events: [exception("ValueError", "handled")]), nil),
        ]
        for (span, expected) in cases {
            let batch = traceRequest([span]).writeBatch()
            #expect(batch.spans.map(\.errorMessage) == [expected])
            #expect(batch.traces.map(\.errorMessage) == [expected])
        }
    }

    @Test func outranks() {
        let root = traceRequest([Self.root]).writeBatch().traces[0].context
        let early = traceRequest([Self.early]).writeBatch().traces[0].context
        let late = traceRequest([Self.late]).writeBatch().traces[0].context
        #expect(root.outranks(early))
        #expect(!early.outranks(root))
        #expect(early.outranks(late))
        #expect(!late.outranks(early))
        #expect(!early.outranks(early))
    }

    @Test func tracesKeepFirstSeenOrder() {
        let a = makeSpan("a", trace: 1, id: 1, start: 1, end: 2)
        let b = makeSpan("b", trace: 2, id: 2, start: 1, end: 2)
        let a2 = makeSpan("a2", trace: 1, id: 3, parent: 1, start: 0, end: 5)
        let traces = traceRequest([b, a, a2]).writeBatch().traces
        #expect(traces.map(\.traceID) == [
            "00000000000000000000000000000002", "00000000000000000000000000000001",
        ])
        #expect(traces.map(\.startTimeUnixNano) == [1, 0])
        #expect(traces.map(\.endTimeUnixNano) == [2, 5])
    }

    struct SourceCase: Sendable, CustomTestStringConvertible {
        var attributes: [KeyValue]
        var entryPoint: String
        var endpoint: String
        var method: String?
        var session: String? = nil
        var user: String? = nil
        var department: String? = nil
        var testDescription: String { attributes.map(\.key).joined(separator: ",") }
    }

    static let sourceCases: [SourceCase] = [
        .init(attributes: [], entryPoint: "internal", endpoint: "span-name", method: nil),
        .init(attributes: [kv("http.request.method", .string("PUT")), kv("http.method", .string("GET"))],
              entryPoint: "http", endpoint: "span-name", method: "PUT"),
        .init(attributes: [kv("http.method", .string("DELETE"))], entryPoint: "http", endpoint: "span-name", method: "DELETE"),
        .init(attributes: [kv("http.target", .string("/t?q=1")), kv("url.path", .string("/p"))],
              entryPoint: "internal", endpoint: "/p", method: nil),
        .init(attributes: [kv("http.target", .string("/t?q=1"))], entryPoint: "internal", endpoint: "/t?q=1", method: nil),
        .init(attributes: [kv("url.path", .string("/p")), kv("http.route", .string("/r/{id}"))],
              entryPoint: "internal", endpoint: "/r/{id}", method: nil),
        .init(attributes: [kv("network.protocol.name", .string("websocket"))], entryPoint: "websocket", endpoint: "span-name", method: nil),
        .init(attributes: [kv("rpc.system", .string("grpc")), kv("rpc.method", .string("Get"))],
              entryPoint: "grpc", endpoint: "span-name", method: nil),
        .init(attributes: [kv("messaging.system", .string("rabbitmq"))], entryPoint: "messaging", endpoint: "span-name", method: nil),
        .init(attributes: [kv("session_id", .string("s1")), kv("user_email", .string("u@x")), kv("enterprise.department", .string("d"))],
              entryPoint: "internal", endpoint: "span-name", method: nil, session: "s1", user: "u@x", department: "d"),
        .init(attributes: [kv("session_id", .string("s1")), kv("session.id", .string("s0")), kv("enduser.id", .string("e")),
                           kv("user_email", .string("u@x")), kv("enterprise.department", .string("d")), kv("department", .string("d0"))],
              entryPoint: "internal", endpoint: "span-name", method: nil, session: "s0", user: "e", department: "d0"),
        .init(attributes: [kv("user.email", .string("a@b")), kv("enduser.id", .string("e"))],
              entryPoint: "internal", endpoint: "span-name", method: nil, user: "a@b"),
    ]

    @Test(arguments: sourceCases)
    func attributeSources(_ testCase: SourceCase) throws {
        let span = makeSpan("span-name", id: 1, start: 1, end: 2, attributes: testCase.attributes)
        let context = try #require(traceRequest([span]).writeBatch().traces.first).context
        #expect(context.entryPoint == testCase.entryPoint)
        #expect(context.endpoint == testCase.endpoint)
        #expect(context.method == testCase.method)
        #expect(context.sessionID == testCase.session)
        #expect(context.userEmail == testCase.user)
        #expect(context.department == testCase.department)
    }
}

// MARK: - Log rows

@Suite("Mapping log records onto structured_logs")
struct LogRowMappingTests {
    static let arrival: Int64 = 1_800_000_000_000_000_000

    func rows() throws -> [LogRow] { try pythonLogs().writeBatch(arrivalUnixNano: Self.arrival).logs }

    @Test func pythonLogRows() throws {
        let rows = try rows()
        try #require(rows.count == 8)
        #expect(rows.map(\.level) == ["DEBUG", "INFO", "WARNING", "ERROR", "INFO", "CRITICAL", "ERROR", "INFO"])
        #expect(rows.map(\.severityNumber) == [5, 9, 13, 17, 9, 21, 17, 9])
        #expect(rows.map(\.severityText) == ["DEBUG", "INFO", "WARN", "ERROR", "INFO", "FATAL", "ERROR", "INFO"])
        #expect(rows.map(\.loggerName) == Array(repeating: "otelprobe.app", count: 7) + ["otelprobe.events"])
        #expect(rows.map(\.serviceName) == Array(repeating: "chat-api", count: 8))
        #expect(rows.map(\.message) == [
            "starting request handling (no active span)", "chat request received", "vector search slow",
            "tool call failed", "consumed follow-up", "shutting down: disk almost full",
            "lookup blew up (logger.exception, outside span)",
            #"{"feedback":"thumbs_up","score":5,"tags":["helpful","fast"]}"#,
        ])
        #expect(rows.map(\.traceID) == [nil, traceA, traceA, traceA, traceB, nil, nil, nil])
        #expect(rows.map(\.spanID) == [nil, "7384601d4d6c4480", "8f22932a71e21f1d", "2ee15f9ad058fbc1",
                                       "9b9d639914509fe7", nil, nil, nil])
        #expect(rows.map(\.flags) == [0, 3, 3, 3, 1, 0, 0, 0])
        #expect(rows.map(\.eventName) == [nil, nil, nil, nil, nil, nil, nil, "chat.feedback"])
        #expect(rows.map(\.timestampUnixNano) == [
            1795312307878387712, 1795312307878941440, 1795312307881762048, 1795312307885453568,
            1795312307886571520, 1795312307886754304, 1795312307886876160,
            1795312307887761216, // no timeUnixNano: the observed time
        ])
        #expect(rows.map(\.timeUnixNano) == [
            1795312307878387712, 1795312307878941440, 1795312307881762048, 1795312307885453568,
            1795312307886571520, 1795312307886754304, 1795312307886876160, 0,
        ])
        #expect(rows[7].observedTimeUnixNano == 1795312307887761216)
        #expect(rows.map(\.userEmail) == Array(repeating: nil, count: 8))
        #expect(rows.map(\.endpoint) == Array(repeating: nil, count: 8))
        #expect(rows.map(\.exceptionType) == [nil, nil, nil, "ToolError", nil, nil, "KeyError", nil])
        #expect(rows.map(\.exceptionMessage) == [nil, nil, nil, "CRM lookup failed: upstream timeout after 3000ms",
                                                 nil, nil, "missing", nil])
        #expect(rows[3].exceptionTraceback == """
            Traceback (most recent call last):
              File "/app/chat_api.py", line 147, in <module>
                raise ToolError("CRM lookup failed: upstream timeout after 3000ms")
            ToolError: CRM lookup failed: upstream timeout after 3000ms

            """)
        #expect(rows[6].exceptionTraceback?.hasSuffix("KeyError: 'missing'\n") == true)
        #expect(rows.map { $0.exceptionTraceback == nil } == [true, true, true, false, true, true, false, true])
    }

    @Test func extraHoldsTheAttributesNotLifted() throws {
        let rows = try rows()
        try #require(rows.count == 8)
        #expect(rows[0].extra == #"{"code.file.path":"/app/chat_api.py","code.function.name":"<module>","code.line.number":105}"#)
        #expect(rows[1].extra == #"{"user.id":"u-42","chat.turns":3,"feature.flags":["rag","stream"],"code.file.path":"/app/chat_api.py","code.function.name":"<module>","code.line.number":117}"#)
        #expect(rows[3].extra == #"{"tool.name":"crm_lookup","code.file.path":"/app/chat_api.py","code.function.name":"<module>","code.line.number":151}"#)
        let extra = try object(rows[6].extra)
        #expect(Set(extra.keys) == ["code.file.path", "code.function.name", "code.line.number"])
        #expect(extra["code.line.number"] as? Int == 196)
        #expect(rows[7].extra == #"{"t.bytes":"3q2+7w==","t.map":{"a":1}}"#)
        // The typed attributes keep everything, lifted or not.
        let typed = try array(rows[3].attributes).compactMap { ($0 as? [String: Any])?["key"] as? String }
        #expect(typed == ["tool.name", "code.file.path", "code.function.name", "code.line.number",
                          "exception.type", "exception.message", "exception.stacktrace"])
    }

    @Test func typedColumnsParseBack() throws {
        let request = try pythonLogs()
        let rows = request.writeBatch(arrivalUnixNano: Self.arrival).logs
        let resourceLogs = try #require(request.resourceLogs.first)
        let pairs = resourceLogs.scopeLogs.flatMap { scopeLogs in scopeLogs.logRecords.map { (scopeLogs.scope, $0) } }
        try #require(rows.count == pairs.count)
        for (row, (scope, record)) in zip(rows, pairs) {
            let back = try reparse(row)
            #expect(back.resource == resourceLogs.resource)
            #expect(back.scopeLogs.first?.scope == scope)
            let backRecord = try #require(back.scopeLogs.first?.logRecords.first)
            #expect(backRecord.attributes == record.attributes)
            #expect(backRecord.body == record.body)
        }
        #expect(rows[0].body == #"{"stringValue":"starting request handling (no active span)"}"#)
        #expect(rows[0].scope == #"{"name":"otelprobe.app"}"#)
        #expect(rows[7].scope == #"{"name":"otelprobe.events","version":"0.1.0"}"#)
        #expect(rows[7].body == #"{"kvlistValue":{"values":[{"key":"feedback","value":{"stringValue":"thumbs_up"}},{"key":"score","value":{"intValue":"5"}},{"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"helpful"},{"stringValue":"fast"}]}}}]}}"#)
    }

    @Test func otlpExampleLogs() throws {
        let logs = try OTLPJSONDecoder().decodeLogs(from: Fixtures.data("otlp-examples/logs.json")).request
        let row = try #require(logs.writeBatch(arrivalUnixNano: Self.arrival).logs.first)
        #expect(row.level == "INFO", "severity 10")
        #expect(row.traceID == "5b8efff798038103d269b633813fc60c")
        #expect(row.spanID == "eee19b7ec3c1b174")
        #expect(row.loggerName == "my.library")
        #expect(row.serviceName == "my.service")
        #expect(row.message == "Example log record")
        #expect(row.timestampUnixNano == 1544712660300000000)
        #expect(row.extra == #"{"string.attribute":"some string","boolean.attribute":true,"int.attribute":10,"double.attribute":637.704,"array.attribute":["many","values"],"map.attribute":{"some.map.key":"some value"}}"#)

        let events = try OTLPJSONDecoder().decodeLogs(from: Fixtures.data("otlp-examples/events.json")).request
        let event = try #require(events.writeBatch(arrivalUnixNano: Self.arrival).logs.first)
        #expect(event.eventName == "browser.page_view")
        #expect(event.level == "INFO")
        #expect(event.severityText == "test severity text")
        #expect(try object(event.message) as NSDictionary == [
            "type": 0, "url": "https://www.guidgenerator.com/online-guid-generator.aspx",
            "referrer": "https://wwww.google.com", "title": "Free Online GUID Generator",
        ] as NSDictionary)
        #expect(event.traceID == nil)
        #expect(event.spanID == nil)
    }

    @Test(arguments: [
        (Int32(1), "DEBUG"), (5, "DEBUG"), (8, "DEBUG"), (9, "INFO"), (12, "INFO"), (13, "WARNING"), (16, "WARNING"),
        (17, "ERROR"), (20, "ERROR"), (21, "CRITICAL"), (24, "CRITICAL"),
    ])
    func levelFromSeverityNumber(number: Int32, level: String) throws {
        // The number wins over a contradicting text.
        #expect(LogLevel.name(severityNumber: number, severityText: "error") == level)
        let record = LogRecord(timeUnixNano: 1, severityNumber: SeverityNumber(rawValue: number), severityText: "fatal")
        #expect(logRequest([record]).writeBatch(arrivalUnixNano: 0).logs.map(\.level) == [level])
    }

    @Test(arguments: [
        ("trace", "DEBUG"), ("TRACE", "DEBUG"), ("debug", "DEBUG"), ("Debug", "DEBUG"),
        ("info", "INFO"), ("INFO", "INFO"), ("Information", "INFO"), ("information", "INFO"),
        ("warn", "WARNING"), ("WARN", "WARNING"), ("Warning", "WARNING"), ("warning", "WARNING"),
        ("error", "ERROR"), ("ERROR", "ERROR"),
        ("fatal", "CRITICAL"), ("FATAL", "CRITICAL"), ("critical", "CRITICAL"), ("Critical", "CRITICAL"),
        ("", "INFO"), ("notice", "INFO"), ("emergency", "INFO"), ("err", "INFO"),
    ])
    func levelFromSeverityText(text: String, level: String) throws {
        #expect(LogLevel.name(severityNumber: 0, severityText: text) == level)
        let record = LogRecord(timeUnixNano: 1, severityText: text)
        let row = try #require(logRequest([record]).writeBatch(arrivalUnixNano: 0).logs.first)
        #expect(row.level == level)
        #expect(row.severityNumber == 0)
        #expect(row.severityText == (text.isEmpty ? nil : text))
    }

    @Test func outOfRangeSeverityNumberFallsBackToText() {
        #expect(LogLevel.name(severityNumber: 25, severityText: "warn") == "WARNING")
        #expect(LogLevel.name(severityNumber: -1, severityText: "") == "INFO")
    }

    @Test func loggerNameSources() throws {
        let withLogger = LogRecord(timeUnixNano: 1, attributes: [kv("logger.name", .string("orders.db")), kv("k", .int(1))])
        // Scope name first; the logger.name attribute then stays in extra.
        let scoped = try #require(logRequest([withLogger]).writeBatch(arrivalUnixNano: 0).logs.first)
        #expect(scoped.loggerName == "app.logger")
        #expect(scoped.extra == #"{"logger.name":"orders.db","k":1}"#)
        // No scope name: the logger.name attribute, lifted out of extra.
        let unscoped = try #require(logRequest([withLogger], scope: .init()).writeBatch(arrivalUnixNano: 0).logs.first)
        #expect(unscoped.loggerName == "orders.db")
        #expect(unscoped.extra == #"{"k":1}"#)
        // Neither: the service name.
        let plain = LogRecord(timeUnixNano: 1)
        let service = try #require(logRequest([plain], scope: .init()).writeBatch(arrivalUnixNano: 0).logs.first)
        #expect(service.loggerName == "checkout")
        let unknown = try #require(logRequest([plain], scope: .init(), resource: Resource()).writeBatch(arrivalUnixNano: 0).logs.first)
        #expect(unknown.loggerName == "unknown_service")
        #expect(unknown.serviceName == "unknown_service")
    }

    @Test func messageFromEveryBodyKind() throws {
        let bodies: [(AnyValue?, String)] = [
            (.string("plain text"), "plain text"),
            (.string(""), ""),
            (nil, ""),
            (.empty, ""),
            (.int(42), "42"),
            (.bool(false), "false"),
            (.double(1.5), "1.5"),
            (.bytes([0xDE, 0xAD, 0xBE, 0xEF]), #""3q2+7w==""#),
            (.array([.string("a"), .int(1)]), #"["a",1]"#),
            (.kvlist([kv("msg", .string("hi \"there\"")), kv("n", .kvlist([kv("x", .double(.infinity))]))]),
             #"{"msg":"hi \"there\"","n":{"x":"Infinity"}}"#),
        ]
        let rows = logRequest(bodies.map { LogRecord(timeUnixNano: 1, body: $0.0) }).writeBatch(arrivalUnixNano: 0).logs
        #expect(rows.map(\.message) == bodies.map(\.1))
        #expect(rows.map { $0.body == nil } == bodies.map { $0.0 == nil })
        #expect(rows[3].body == "{}")
    }

    @Test func timestampFallsBackToObservedThenArrival() {
        let rows = logRequest([
            LogRecord(timeUnixNano: 5, observedTimeUnixNano: 7),
            LogRecord(timeUnixNano: 0, observedTimeUnixNano: 7),
            LogRecord(),
        ]).writeBatch(arrivalUnixNano: 99).logs
        #expect(rows.map(\.timestampUnixNano) == [5, 7, 99])
        #expect(rows.map(\.timeUnixNano) == [5, 0, 0])
        #expect(rows.map(\.observedTimeUnixNano) == [7, 7, 0])
    }

    @Test func idsAreLowerCaseHexOrNil() {
        let rows = logRequest([
            LogRecord(traceId: TraceID(high: 0xABCD_EF01_2345_6789, low: 0xABCD_EF01_2345_6789), spanId: SpanID(0xFEDC_BA98_7654_3210)),
            LogRecord(traceId: TraceID(high: 0, low: 1)),
            LogRecord(),
        ]).writeBatch(arrivalUnixNano: 0).logs
        #expect(rows.map(\.traceID) == ["abcdef0123456789abcdef0123456789", "00000000000000000000000000000001", nil])
        #expect(rows.map(\.spanID) == ["fedcba9876543210", nil, nil])
    }

    @Test func liftedAttributes() throws {
        let record = LogRecord(timeUnixNano: 1, attributes: [
            kv("user.email", .string("alice@example.com")),
            kv("user_email", .string("other@example.com")),
            kv("enterprise.department", .string("sales")),
            kv("session_id", .string("sess-1")),
            kv("http.route", .string("/api/chat")),
            kv("url.path", .string("/api/chat/42")),
            kv("exception.type", .string("ValueError")),
            kv("exception.message", .string("bad value")),
            kv("exception.stacktrace", .string("Traceback...\n")),
            kv("exception.escaped", .bool(true)),
            kv("order.id", .int(42)),
        ])
        let row = try #require(logRequest([record]).writeBatch(arrivalUnixNano: 0).logs.first)
        #expect(row.userEmail == "alice@example.com")
        #expect(row.department == "sales")
        #expect(row.sessionID == "sess-1")
        #expect(row.endpoint == "/api/chat")
        #expect(row.exceptionType == "ValueError")
        #expect(row.exceptionMessage == "bad value")
        #expect(row.exceptionTraceback == "Traceback...\n")
        // Only the key each value was lifted from leaves extra; fallbacks that lost stay.
        #expect(row.extra == #"{"user_email":"other@example.com","url.path":"/api/chat/42","exception.escaped":true,"order.id":42}"#)
        let typedKeys = try array(row.attributes).compactMap { ($0 as? [String: Any])?["key"] as? String }
        #expect(typedKeys.count == 11)
    }

    @Test func eventNameAndFlagsKept() throws {
        let record = LogRecord(timeUnixNano: 1, flags: 1, eventName: "session.start")
        let row = try #require(logRequest([record]).writeBatch(arrivalUnixNano: 0).logs.first)
        #expect(row.eventName == "session.start")
        #expect(row.flags == 1)
        #expect(row.droppedAttributesCount == 0)
        #expect(row.extra == "{}")
        #expect(row.attributes == "[]")
    }

    @Test func emptyRequestIsAnEmptyBatch() {
        let batch = ExportLogsServiceRequest().writeBatch(arrivalUnixNano: 1)
        #expect(batch.isEmpty)
        #expect(batch.logs.isEmpty)
    }
}
