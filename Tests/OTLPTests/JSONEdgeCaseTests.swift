import Foundation
import OTLP
import Testing

/// The JSON text itself (RFC 8259): escapes, UTF-8, numbers, whitespace, duplicate keys, byte
/// order marks and nesting, as the hand-written reader treats them.
@Suite("JSON edge cases")
struct JSONEdgeCaseTests {
    static let notJSON = OTLPDecodingError(path: "", message: "body is not valid JSON")

    /// The error a traces payload given as raw bytes fails with, or `nil` when it decodes.
    func failure(_ bytes: [UInt8]) -> OTLPDecodingError? {
        do {
            _ = try OTLPJSONDecoder().decodeTraces(from: Data(bytes))
            return nil
        } catch {
            return error
        }
    }

    /// One span's JSON with a string attribute whose value is `literal` (the text between quotes).
    func stringValueSpan(_ literal: String) -> String {
        tracesJSON([spanJSON(#""attributes":[{"key":"k","value":{"stringValue":"\#(literal)"}}]"#)])
    }

    // MARK: Strings

    @Test(arguments: [
        (#"a\nb"#, "a\nb"), (#"\u00e9"#, "é"), (#"\u00E9"#, "é"), (#"\ud83d\ude00"#, "😀"), (#"\uD83D\uDE00"#, "😀"),
        (#"\"\\\/\b\f\n\r\t"#, "\"\\/\u{8}\u{C}\n\r\t"), (#"\u0000"#, "\u{0}"), (#"x\u2603y"#, "x☃y"),
        ("raw é ☃ 😀 \u{7F}", "raw é ☃ 😀 \u{7F}"),
    ])
    func escapesAndUTF8(literal: String, expected: String) throws {
        #expect(try decodeValue(#"{"stringValue":"\#(literal)"}"#) == .string(expected))
    }

    @Test func escapedKeysAndIdsAreUnescapedFirst() throws {
        // "traceId" and "7384601d4d6c4480" written with escapes.
        let span = try decodeOneSpan(#""trace\u0049d":"\#(validTraceHex)","spanId":"\u0037384601d4d6c4480""#, ids: false)
        #expect(span.traceId.hex == validTraceHex)
        #expect(span.spanId.hex == validSpanHex)
    }

    /// Lone surrogates are rejected rather than replaced with U+FFFD: the text is not valid
    /// UTF-16 escaping, so nothing reliable can be stored for it.
    @Test(arguments: [
        #"\ud83d"#, #"\ude00"#, #"\ud83dx"#, #"\ud83d\u0041"#, #"\ud83d\ud83d"#, #"\ude00\ud83d"#,
        #"\x"#, #"\u12"#, #"\u12G4"#, #"\U00e9"#, #"\'"#,
    ])
    func badEscapesAreNotJSON(literal: String) {
        #expect(tracesFailure(stringValueSpan(literal)) == Self.notJSON)
        // Also in a member nobody reads.
        #expect(tracesFailure(#"{"unknown":"\#(literal)"}"#) == Self.notJSON)
    }

    @Test(arguments: [
        [0x09] as [UInt8], [0x0A], [0x00], [0x1F], // raw control characters
        [0xFF], [0x80], [0xC3], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
    ])
    func controlCharactersAndBadUTF8AreNotJSON(bytes: [UInt8]) {
        #expect(failure(Array(#"{"unknown":"a"#.utf8) + bytes + Array(#"b"}"#.utf8)) == Self.notJSON)
        let parts = stringValueSpan("<>").components(separatedBy: "<>")
        #expect(failure(Array(parts[0].utf8) + bytes + Array(parts[1].utf8)) == Self.notJSON)
    }

    // MARK: Numbers

    /// proto3 JSON accepts an integer in any number form, as long as it is a whole number.
    @Test(arguments: [
        ("1e3", Int64(1000)), ("1E+2", 100), ("1.0", 1), ("1.5e1", 15), ("100e-2", 1), ("-0", 0), ("0.0e5", 0),
        ("-9223372036854775808", .min), ("-92233720368547758.08e2", .min), ("9.223372036854775807e18", .max),
    ])
    func wholeNumbersInAnyFormForInt64(json: String, value: Int64) throws {
        #expect(try decodeValue(#"{"intValue":\#(json)}"#) == .int(value))
    }

    @Test(arguments: ["1.5", "1e-400", "0.1", "9223372036854775808", "-9223372036854775809", "1e19", "1e1000000000"])
    func otherNumbersRejectTheSpan(json: String) throws {
        let decoded = try decodeTraces(tracesJSON([spanJSON(#""attributes":[{"key":"k","value":{"intValue":\#(json)}}]"#)]))
        #expect(decoded.rejected == [OTLPDecodingError(
            path: "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue",
            message: "expected a 64-bit integer, got \(json)")])
    }

    @Test func numbersOutOfRangeRejectOneSpanNotTheRequest() throws {
        let decoded = try decodeTraces(tracesJSON([
            spanJSON(#""startTimeUnixNano":-1"#, name: "negative"), spanJSON(#""flags":4294967296"#, name: "wide"),
            spanJSON(#""kind":1.5"#, name: "fraction"), spanJSON(#""startTimeUnixNano":-0"#, name: "zero"),
        ]))
        #expect(allSpans(decoded.request).map(\.name) == ["zero"])
        #expect(decoded.rejected.map(\.description) == [
            "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected an unsigned 64-bit integer, got -1",
            "resourceSpans[0].scopeSpans[0].spans[1].flags: expected an unsigned 32-bit integer, got 4294967296",
            "resourceSpans[0].scopeSpans[0].spans[2].kind: unknown enum value 1.5",
        ])
    }

    @Test func doublesKeepTheirSignAndUnderflowToZero() throws {
        guard case .double(let negativeZero) = try decodeValue(#"{"doubleValue":-0}"#) else {
            Issue.record("-0 is not a double")
            return
        }
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        #expect(try decodeValue(#"{"doubleValue":1e-400}"#) == .double(0))
        #expect(try decodeValue(#"{"doubleValue":123456789012345678901234567890}"#) == .double(1.2345678901234568e29))
        let decoded = try decodeTraces(tracesJSON([spanJSON(#""attributes":[{"key":"k","value":{"doubleValue":1e400}}]"#)]))
        #expect(decoded.rejected.map(\.message) == [#"expected a number, "NaN", "Infinity" or "-Infinity", got 1e400"#])
    }

    @Test(arguments: ["01", "-01", "00", "1.", ".5", "+1", "-", "1e", "1e+", "1.e3", "0x10", "NaN", "Infinity", "-Infinity", "1_000"])
    func malformedNumbersAreNotJSON(json: String) {
        #expect(tracesFailure(tracesJSON([spanJSON(#""attributes":[{"key":"k","value":{"intValue":\#(json)}}]"#)])) == Self.notJSON)
        #expect(tracesFailure(#"{"unknown":\#(json)}"#) == Self.notJSON)
    }

    // MARK: Structure

    @Test(arguments: ["{} x", "{}{}", "{}]", "{} null", "{}\u{0}", #"{"resourceSpans":[]}}"#, "{},"])
    func trailingGarbageIsNotJSON(json: String) {
        #expect(tracesFailure(json) == Self.notJSON)
    }

    @Test(arguments: [
        #"{"resourceSpans":[],}"#, #"{"resourceSpans":[{},]}"#, #"{"unknown":[1,]}"#, #"{"unknown":{"a":1,}}"#,
        #"{,"resourceSpans":[]}"#, #"{"resourceSpans":[,{}]}"#, #"{"resourceSpans" []}"#, #"{"resourceSpans":[] "x":1}"#,
        #"{'resourceSpans':[]}"#, #"{resourceSpans:[]}"#, #"{"unknown":nul}"#, #"{"unknown":True}"#,
    ])
    func malformedStructureIsNotJSON(json: String) {
        #expect(tracesFailure(json) == Self.notJSON)
    }

    @Test func whitespaceBetweenEveryToken() throws {
        let compact = tracesJSON([spanJSON(#""kind":2,"attributes":[{"key":"k","value":{"arrayValue":{"values":[{"intValue":1}]}}}]"#)])
        var spaced = ""
        for character in compact {
            spaced.append(character)
            if "{}[],:".contains(character) { spaced += " \t\r\n " }
        }
        let expected = try decodeTraces(compact).request
        #expect(try decodeTraces(" \n\t\r" + spaced + "\r\n\t ").request == expected)
        #expect(tracesFailure("\u{0C}{}") == Self.notJSON) // form feed is not JSON whitespace
        #expect(tracesFailure("{\u{A0}}") == Self.notJSON) // nor is a no-break space
    }

    /// The first of repeated members wins, as with the Foundation decoder this reader replaced;
    /// the repeats are still checked as JSON but not as OTLP.
    @Test func duplicateKeysKeepTheFirst() throws {
        #expect(try decodeOneSpan(#""name":"second""#).name == "span") // spanJSON writes "name":"span" first
        let decoded = try decodeTraces(tracesJSON([
            #"{"traceId":"\#(validTraceHex)","spanId":"\#(validSpanHex)","name":"a","name":"b","name":5}"#,
            #"{"traceId":"\#(validTraceHex)","spanId":"\#(validSpanHex)","kind":"bogus","kind":2}"#,
            #"{"traceId":"\#(validTraceHex)","traceId":"zz","spanId":"\#(validSpanHex)","spanId":null}"#,
        ]))
        #expect(allSpans(decoded.request).map(\.name) == ["a", ""])
        #expect(decoded.rejected.map(\.description) == [#"resourceSpans[0].scopeSpans[0].spans[1].kind: unknown enum value "bogus""#])
        #expect(tracesFailure(#"{"resourceSpans":[],"resourceSpans":[1,]}"#) == Self.notJSON)
    }

    /// A value with several members set is taken from the first that is not null.
    @Test func anyValueTakesTheFirstMemberThatIsSet() throws {
        #expect(try decodeValue(#"{"stringValue":"a","intValue":"1"}"#) == .string("a"))
        #expect(try decodeValue(#"{"intValue":"1","stringValue":"a"}"#) == .int(1))
        #expect(try decodeValue(#"{"stringValue":null,"intValue":"1"}"#) == .int(1))
        #expect(try decodeValue(#"{"stringValue":null,"stringValue":"x"}"#) == .empty)
        #expect(try decodeValue(#"{"boolValue":true,"intValue":"not checked"}"#) == .bool(true))
    }

    // MARK: Encoding

    /// A UTF-8 byte order mark is skipped (RFC 8259 allows ignoring it, and the Foundation
    /// decoder did); anywhere else, and UTF-16 or UTF-32 text, is not JSON.
    @Test func byteOrderMarks() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let body = Array(tracesJSON([spanJSON()]).utf8)
        let decoded = try OTLPJSONDecoder().decodeTraces(from: Data(bom + body))
        #expect(allSpans(decoded.request).count == 1)
        #expect(failure(bom + bom + body) == Self.notJSON)
        #expect(failure([0x20] + bom + body) == Self.notJSON)
        #expect(failure(bom) == Self.notJSON)
        let utf16: [UInt8] = [0xFF, 0xFE] + "{}".utf16.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] }
        #expect(failure(utf16) == Self.notJSON)
    }

    @Test func base64PaddingMayBeLeftOutButNotOverdone() throws {
        #expect(try decodeValue(#"{"bytesValue":"AA"}"#) == .bytes([0]))
        #expect(try decodeValue(#"{"bytesValue":"AA="}"#) == .bytes([0]))
        #expect(try decodeValue(#"{"bytesValue":"AA=="}"#) == .bytes([0]))
        for bad in ["AAAA=", "AA===", "AA=A", "A", "=", "A\u{2603}AA"] {
            let decoded = try decodeTraces(tracesJSON([spanJSON(#""attributes":[{"key":"k","value":{"bytesValue":"\#(bad)"}}]"#)]))
            #expect(decoded.rejected.map(\.message) == ["expected base64"], "\(bad)")
        }
    }

    // MARK: Nesting

    @Test func documentNestingIsLimitedTo512() {
        func nested(_ depth: Int) -> String {
            #"{"unknown":"# + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1) + "}"
        }
        #expect(tracesFailure(nested(512)) == nil)
        #expect(tracesFailure(nested(513)) == Self.notJSON)
        #expect(tracesFailure(String(repeating: #"{"a":"#, count: 600) + "1" + String(repeating: "}", count: 600)) == Self.notJSON)
    }

    @Test func deepValuesWithinTheDocumentLimitDecode() throws {
        // With a generous value limit, 160 nested array values (490 containers in all) decode.
        let decoder = OTLPJSONDecoder(maxValueDepth: 1000)
        let json = tracesJSON([spanJSON(#""attributes":[{"key":"k","value":\#(nestedArrayJSON(depth: 160))}]"#)])
        let decoded = try decodeTraces(json, decoder: decoder)
        #expect(allSpans(decoded.request).count == 1)
        let tooDeep = tracesJSON([spanJSON(#""attributes":[{"key":"k","value":\#(nestedArrayJSON(depth: 170))}]"#)])
        #expect(tracesFailure(tooDeep) == Self.notJSON)
    }
}
