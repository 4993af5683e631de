import Foundation
import OTLP
import Testing

@Suite("JSONWriter")
struct JSONWriterTests {
    func written(_ body: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        body(&writer)
        return writer.text
    }

    // MARK: Strings

    @Test func escapesQuotesAndBackslashes() {
        #expect(written { $0.string(#"say "hi" \ bye"#) } == #""say \"hi\" \\ bye""#)
        #expect(written { $0.string(#"\""#) } == #""\\\"""#)
    }

    @Test func escapesControlCharacters() {
        #expect(written { $0.string("a\nb\rc\td") } == #""a\nb\rc\td""#)
        #expect(written { $0.string("\u{0}\u{1}\u{8}\u{C}\u{1B}\u{1F}") } == #""\u0000\u0001\u0008\u000c\u001b\u001f""#)
        // DEL and space are not control characters for JSON.
        #expect(written { $0.string("\u{7F} ") } == "\"\u{7F} \"")
    }

    @Test func passesUnicodeThrough() {
        let text = "h\u{e9}llo \u{2603} \u{1F600} \u{4E2D}\u{6587} \u{2028} \u{FEFF} /"
        let json = written { $0.string(text) }
        #expect(json == "\"" + text + "\"")
        #expect(Array(json.utf8) == [UInt8(ascii: "\"")] + Array(text.utf8) + [UInt8(ascii: "\"")])
    }

