import Foundation
import OTLP
import Testing

/// The OTLP/JSON rules (docs/api.md, "OTLP receiver"), one at a time, on small inline payloads.
@Suite("OTLP/JSON decoding rules")
struct DecodingRuleTests {
    // MARK: Ids

    @Test(arguments: [
        ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"),
        ("5B8EFFF798038103D269B633813FC60C", "EEE19B7EC3C1B174"),
        ("5b8EFFF798038103d269B633813fc60C", "eEe19B7ec3C1b174"),
    ])
    func hexIdsInAnyCase(traceHex: String, spanHex: String) throws {
        let span = try decodeOneSpan(#""traceId":"\#(traceHex)","spanId":"\#(spanHex)","parentSpanId":"\#(spanHex.uppercased())""#, ids: false)
        #expect(span.traceId == TraceID(high: 0x5B8E_FFF7_9803_8103, low: 0xD269_B633_813F_C60C))
        #expect(span.spanId == SpanID(0xEEE1_9B7E_C3C1_B174))
        #expect(span.parentSpanId == SpanID(0xEEE1_9B7E_C3C1_B174))
        #expect(span.traceId.hex == "5b8efff798038103d269b633813fc60c")
        #expect(span.spanId.hex == "eee19b7ec3c1b174")
    }

    @Test func base64IdsAsSwiftOTelSendsThem() throws {
        // 972a1b8b1aed1d623d5636c5bf0275d1 / 7384601d4d6c4480 / 4bd93a67556853a9 in standard base64.
        let span = try decodeOneSpan(
            #""traceId":"lyobixrtHWI9VjbFvwJ10Q==","spanId":"c4RgHU1sRIA=","parentSpanId":"S9k6Z1VoU6k=""#, ids: false)
        #expect(span.traceId.hex == "972a1b8b1aed1d623d5636c5bf0275d1")
        #expect(span.spanId.hex == "7384601d4d6c4480")
        #expect(span.parentSpanId?.hex == "4bd93a67556853a9")
    }

    @Test func base64UrlSafeIds() throws {
        // fbffbffb… and fbffbffbffbffbff: the URL-safe alphabet uses "-" and "_".
        let span = try decodeOneSpan(#""traceId":"-_-_-_-_-_-_-_-_-_-_-w==","spanId":"-_-_-_-_-_8=""#, ids: false)
        #expect(span.traceId.hex == "fbffbffbffbffbffbffbffbffbffbffb")
        #expect(span.spanId.hex == "fbffbffbffbffbff")
    }

    @Test func base64IdsOnLogRecordsAndLinks() throws {
        let logs = try decodeLogs(logsJSON([#"{"traceId":"lyobixrtHWI9VjbFvwJ10Q==","spanId":"c4RgHU1sRIA="}"#]))
        #expect(logs.rejected.isEmpty)
        let record = try #require(allRecords(logs.request).first)
        #expect(record.traceId?.hex == "972a1b8b1aed1d623d5636c5bf0275d1")
        #expect(record.spanId?.hex == "7384601d4d6c4480")

        let span = try decodeOneSpan(#""links":[{"traceId":"lyobixrtHWI9VjbFvwJ10Q==","spanId":"c4RgHU1sRIA="}]"#)
        #expect(span.links.map(\.traceId.hex) == ["972a1b8b1aed1d623d5636c5bf0275d1"])
        #expect(span.links.map(\.spanId.hex) == ["7384601d4d6c4480"])
    }

    @Test(arguments: [#""parentSpanId":"""#, #""parentSpanId":null"#, "", #""parentSpanId":"0000000000000000""#])
    func absentParentMeansRoot(_ field: String) throws {
        let span = try decodeOneSpan(field)
        #expect(span.parentSpanId == nil)
    }

    @Test func logRecordIdsAbsentEmptyOrZero() throws {
        let decoded = try decodeLogs(logsJSON([
            #"{}"#,
            #"{"traceId":"","spanId":""}"#,
            #"{"traceId":null,"spanId":null}"#,
            #"{"traceId":"00000000000000000000000000000000","spanId":"0000000000000000"}"#,
        ]))
        #expect(decoded.rejected.isEmpty)
        let records = allRecords(decoded.request)
        #expect(records.count == 4)
        #expect(records.map(\.traceId) == [nil, nil, nil, nil])
        #expect(records.map(\.spanId) == [nil, nil, nil, nil])
    }

    // MARK: 64-bit integers

    @Test func int64AsStringOrNumber() throws {
        #expect(try decodeValue(#"{"intValue":"42"}"#) == .int(42))
        #expect(try decodeValue(#"{"intValue":42}"#) == .int(42))
        #expect(try decodeValue(#"{"intValue":"-7"}"#) == .int(-7))
        #expect(try decodeValue(#"{"intValue":-7}"#) == .int(-7))
        #expect(try decodeValue(#"{"intValue":"9223372036854775807"}"#) == .int(.max))
        #expect(try decodeValue(#"{"intValue":"-9223372036854775808"}"#) == .int(.min))
        #expect(try decodeValue(#"{"intValue":9223372036854775807}"#) == .int(.max))
        #expect(try decodeValue(#"{"intValue":9007199254740993}"#) == .int(9_007_199_254_740_993))
    }

    @Test func uint64TimestampsAsStringOrNumber() throws {
        let span = try decodeOneSpan(#""startTimeUnixNano":"1795312307878880967","endTimeUnixNano":1795312307886434226"#)
        #expect(span.startTimeUnixNano == 1_795_312_307_878_880_967)
        #expect(span.endTimeUnixNano == 1_795_312_307_886_434_226)
        let max = try decodeOneSpan(#""startTimeUnixNano":"9223372036854775807""#)
        #expect(max.startTimeUnixNano == UInt64(Int64.max))
    }

    @Test func uint32AsNumberOrString() throws {
        let span = try decodeOneSpan(#""flags":"768","droppedAttributesCount":3,"droppedEventsCount":"4","droppedLinksCount":5"#)
        #expect(span.flags == 768)
        #expect(span.droppedAttributesCount == 3)
        #expect(span.droppedEventsCount == 4)
        #expect(span.droppedLinksCount == 5)
    }

    // MARK: Doubles

    @Test func doubleForms() throws {
        #expect(try decodeValue(#"{"doubleValue":1.5}"#) == .double(1.5))
        #expect(try decodeValue(#"{"doubleValue":-0.25}"#) == .double(-0.25))
        #expect(try decodeValue(#"{"doubleValue":2}"#) == .double(2))
        #expect(try decodeValue(#"{"doubleValue":1e300}"#) == .double(1e300))
        #expect(try decodeValue(#"{"doubleValue":"1.5"}"#) == .double(1.5))
        #expect(try decodeValue(#"{"doubleValue":"-2.5e3"}"#) == .double(-2500))
        #expect(try decodeValue(#"{"doubleValue":"Infinity"}"#) == .double(.infinity))
        #expect(try decodeValue(#"{"doubleValue":"-Infinity"}"#) == .double(-.infinity))
        guard case .double(let nan) = try decodeValue(#"{"doubleValue":"NaN"}"#) else {
            Issue.record("NaN did not decode as a double")
            return
        }
        #expect(nan.isNaN)
    }

    // MARK: Enums

    @Test(arguments: [
        ("2", SpanKind.server), (#""SPAN_KIND_SERVER""#, .server), (#""SPAN_KIND_CLIENT""#, .client),
        (#""SPAN_KIND_PRODUCER""#, .producer), (#""SPAN_KIND_CONSUMER""#, .consumer),
        (#""SPAN_KIND_INTERNAL""#, .internal), (#""SPAN_KIND_UNSPECIFIED""#, .unspecified),
        ("5", .consumer), (#""3""#, .client), ("9", SpanKind(rawValue: 9)), ("null", .unspecified),
    ])
    func spanKind(json: String, kind: SpanKind) throws {
        #expect(try decodeOneSpan(#""kind":\#(json)"#).kind == kind)
    }

    @Test func spanKindNames() {
        #expect(SpanKind.server.name == "SPAN_KIND_SERVER")
        #expect(SpanKind.consumer.name == "SPAN_KIND_CONSUMER")
        #expect(SpanKind(rawValue: 9).name == "9")
    }

    @Test(arguments: [
        (#"{"code":"STATUS_CODE_ERROR","message":"boom"}"#, SpanStatus(message: "boom", code: .error)),
        (#"{"code":2}"#, SpanStatus(code: .error)),
        (#"{"code":"STATUS_CODE_OK"}"#, SpanStatus(code: .ok)),
        (#"{"code":1}"#, SpanStatus(code: .ok)),
        (#"{"code":"STATUS_CODE_UNSET"}"#, SpanStatus()),
        (#"{}"#, SpanStatus()),
        (#"null"#, SpanStatus()),
        (#"{"message":null,"code":null}"#, SpanStatus()),
    ])
    func status(json: String, status: SpanStatus) throws {
        #expect(try decodeOneSpan(#""status":\#(json)"#).status == status)
    }

    @Test(arguments: [
        (#""SEVERITY_NUMBER_WARN""#, Int32(13)), (#""SEVERITY_NUMBER_TRACE""#, 1), (#""SEVERITY_NUMBER_DEBUG2""#, 6),
        (#""SEVERITY_NUMBER_INFO""#, 9), (#""SEVERITY_NUMBER_ERROR4""#, 20), (#""SEVERITY_NUMBER_FATAL4""#, 24),
        (#""SEVERITY_NUMBER_UNSPECIFIED""#, 0), ("13", 13), ("21", 21), (#""17""#, 17),
    ])
    func severityNumber(json: String, number: Int32) throws {
        let decoded = try decodeLogs(logsJSON([#"{"severityNumber":\#(json)}"#]))
        #expect(decoded.rejected.isEmpty)
        #expect(allRecords(decoded.request).map(\.severityNumber.rawValue) == [number])
    }

    // MARK: Shape

    @Test(arguments: [#"{}"#, #"{"resourceSpans":[]}"#, #"{"resourceSpans":null}"#, "  {\n}  "])
    func emptyTraceRequests(_ json: String) throws {
        let decoded = try decodeTraces(json)
        #expect(decoded.request == ExportTraceServiceRequest())
        #expect(decoded.request.spanCount == 0)
        #expect(decoded.rejected.isEmpty)
    }

    @Test(arguments: [#"{}"#, #"{"resourceLogs":[]}"#, #"{"resourceLogs":null}"#])
    func emptyLogRequests(_ json: String) throws {
        let decoded = try decodeLogs(json)
        #expect(decoded.request == ExportLogsServiceRequest())
        #expect(decoded.rejected.isEmpty)
    }

    @Test func emptyResourceAndScopeEntries() throws {
        let decoded = try decodeTraces(#"{"resourceSpans":[{},{"scopeSpans":[{},{"spans":[]}]}]}"#)
        #expect(decoded.request.resourceSpans.count == 2)
        #expect(decoded.request.resourceSpans[1].scopeSpans.count == 2)
        #expect(decoded.request.spanCount == 0)
        #expect(decoded.request.resourceSpans[0] == ResourceSpans())
    }

    @Test func unknownFieldsAreIgnored() throws {
        let json = #"""
        {"future":1,"resourceSpans":[{"extra":{"a":[1,2,{"b":null}]},
          "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"},"note":"x"}],"shiny":true},
          "scopeSpans":[{"scope":{"name":"lib","unknown":[]},"unknown":"x",
            "spans":[{"traceId":"\#(validTraceHex)","spanId":"\#(validSpanHex)","name":"n","newField":{"deep":[[[]]]},
                      "status":{"code":0,"details":"?"},
                      "events":[{"name":"e","whatever":1}],
                      "attributes":[{"key":"k","value":{"stringValue":"v","futureValue":7}}]}]}]}]}
        """#
        let decoded = try decodeTraces(json)
        #expect(decoded.rejected.isEmpty)
        #expect(decoded.request.resourceSpans.first?.resource.attributes == [kv("service.name", .string("svc"))])
        #expect(decoded.request.resourceSpans.first?.scopeSpans.first?.scope.name == "lib")
        let span = try #require(allSpans(decoded.request).first)
        #expect(span.name == "n")
        #expect(span.events.map(\.name) == ["e"])
        #expect(span.attributes == [kv("k", .string("v"))])
    }

    @Test func nullFieldsAreAbsent() throws {
        let span = try decodeOneSpan(#"""
            "traceState":null,"parentSpanId":null,"flags":null,"kind":null,"startTimeUnixNano":null,
            "endTimeUnixNano":null,"attributes":null,"droppedAttributesCount":null,"events":null,
            "droppedEventsCount":null,"links":null,"droppedLinksCount":null,"status":null
            """#)
        #expect(span == Span(traceId: TraceID(hex: validTraceHex)!, spanId: SpanID(hex: validSpanHex)!, name: "span"))

        let decoded = try decodeTraces(#"{"resourceSpans":[{"resource":null,"schemaUrl":null,"scopeSpans":[{"scope":null,"spans":null}]}]}"#)
        #expect(decoded.request == ExportTraceServiceRequest(resourceSpans: [ResourceSpans(scopeSpans: [ScopeSpans()])]))

        let logs = try decodeLogs(logsJSON([#"{"body":null,"timeUnixNano":null,"severityNumber":null,"severityText":null,"eventName":null,"attributes":null}"#]))
        #expect(logs.rejected.isEmpty)
        #expect(allRecords(logs.request) == [LogRecord()])
    }

    @Test func nullInsideValues() throws {
        #expect(try decodeValue(#"{}"#) == .empty)
        #expect(try decodeValue(#"{"stringValue":null}"#) == .empty)
        #expect(try decodeValue(#"{"intValue":null}"#) == .empty)
        #expect(try decodeValue(#"{"arrayValue":{}}"#) == .array([]))
        #expect(try decodeValue(#"{"arrayValue":{"values":null}}"#) == .array([]))
        #expect(try decodeValue(#"{"kvlistValue":{}}"#) == .kvlist([]))
        #expect(try decodeValue(#"{"arrayValue":{"values":[{}]}}"#) == .array([.empty]))
        let span = try decodeOneSpan(#""attributes":[{"key":"k"},{"key":"n","value":null}]"#)
        #expect(span.attributes == [kv("k", .empty), kv("n", .empty)])
    }

    @Test func everyAnyValueKind() throws {
        #expect(try decodeValue(#"{"stringValue":"s\u00e9\n"}"#) == .string("s\u{e9}\n"))
        #expect(try decodeValue(#"{"stringValue":""}"#) == .string(""))
        #expect(try decodeValue(#"{"boolValue":true}"#) == .bool(true))
        #expect(try decodeValue(#"{"boolValue":false}"#) == .bool(false))
        #expect(try decodeValue(#"{"bytesValue":"AAH+/w=="}"#) == .bytes([0x00, 0x01, 0xFE, 0xFF]))
        #expect(try decodeValue(#"{"bytesValue":"AAH-_w"}"#) == .bytes([0x00, 0x01, 0xFE, 0xFF]))
        #expect(try decodeValue(#"{"bytesValue":""}"#) == .bytes([]))
        #expect(try decodeValue(#"{"arrayValue":{"values":[{"intValue":"1"},{"arrayValue":{}}]}}"#)
                == .array([.int(1), .array([])]))
        #expect(try decodeValue(#"{"kvlistValue":{"values":[{"key":"a","value":{"kvlistValue":{"values":[{"key":"b","value":{"boolValue":true}}]}}}]}}"#)
                == .kvlist([kv("a", .kvlist([kv("b", .bool(true))]))]))
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let value = try decodeValue(nestedArrayJSON(depth: 32))
        var depth = 0
        var current = value
        while case .array(let values) = current {
            depth += 1
            current = values.first ?? .empty
        }
        #expect(depth == 32)
        #expect(current == .string("leaf"))
    }

    @Test func attributeLimit() throws {
        let decoder = OTLPJSONDecoder(maxValueDepth: 32, maxAttributes: 2)
        let two = #""attributes":[{"key":"a","value":{}},{"key":"b","value":{}}]"#
        let three = #""attributes":[{"key":"a","value":{}},{"key":"b","value":{}},{"key":"c","value":{}}]"#
        let decoded = try decodeTraces(tracesJSON([spanJSON(two, name: "two"), spanJSON(three, name: "three")]), decoder: decoder)
        #expect(allSpans(decoded.request).map(\.name) == ["two"])
        #expect(decoded.rejected == [OTLPDecodingError(
            path: "resourceSpans[0].scopeSpans[0].spans[1].attributes", message: "3 attributes exceed the limit of 2")])
    }

    @Test func resourceScopeAndEntityRefs() throws {
        let decoded = try decodeTraces(#"""
        {"resourceSpans":[{"schemaUrl":"https://r","resource":{"droppedAttributesCount":2,
          "entityRefs":[{"schemaUrl":"https://e","type":"service","idKeys":["service.name"],"descriptionKeys":["service.version"]}]},
          "scopeSpans":[{"schemaUrl":"https://s","scope":{"name":"lib","version":"2","droppedAttributesCount":"1"}}]}]}
        """#)
        let resourceSpans = try #require(decoded.request.resourceSpans.first)
        #expect(resourceSpans.schemaUrl == "https://r")
        #expect(resourceSpans.resource == Resource(attributes: [], droppedAttributesCount: 2, entityRefs: [
            EntityRef(schemaUrl: "https://e", type: "service", idKeys: ["service.name"], descriptionKeys: ["service.version"]),
        ]))
        #expect(resourceSpans.scopeSpans.first?.schemaUrl == "https://s")
        #expect(resourceSpans.scopeSpans.first?.scope == InstrumentationScope(name: "lib", version: "2", droppedAttributesCount: 1))
    }

    @Test func logRecordFields() throws {
        let decoded = try decodeLogs(logsJSON([#"""
            {"timeUnixNano":"5","observedTimeUnixNano":6,"severityNumber":"SEVERITY_NUMBER_ERROR","severityText":"Error",
             "body":{"stringValue":"hi"},"attributes":[{"key":"a","value":{"intValue":"1"}}],"droppedAttributesCount":1,
             "flags":1,"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","eventName":"e.v"}
            """#]))
        #expect(decoded.rejected.isEmpty)
        #expect(allRecords(decoded.request) == [LogRecord(
            timeUnixNano: 5, observedTimeUnixNano: 6, severityNumber: SeverityNumber(rawValue: 17), severityText: "Error",
            body: .string("hi"), attributes: [kv("a", .int(1))], droppedAttributesCount: 1, flags: 1,
            traceId: TraceID(high: 0x5B8E_FFF7_9803_8103, low: 0xD269_B633_813F_C60C), spanId: SpanID(0xEEE1_9B7E_C3C1_B174),
            eventName: "e.v")])
    }

    @Test func logBodyAbsentVersusEmpty() throws {
        let decoded = try decodeLogs(logsJSON([#"{}"#, #"{"body":{}}"#, #"{"body":{"kvlistValue":{}}}"#]))
        #expect(allRecords(decoded.request).map(\.body) == [nil, .empty, .kvlist([])])
    }
}

/// `depth` nested `arrayValue`s around a string leaf.
func nestedArrayJSON(depth: Int) -> String {
    String(repeating: #"{"arrayValue":{"values":["#, count: depth) + #"{"stringValue":"leaf"}"# + String(repeating: "]}}", count: depth)
}
