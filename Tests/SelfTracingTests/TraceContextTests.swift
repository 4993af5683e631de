import Instrumentation
import OTLP
import SelfTracing
import Synchronization
import Testing
import Tracing
import W3CTraceContext

/// The W3C Trace Context recommendation's rules for `traceparent` and `tracestate`, header by header.
@Suite struct TraceContextTests {
    static let trace = "0af7651916cd43dd8448eb211c80319c"
    static let span = "b7ad6b7169203331"
    static let valid = "00-\(trace)-\(span)-01"

    func parse(_ traceparent: String?, _ tracestate: String? = nil) -> TraceContext? {
        TraceContextHeaders.parse(traceparent: traceparent, tracestate: tracestate)
    }

    @Test func aValidTraceparentIsContinued() throws {
        let context = try #require(parse(Self.valid))
        #expect(context.traceID.description == Self.trace)
        #expect(context.spanID.description == Self.span)
        #expect(context.flags.rawValue == 1)
        #expect(context.state.isEmpty)
    }

    static let invalidTraceparents: [(String, String)] = [
        ("version ff", "ff-\(trace)-\(span)-01"),
        ("version not hex", "0g-\(trace)-\(span)-01"),
        ("upper-case version", "0A-\(trace)-\(span)-01"),
        ("upper-case trace id", "00-\(trace.uppercased())-\(span)-01"),
        ("upper-case span id", "00-\(trace)-\(span.uppercased())-01"),
        ("upper-case flags", "00-\(trace)-\(span)-0A"),
        ("all-zero trace id", "00-\(String(repeating: "0", count: 32))-\(span)-01"),
        ("all-zero span id", "00-\(trace)-0000000000000000-01"),
        ("short trace id", "00-\(trace.dropLast())-\(span)-01"),
        ("long trace id", "00-\(trace)0-\(span)-01"),
        ("short span id", "00-\(trace)-\(span.dropLast())-01"),
        ("one-digit flags", "00-\(trace)-\(span)-1"),
        ("trailing data on version 00", "00-\(trace)-\(span)-01-extra"),
        ("trailing character on version 00", "00-\(trace)-\(span)-010"),
        ("wrong delimiters", "00_\(trace)_\(span)_01"),
        ("non-hex trace id", "00-\(trace.dropLast())x-\(span)-01"),
        ("empty", ""),
        ("duplicated header, combined", "\(valid),\(valid)"),
        ("later version without a dash after the flags", "cc-\(trace)-\(span)-01.what"),
        ("later version too short", "cc-\(trace)-\(span)-0"),
    ]

    @Test(arguments: invalidTraceparents)
    func anInvalidTraceparentStartsANewTrace(_ name: String, _ header: String) {
        #expect(parse(header) == nil, "\(name)")
        #expect(parse(header, "foo=bar") == nil, "\(name): tracestate alone is not a context")
    }

    @Test func aLaterVersionIsReadByItsFirstFourFields() throws {
        let context = try #require(parse("cc-\(Self.trace)-\(Self.span)-01-what-the-future-will-be-like"))
        #expect(context.traceID.description == Self.trace)
        #expect(context.spanID.description == Self.span)
        #expect(try #require(parse("01-\(Self.trace)-\(Self.span)-00")).flags.rawValue == 0)
    }

    @Test func tracestateIsKeptWhenValid() throws {
        let context = try #require(parse(Self.valid, "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,,  ,tenant@system=x"))
        #expect(context.state.map(\.vendor.rawValue) == ["rojo", "congo", "tenant@system"])
        #expect(context.traceStateHeaderValue == "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE, tenant@system=x")
        let thirtyTwo = (0..<32).map { "k\($0)=v" }.joined(separator: ",")
        #expect(try #require(parse(Self.valid, thirtyTwo)).state.count == 32)
    }

    /// The W3C test suite's strict level: `@` anywhere after the first character, keys up to 256
    /// characters whatever their `@`s, and a repeated key kept once (its first member).
    @Test func tracestateKeysFollowTheSecondEditionGrammar() throws {
        let kept: [(String, [String])] = [
            ("foo@=1,bar=2", ["foo@=1", "bar=2"]),
            ("foo@@bar=1,bar=2", ["foo@@bar=1", "bar=2"]),
            ("foo@bar@baz=1,bar=2", ["foo@bar@baz=1", "bar=2"]),
            ("foo=1," + String(repeating: "z", count: 256) + "=1", ["foo=1", String(repeating: "z", count: 256) + "=1"]),
            ("foo=1," + String(repeating: "t", count: 242) + "@v=1", ["foo=1", String(repeating: "t", count: 242) + "@v=1"]),
            ("foo=1,t@" + String(repeating: "v", count: 15) + "=1", ["foo=1", "t@" + String(repeating: "v", count: 15) + "=1"]),
            ("1tenant@system=x", ["1tenant@system=x"]),
            ("foo=1,foo=1", ["foo=1"]),
            ("foo=1,bar=2,foo=3", ["foo=1", "bar=2"]),
        ]
        for (header, members) in kept {
            let context = try #require(parse(Self.valid, header), "\(header)")
            #expect(context.state.map { "\($0.vendor.rawValue)=\($0.value)" } == members, "\(header)")
            #expect(context.traceStateHeaderValue == members.joined(separator: ", "), "\(header)")
        }
    }