    @Test(arguments: [
        "plain", "", "quote \" backslash \\ slash /", "\n\r\t\u{0}\u{1}\u{1F}\u{7F}", "h\u{e9}llo \u{2603} \u{1F600}",
        "mixed \"\u{1}\u{1F600}\\\n",
    ])
    func stringsParseBack(_ text: String) throws {
        let json = written { writer in
            writer.beginArray()
            writer.string(text)
            writer.endArray()
        }
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String]
        #expect(parsed == [text])
    }

    @Test func escapesKeysToo() throws {
        let json = written { writer in
            writer.beginObject()
            writer.key("a\"b\n")
            writer.int(1)
            writer.endObject()
        }
        #expect(json == #"{"a\"b\n":1}"#)
    }

    // MARK: Structure and scalars

    @Test func objectsAndArrays() {
        let json = written { writer in
            writer.beginObject()
            writer.key("s"); writer.string("x")
            writer.key("i"); writer.int(-5)
            writer.key("u"); writer.uint(.max)
            writer.key("list")
            writer.beginArray()
            writer.int(1); writer.bool(true); writer.bool(false); writer.null()
            writer.beginObject(); writer.endObject()
            writer.beginArray(); writer.endArray()
            writer.endArray()
            writer.key("raw"); writer.rawValue(Array(#"{"pre":"made"}"#.utf8))
            writer.key("after"); writer.double(0.5)
            writer.endObject()
        }
        #expect(json == #"{"s":"x","i":-5,"u":18446744073709551615,"list":[1,true,false,null,{},[]],"raw":{"pre":"made"},"after":0.5}"#)
    }

    @Test func topLevelValuesAreCommaSeparated() {
        #expect(written { $0.int(1); $0.int(2) } == "1,2")
        #expect(written { $0.int(.min) } == "-9223372036854775808")
    }

    @Test func doubles() {
        #expect(written { $0.double(2.0) } == "2.0")
        #expect(written { $0.double(3.14159) } == "3.14159")
        #expect(written { $0.double(-0.25) } == "-0.25")
        #expect(written { $0.double(.nan) } == #""NaN""#)
        #expect(written { $0.double(.infinity) } == #""Infinity""#)
        #expect(written { $0.double(-.infinity) } == #""-Infinity""#)
        #expect(JSONWriter.numberText(0.1) == "0.1")
        #expect(JSONWriter.numberText(.nan) == "NaN")
        #expect(JSONWriter.numberText(-.infinity) == "-Infinity")
    }

    @Test(arguments: [0.1, 1e300, .leastNonzeroMagnitude, 1e-7, 1e21, -123456.789, .greatestFiniteMagnitude, 2.0])
    func finiteDoublesAreValidJSONNumbersThatRoundTrip(_ value: Double) throws {
        let json = written { writer in
            writer.beginArray()
            writer.double(value)
            writer.endArray()
        }
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [NSNumber])
        #expect(parsed.map(\.doubleValue) == [value])
    }

    // MARK: Flat encoding

    @Test func flatEncodingOfEveryKind() {
        let attributes: [KeyValue] = [
            kv("s", .string("v")), kv("b", .bool(true)), kv("i", .int(-3)), kv("d", .double(1.5)),
            kv("nan", .double(.nan)), kv("bytes", .bytes([0xDE, 0xAD, 0xBE, 0xEF])),
            kv("a", .array([.int(1), .string("x"), .array([])])), kv("m", .kvlist([kv("k", .bool(false))])),
            kv("e", .empty),
        ]
        #expect(written { $0.flat(attributes) }
                == #"{"s":"v","b":true,"i":-3,"d":1.5,"nan":"NaN","bytes":"3q2+7w==","a":[1,"x",[]],"m":{"k":false},"e":null}"#)
        #expect(written { $0.flat(attributes, skipping: ["s", "m", "e", "nan", "bytes"]) } == #"{"b":true,"i":-3,"d":1.5,"a":[1,"x",[]]}"#)
        #expect(written { $0.flat([]) } == "{}")
    }

    // MARK: Typed OTLP encoding

    @Test func otlpEncodingOfEveryKind() {
        #expect(written { $0.otlp(.string("a\"b")) } == #"{"stringValue":"a\"b"}"#)
        #expect(written { $0.otlp(.bool(false)) } == #"{"boolValue":false}"#)
        #expect(written { $0.otlp(.int(.min)) } == #"{"intValue":"-9223372036854775808"}"#)
        #expect(written { $0.otlp(.double(2)) } == #"{"doubleValue":2.0}"#)
        #expect(written { $0.otlp(.double(.nan)) } == #"{"doubleValue":"NaN"}"#)
        #expect(written { $0.otlp(.double(-.infinity)) } == #"{"doubleValue":"-Infinity"}"#)
        #expect(written { $0.otlp(.bytes([0x00, 0x01, 0xFE, 0xFF])) } == #"{"bytesValue":"AAH+/w=="}"#)
        #expect(written { $0.otlp(.array([])) } == #"{"arrayValue":{}}"#)
        #expect(written { $0.otlp(.array([.int(1), .empty])) } == #"{"arrayValue":{"values":[{"intValue":"1"},{}]}}"#)
        #expect(written { $0.otlp(.kvlist([])) } == #"{"kvlistValue":{}}"#)
        #expect(written { $0.otlp(.kvlist([kv("k", .string("v"))])) }
                == #"{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}}"#)
        #expect(written { $0.otlp(.empty) } == "{}")
        #expect(written { $0.otlp([KeyValue]()) } == "[]")
    }

    static let everyKind: [KeyValue] = [
        kv("string", .string("hello")),
        kv("string.escaped", .string("q\" b\\ n\n t\t c\u{1} \u{e9}\u{2603}\u{1F600}")),
        kv("string.empty", .string("")),
        kv("bool.true", .bool(true)),
        kv("bool.false", .bool(false)),
        kv("int.zero", .int(0)),
        kv("int.max", .int(.max)),
        kv("int.min", .int(.min)),
        kv("int.big", .int(9_007_199_254_740_993)),
        kv("double", .double(3.14159)),
        kv("double.whole", .double(2)),
        kv("double.tiny", .double(Double.leastNonzeroMagnitude)),
        kv("double.huge", .double(.greatestFiniteMagnitude)),
        kv("double.negative", .double(-0.1)),
        kv("double.inf", .double(.infinity)),
        kv("double.-inf", .double(-.infinity)),
        kv("bytes", .bytes([0x00, 0x01, 0xFE, 0xFF])),
        kv("bytes.empty", .bytes([])),
        kv("array.empty", .array([])),
        kv("array", .array([.string("a"), .int(1), .bool(true), .double(0.5), .empty, .array([.array([])])])),
        kv("kvlist.empty", .kvlist([])),
        kv("kvlist", .kvlist([kv("nested", .kvlist([kv("n", .int(1)), kv("list", .array([.bytes([7])]))])), kv("e", .empty)])),
        kv("empty", .empty),
        kv("", .string("empty key")),
    ]

    @Test func otlpAttributesRoundTripThroughTheDecoder() throws {
        let attributes = written { $0.otlp(Self.everyKind) }
        let span = try decodeOneSpan(#""attributes":\#(attributes)"#)
        #expect(span.attributes == Self.everyKind)
    }

    @Test func otlpNaNRoundTrips() throws {
        let attributes = written { $0.otlp([kv("nan", .double(.nan)), kv("list", .array([.double(.nan)]))]) }
        let span = try decodeOneSpan(#""attributes":\#(attributes)"#)
        #expect(nanMarked(span.attributes) == [kv("nan", .string("<NaN>")), kv("list", .array([.string("<NaN>")]))])
    }

    @Test func otlpResourceScopeEventsAndLinksRoundTrip() throws {
        let resource = Resource(attributes: Self.everyKind, droppedAttributesCount: 4, entityRefs: [
            EntityRef(schemaUrl: "https://e", type: "service", idKeys: ["service.name", "service.namespace"], descriptionKeys: []),
            EntityRef(type: "host", idKeys: ["host.id"], descriptionKeys: ["host.name"]),
        ])
        let scope = InstrumentationScope(name: "lib", version: "1.0", attributes: [kv("a", .int(1))], droppedAttributesCount: 2)
        let events = [
            SpanEvent(timeUnixNano: 1_795_312_307_879_208_800, name: "e1", attributes: Self.everyKind, droppedAttributesCount: 1),
            SpanEvent(timeUnixNano: 0, name: ""),
        ]
        let links = [
            SpanLink(traceId: TraceID(high: 0x4BF9_2F35_77B3_4DA6, low: 0xA3CE_929D_0E0E_4736), spanId: SpanID(0x00F0_67AA_0BA9_02B7),
                     traceState: "vendor=abc", attributes: [kv("link.reason", .string("x"))], droppedAttributesCount: 3, flags: 768),
            SpanLink(traceId: TraceID(high: 1, low: 2), spanId: SpanID(3)),
        ]
        let resourceJSON = written { $0.otlp(resource, schemaUrl: "https://opentelemetry.io/schemas/1.26.0") }
        let scopeJSON = written { $0.otlp(scope, schemaUrl: "https://s") }
        let eventsJSON = written { $0.otlp(events) }
        let linksJSON = written { $0.otlp(links) }
        let json = #"""
            {"resourceSpans":[{"resource":\#(resourceJSON),"scopeSpans":[{"scope":\#(scopeJSON),
              "spans":[{"traceId":"\#(validTraceHex)","spanId":"\#(validSpanHex)","events":\#(eventsJSON),"links":\#(linksJSON)}]}]}]}
            """#
        let decoded = try decodeTraces(json)
        #expect(decoded.rejected.isEmpty)
        let resourceSpans = try #require(decoded.request.resourceSpans.first)
        #expect(resourceSpans.resource == resource)
        let scopeSpans = try #require(resourceSpans.scopeSpans.first)
        #expect(scopeSpans.scope == scope)
        let span = try #require(scopeSpans.spans.first)
        #expect(span.events == events)
        #expect(span.links == links)

        // The schema URLs travel inside the encoded resource and scope.
        let resourceObject = try JSONSerialization.jsonObject(with: Data(resourceJSON.utf8)) as? [String: Any]
        #expect(resourceObject?["schemaUrl"] as? String == "https://opentelemetry.io/schemas/1.26.0")
        let scopeObject = try JSONSerialization.jsonObject(with: Data(scopeJSON.utf8)) as? [String: Any]
        #expect(scopeObject?["schemaUrl"] as? String == "https://s")
        #expect(written { $0.otlp(Resource(), schemaUrl: "") } == #"{"attributes":[]}"#)
        #expect(written { $0.otlp(InstrumentationScope(), schemaUrl: "") } == #"{"name":""}"#)
    }

    @Test func otlpFixtureRoundTrip() throws {
        // Every attribute of the Python SDK capture survives encode → decode unchanged.
        let request = try OTLPJSONDecoder().decodeTraces(from: Fixtures.data("python-sdk/python-json-traces.json")).request
        for original in allSpans(request) {
            let span = try decodeOneSpan(#"""
                "attributes":\#(written { $0.otlp(original.attributes) }),"events":\#(written { $0.otlp(original.events) }),
                "links":\#(written { $0.otlp(original.links) })
                """#)
            #expect(nanMarked(span.attributes) == nanMarked(original.attributes), "\(original.name)")
            #expect(span.events == original.events, "\(original.name)")
            #expect(span.links == original.links, "\(original.name)")
        }
    }
}
