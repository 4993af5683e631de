import Foundation
import OTLP
import Testing

/// Payloads that are not valid OTLP/JSON: either the whole request fails (400, with the path and
/// reason), or one span is dropped and reported while its neighbours are kept (partial success).
@Suite("Bad payloads")
struct BadPayloadTests {
    enum Outcome: Sendable {
        /// The whole request fails with this error.
        case request(path: String, message: String)
        /// The span between two valid neighbours ("before", "after") is rejected with this error.
        case span(path: String, message: String)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var json: String
        var outcome: Outcome
        var testDescription: String { name }

        /// A request whose payload is `json` as is.
        static func request(_ name: String, _ json: String, path: String, message: String) -> Case {
            Case(name: name, json: json, outcome: .request(path: path, message: message))
        }

        /// A bad middle span (`fields` as its members) between two valid ones; the path is
        /// relative to that span.
        static func span(_ name: String, _ fields: String, ids: Bool = true, path: String, message: String) -> Case {
            let json = tracesJSON([spanJSON(name: "before"), spanJSON(fields, name: "bad", ids: ids), spanJSON(name: "after")])
            return Case(name: name, json: json, outcome: .span(path: "resourceSpans[0].scopeSpans[0].spans[1]" + path, message: message))
        }

        /// Like `span`, but the whole middle item is `item`.
        static func item(_ name: String, _ item: String, path: String, message: String) -> Case {
            let json = tracesJSON([spanJSON(name: "before"), item, spanJSON(name: "after")])
            return Case(name: name, json: json, outcome: .span(path: "resourceSpans[0].scopeSpans[0].spans[1]" + path, message: message))
        }
    }

    static let deepAttributePath = "resourceSpans[0].scopeSpans[0].spans[1].attributes[0].value"
        + String(repeating: ".arrayValue.values[0]", count: 32) + ".arrayValue"