    static let invalidTracestates: [(String, String)] = [
        ("33 members", (0..<33).map { "k\($0)=v" }.joined(separator: ",")),
        ("a member without =", "foo=1,bar"),
        ("an empty key", "foo=1,=2"),
        ("an upper-case key", "Foo=1"),
        ("a key starting with a digit", "1foo=1"),
        ("a key starting with @", "@foo=1,bar=2"),
        ("a key over 256 characters", "foo=1," + String(repeating: "z", count: 257) + "=1"),
        ("a value with =", "foo=a=b"),
        ("a value with a control character", "foo=a\u{7}b"),
        ("an empty value", "foo="),
        ("a value with a non-ASCII character", "foo=é"),
        ("a value over 256 characters", "foo=" + String(repeating: "v", count: 257)),
    ]

    @Test(arguments: invalidTracestates)
    func anInvalidTracestateIsDroppedWholeAndTheTraceparentKept(_ name: String, _ header: String) throws {
        let context = try #require(parse(Self.valid, header), "\(name)")
        #expect(context.state.isEmpty, "\(name)")
        #expect(context.traceID.description == Self.trace)
    }

    // MARK: The tracer

    final class Exported: Sendable {
        let spans = Mutex<[OTLP.Span]>([])
    }

    func tracer() -> (SightlineTracer, Exported) {
        let exported = Exported()
        let tracer = SightlineTracer { request in
            exported.spans.withLock { $0 += request.resourceSpans.flatMap(\.scopeSpans).flatMap(\.spans) }
        }
        return (tracer, exported)
    }

    struct DictionaryExtractor: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }

    struct DictionaryInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    }

    @Test func aContinuedTraceKeepsTheCallersIdsFlagsAndState() throws {
        let (tracer, exported) = tracer()
        var context = InstrumentationContext.topLevel
        tracer.extract(["traceparent": "00-\(Self.trace)-\(Self.span)-02", "tracestate": "rojo=1"], into: &context,
                       using: DictionaryExtractor())
        let span = tracer.startSpan("GET /x", context: context, ofKind: .server)
        #expect(span.traceContext.traceID.description == Self.trace)
        #expect(span.traceContext.spanID.description != Self.span)
        #expect(span.traceContext.flags.rawValue == 0x02, "the random flag is carried forward, unsampled stays unsampled")
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: DictionaryInjector())
        #expect(headers["traceparent"] == "00-\(Self.trace)-\(span.traceContext.spanID)-02")
        #expect(headers["tracestate"] == "rojo=1")
        span.attributes["http.request.method"] = "GET"
        span.end()
        span.end()
        let stored = exported.spans.withLock { $0 }
        #expect(stored.count == 1, "ending twice exports once")
        #expect(stored.first?.parentSpanId?.hex == Self.span)
        #expect(stored.first?.traceId.hex == Self.trace)
        #expect(stored.first?.kind == .server)
        #expect(stored.first?.attributes == [KeyValue(key: "http.request.method", value: .string("GET"))])
    }

    @Test func aNewTraceIsRandomAndSaysSo() throws {
        let (tracer, exported) = tracer()
        var context = InstrumentationContext.topLevel
        tracer.extract(["traceparent": "ff-\(Self.trace)-\(Self.span)-01"], into: &context, using: DictionaryExtractor())
        let first = tracer.startSpan("a", context: context, ofKind: .server)
        let second = tracer.startSpan("b", context: context, ofKind: .server)
        #expect(first.traceContext.traceID.description != Self.trace)
        #expect(first.traceContext.traceID != second.traceContext.traceID)
        #expect(first.traceContext.flags.rawValue == 0x03, "sampled, random trace id")
        first.setStatus(.init(code: .error, message: "boom"))
        first.end()
        let stored = try #require(exported.spans.withLock { $0 }.first)
        #expect(stored.parentSpanId == nil)
        #expect(stored.status == OTLP.SpanStatus(message: "boom", code: .error))
    }
}