    static let cases: [Case] = [
        // Whole request.
        .request("not JSON", "this is not json", path: "", message: "body is not valid JSON"),
        .request("truncated JSON", #"{"resourceSpans":[{"#, path: "", message: "body is not valid JSON"),
        .request("empty body", "", path: "", message: "body is not valid JSON"),
        .request("top-level array", #"[{"resourceSpans":[]}]"#, path: "", message: "expected an object"),
        .request("top-level string", #""resourceSpans""#, path: "", message: "expected an object"),
        .request("resourceSpans not an array", #"{"resourceSpans":{"scopeSpans":[]}}"#,
                 path: "resourceSpans", message: "expected an array"),
        .request("resourceSpans a string", #"{"resourceSpans":"[]"}"#, path: "resourceSpans", message: "expected an array"),
        .request("scopeSpans not an array", #"{"resourceSpans":[{"scopeSpans":7}]}"#,
                 path: "resourceSpans[0].scopeSpans", message: "expected an array"),
        .request("spans not an array", #"{"resourceSpans":[{"scopeSpans":[{"spans":{}}]}]}"#,
                 path: "resourceSpans[0].scopeSpans[0].spans", message: "expected an array"),
        .request("resource attributes not an array", #"{"resourceSpans":[{},{"resource":{"attributes":{}}}]}"#,
                 path: "resourceSpans[1].resource.attributes", message: "expected an array"),
        .request("scope name not a string", #"{"resourceSpans":[{"scopeSpans":[{"scope":{"name":5}}]}]}"#,
                 path: "resourceSpans[0].scopeSpans[0].scope.name", message: "expected a string"),
        .request("bad value in resource attributes",
                 #"{"resourceSpans":[{"resource":{"attributes":[{"key":"k","value":{"intValue":"x1"}}]}}]}"#,
                 path: "resourceSpans[0].resource.attributes[0].value.intValue", message: #"expected a 64-bit integer, got "x1""#),
        .request("100000 nested arrays", String(repeating: "[", count: 100_000), path: "", message: "body is not valid JSON"),
        .request("100000 nested arrays inside resourceSpans",
                 #"{"resourceSpans":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}",
                 path: "", message: "body is not valid JSON"),
        .request("100000 nested objects", String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000),
                 path: "", message: "body is not valid JSON"),

        // One span.
        .span("bad traceId", #""traceId":"abc","spanId":"\#(validSpanHex)""#, ids: false,
              path: ".traceId", message: #"expected 32 hex digits, got "abc""#),
        .span("non-hex traceId", #""traceId":"zz2a1b8b1aed1d623d5636c5bf0275d1","spanId":"\#(validSpanHex)""#, ids: false,
              path: ".traceId", message: #"expected 32 hex digits, got "zz2a1b8b1aed1d623d5636c5bf0275d1""#),
        .span("24-character traceId that is not base64", #""traceId":"!!!!!!!!!!!!!!!!!!!!!!!!","spanId":"\#(validSpanHex)""#,
              ids: false, path: ".traceId", message: #"expected 32 hex digits, got "!!!!!!!!!!!!!!!!!!!!!!!!""#),
        .span("traceId with a 33rd digit", #""traceId":"\#(validTraceHex)0","spanId":"\#(validSpanHex)""#, ids: false,
              path: ".traceId", message: #"expected 32 hex digits, got "\#(validTraceHex)0""#),
        .span("short spanId", #""traceId":"\#(validTraceHex)","spanId":"abc123""#, ids: false,
              path: ".spanId", message: #"expected 16 hex digits, got "abc123""#),
        .span("all-zero traceId", #""traceId":"00000000000000000000000000000000","spanId":"\#(validSpanHex)""#, ids: false,
              path: ".traceId", message: "must not be all zeros"),
        .span("all-zero spanId", #""traceId":"\#(validTraceHex)","spanId":"0000000000000000""#, ids: false,
              path: ".spanId", message: "must not be all zeros"),
        .span("missing spanId", #""traceId":"\#(validTraceHex)""#, ids: false, path: ".spanId", message: "is required"),
        .span("empty traceId", #""traceId":"","spanId":"\#(validSpanHex)""#, ids: false, path: ".traceId", message: "is required"),
        .span("null spanId", #""traceId":"\#(validTraceHex)","spanId":null"#, ids: false, path: ".spanId", message: "is required"),
        .span("numeric traceId", #""traceId":12,"spanId":"\#(validSpanHex)""#, ids: false, path: ".traceId", message: "expected a string"),
        .span("bad parentSpanId", #""parentSpanId":"xyz""#, path: ".parentSpanId", message: #"expected 16 hex digits, got "xyz""#),
        .span("startTimeUnixNano abc", #""startTimeUnixNano":"abc""#,
              path: ".startTimeUnixNano", message: #"expected an unsigned 64-bit integer, got "abc""#),
        .span("negative startTimeUnixNano", #""startTimeUnixNano":"-1""#,
              path: ".startTimeUnixNano", message: #"expected an unsigned 64-bit integer, got "-1""#),
        .span("timestamp above Int64.max", #""startTimeUnixNano":"9223372036854775808""#,
              path: ".startTimeUnixNano", message: "timestamp out of range"),
        .span("numeric timestamp above Int64.max", #""endTimeUnixNano":18446744073709551615"#,
              path: ".endTimeUnixNano", message: "timestamp out of range"),
        .span("timestamp above UInt64.max", #""endTimeUnixNano":"18446744073709551616""#,
              path: ".endTimeUnixNano", message: #"expected an unsigned 64-bit integer, got "18446744073709551616""#),
        .span("event timestamp above Int64.max", #""events":[{"name":"e","timeUnixNano":"9223372036854775808"}]"#,
              path: ".events[0].timeUnixNano", message: "timestamp out of range"),
        .span("flags not a number", #""flags":"lots""#, path: ".flags", message: #"expected an unsigned 32-bit integer, got "lots""#),
        .span("unknown kind name", #""kind":"SPAN_KIND_BOGUS""#, path: ".kind", message: #"unknown enum value "SPAN_KIND_BOGUS""#),
        .span("unknown status code name", #""status":{"code":"ERROR"}"#, path: ".status.code", message: #"unknown enum value "ERROR""#),
        .span("intValue not an integer", #""attributes":[{"key":"a","value":{"stringValue":"ok"}},{"key":"b","value":{"intValue":"1.5"}}]"#,
              path: ".attributes[1].value.intValue", message: #"expected a 64-bit integer, got "1.5""#),
        .span("intValue above Int64.max", #""attributes":[{"key":"a","value":{"intValue":"9223372036854775808"}}]"#,
              path: ".attributes[0].value.intValue", message: #"expected a 64-bit integer, got "9223372036854775808""#),
        .span("doubleValue not a number", #""attributes":[{"key":"a","value":{"doubleValue":"lots"}}]"#,
              path: ".attributes[0].value.doubleValue", message: #"expected a number, "NaN", "Infinity" or "-Infinity", got "lots""#),
        .span("doubleValue lower-case nan", #""attributes":[{"key":"a","value":{"doubleValue":"nan"}}]"#,
              path: ".attributes[0].value.doubleValue", message: #"expected a number, "NaN", "Infinity" or "-Infinity", got "nan""#),
        .span("bytesValue not base64", #""attributes":[{"key":"a","value":{"bytesValue":"not base64!"}}]"#,
              path: ".attributes[0].value.bytesValue", message: "expected base64"),
        .span("attribute nested 33 levels", #""attributes":[{"key":"deep","value":\#(nestedArrayJSON(depth: 33))}]"#,
              path: String(deepAttributePath.dropFirst("resourceSpans[0].scopeSpans[0].spans[1]".count)),
              message: "values nest deeper than 32 levels"),
        .span("link with a bad traceId", #""links":[{"traceId":"xyz","spanId":"\#(validSpanHex)"}]"#,
              path: ".links[0].traceId", message: #"expected 32 hex digits, got "xyz""#),
        .span("link without spanId", #""links":[{"traceId":"\#(validTraceHex)"}]"#, path: ".links[0].spanId", message: "is required"),
        .item("span is a number", "42", path: "", message: "expected an object"),
        .item("span is a string", #""span""#, path: "", message: "expected an object"),
    ]

    @Test(arguments: cases)
    func badPayload(_ testCase: Case) throws {
        switch testCase.outcome {
        case .request(let path, let message):
            #expect(tracesFailure(testCase.json) == OTLPDecodingError(path: path, message: message))
        case .span(let path, let message):
            let decoded = try decodeTraces(testCase.json)
            #expect(decoded.rejected == [OTLPDecodingError(path: path, message: message)])
            #expect(allSpans(decoded.request).map(\.name) == ["before", "after"])
        }
    }

    @Test func errorDescriptionJoinsPathAndMessage() {
        #expect(OTLPDecodingError(path: "resourceSpans[0].scopeSpans[0].spans[0].traceId",
                                  message: #"expected 32 hex digits, got "abc""#).description
                == #"resourceSpans[0].scopeSpans[0].spans[0].traceId: expected 32 hex digits, got "abc""#)
        #expect(OTLPDecodingError(path: "", message: "body is not valid JSON").description == "body is not valid JSON")
    }

    @Test func deepNestingInResourceFailsTheWholeRequest() {
        let json = #"{"resourceSpans":[{"resource":{"attributes":[{"key":"deep","value":\#(nestedArrayJSON(depth: 40))}]}}]}"#
        let error = tracesFailure(json)
        #expect(error?.message == "values nest deeper than 32 levels")
        #expect(error?.path == "resourceSpans[0].resource.attributes[0].value"
                + String(repeating: ".arrayValue.values[0]", count: 32) + ".arrayValue")
    }

    @Test func rejectionsInSeveralScopesAndResources() throws {
        let bad = spanJSON(#""traceId":"abc","spanId":"\#(validSpanHex)""#, name: "bad", ids: false)
        let json = #"""
        {"resourceSpans":[
          {"scopeSpans":[{"spans":[\#(spanJSON(name: "a"))]},{"spans":[\#(bad),\#(spanJSON(name: "b"))]}]},
          {"scopeSpans":[{"spans":[\#(spanJSON(name: "c")),\#(bad),\#(bad)]}]}]}
        """#
        let decoded = try decodeTraces(json)
        #expect(allSpans(decoded.request).map(\.name) == ["a", "b", "c"])
        #expect(decoded.request.spanCount == 3)
        let message = #"expected 32 hex digits, got "abc""#
        #expect(decoded.rejected == [
            OTLPDecodingError(path: "resourceSpans[0].scopeSpans[1].spans[0].traceId", message: message),
            OTLPDecodingError(path: "resourceSpans[1].scopeSpans[0].spans[1].traceId", message: message),
            OTLPDecodingError(path: "resourceSpans[1].scopeSpans[0].spans[2].traceId", message: message),
        ])
    }

    @Test func everySpanRejectedLeavesAnEmptyRequestWithRejections() throws {
        let decoded = try decodeTraces(tracesJSON([spanJSON(#""spanId":"1""#, ids: false)]))
        #expect(decoded.request.spanCount == 0)
        #expect(decoded.request.resourceSpans.first?.scopeSpans.first?.spans == [])
        #expect(decoded.rejected == [OTLPDecodingError(path: "resourceSpans[0].scopeSpans[0].spans[0].traceId", message: "is required")])
    }

    @Test func rejectedSpanDoesNotLeakNestingDepth() throws {
        // A span rejected deep inside a value must not leave the depth counter raised for the next.
        let deep = spanJSON(#""attributes":[{"key":"d","value":\#(nestedArrayJSON(depth: 33))}]"#, name: "deep")
        let nextAtLimit = spanJSON(#""attributes":[{"key":"d","value":\#(nestedArrayJSON(depth: 32))}]"#, name: "limit")
        let decoded = try decodeTraces(tracesJSON([deep, deep, nextAtLimit]))
        #expect(allSpans(decoded.request).map(\.name) == ["limit"])
        #expect(decoded.rejected.count == 2)
    }

    @Test func badLogRecords() throws {
        let json = logsJSON([
            #"{"body":{"stringValue":"before"}}"#,
            #"{"body":{"stringValue":"bad"},"traceId":"abc"}"#,
            #"{"body":{"stringValue":"bad"},"spanId":"abcdefabcdefabcdef"}"#,
            #"{"body":{"stringValue":"bad"},"timeUnixNano":"9223372036854775808"}"#,
            #"{"body":{"stringValue":"bad"},"severityNumber":"SEVERITY_NUMBER_LOUD"}"#,
            #"{"body":{"stringValue":"bad"},"observedTimeUnixNano":"soon"}"#,
            #"{"body":{"intValue":"x"}}"#,
            #"{"body":{"stringValue":"after"}}"#,
        ])
        let decoded = try decodeLogs(json)
        #expect(allRecords(decoded.request).map(\.body) == [.string("before"), .string("after")])
        let prefix = "resourceLogs[0].scopeLogs[0].logRecords"
        #expect(decoded.rejected == [
            OTLPDecodingError(path: "\(prefix)[1].traceId", message: #"expected 32 hex digits, got "abc""#),
            OTLPDecodingError(path: "\(prefix)[2].spanId", message: #"expected 16 hex digits, got "abcdefabcdefabcdef""#),
            OTLPDecodingError(path: "\(prefix)[3].timeUnixNano", message: "timestamp out of range"),
            OTLPDecodingError(path: "\(prefix)[4].severityNumber", message: #"unknown enum value "SEVERITY_NUMBER_LOUD""#),
            OTLPDecodingError(path: "\(prefix)[5].observedTimeUnixNano", message: #"expected an unsigned 64-bit integer, got "soon""#),
            OTLPDecodingError(path: "\(prefix)[6].body.intValue", message: #"expected a 64-bit integer, got "x""#),
        ])
    }

    @Test func badLogRequests() {
        #expect(logsFailure("[]") == OTLPDecodingError(path: "", message: "expected an object"))
        #expect(logsFailure(#"{"resourceLogs":{}}"#) == OTLPDecodingError(path: "resourceLogs", message: "expected an array"))
        #expect(logsFailure(#"{"resourceLogs":[{"scopeLogs":[{"logRecords":"x"}]}]}"#)
                == OTLPDecodingError(path: "resourceLogs[0].scopeLogs[0].logRecords", message: "expected an array"))
        #expect(logsFailure("{") == OTLPDecodingError(path: "", message: "body is not valid JSON"))
    }

    @Test func longBadValuesAreShortenedInMessages() throws {
        let long = String(repeating: "z", count: 60)
        let decoded = try decodeTraces(tracesJSON([spanJSON(#""traceId":"\#(long)","spanId":"\#(validSpanHex)""#, ids: false)]))
        #expect(decoded.rejected == [OTLPDecodingError(
            path: "resourceSpans[0].scopeSpans[0].spans[0].traceId",
            message: "expected 32 hex digits, got \"\(String(repeating: "z", count: 48))…\"")])
    }
}
