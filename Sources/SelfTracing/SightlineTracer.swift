import Instrumentation
import OTLP
import Synchronization
import Tracing
import W3CTraceContext

/// Where a span's W3C context lives in an `InstrumentationContext`.
public enum TraceContextKey: InstrumentationContextKey {
    public typealias Value = TraceContext
}

/// A swift-distributed-tracing `Tracer` that hands each finished span, as an OTLP request of
/// service `sightline`, to `export` (Sightline's own writer), and propagates W3C Trace Context
/// (`traceparent`, `tracestate`).
///
/// It is an instance, not the process-wide `InstrumentationSystem`: each Sightline in a process
/// (tests run several) traces into its own store.
public final class SightlineTracer: Tracer {
    public typealias Span = SightlineSpan

    let resource: OTLP.Resource
    let scope = InstrumentationScope(name: "sightline", version: "1")
    let export: @Sendable (ExportTraceServiceRequest) -> Void

    public init(serviceName: String = "sightline", export: @escaping @Sendable (ExportTraceServiceRequest) -> Void) {
        self.resource = Resource(attributes: [KeyValue(key: "service.name", value: .string(serviceName))])
        self.export = export
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> InstrumentationContext, ofKind kind: Tracing.SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> SightlineSpan {
        var context = context()
        let parent = context[TraceContextKey.self]
        // A new trace gets a random id, and says so with the "random" flag (0x02); a continued
        // trace keeps the caller's flags, so that flag is carried forward.
        let own = TraceContext(
            traceID: parent?.traceID ?? .random(), spanID: .random(),
            flags: parent?.flags ?? TraceFlags(rawValue: 0x03), state: parent?.state ?? TraceState())
        context[TraceContextKey.self] = own
        return SightlineSpan(tracer: self, operationName: operationName, kind: kind, context: context, traceContext: own,
                             parentSpanID: parent?.spanID, start: instant().nanosecondsSinceEpoch)
    }

    public func forceFlush() {}

    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout InstrumentationContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        let parent = TraceContextHeaders.parse(traceparent: extractor.extract(key: "traceparent", from: carrier),
                                               tracestate: extractor.extract(key: "tracestate", from: carrier))
        if let parent { context[TraceContextKey.self] = parent }
    }

    public func inject<Carrier, Inject: Injector>(
        _ context: InstrumentationContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let traceContext = context[TraceContextKey.self] else { return }
        injector.inject(traceContext.traceParentHeaderValue, forKey: "traceparent", into: &carrier)
        if let state = traceContext.traceStateHeaderValue { injector.inject(state, forKey: "tracestate", into: &carrier) }
    }
}

/// A span of `SightlineTracer`; ending it exports it once.
public final class SightlineSpan: Tracing.Span {
    private struct State {
        var operationName: String
        var attributes = SpanAttributes()
        var status: Tracing.SpanStatus?
        var events: [OTLP.SpanEvent] = []
        var links: [OTLP.SpanLink] = []
        var ended = false
    }

    public let context: InstrumentationContext
    public let traceContext: TraceContext
    private let tracer: SightlineTracer
    private let kind: Tracing.SpanKind
    private let parentSpanID: W3CTraceContext.SpanID?
    private let start: UInt64
    private let state: Mutex<State>

    init(tracer: SightlineTracer, operationName: String, kind: Tracing.SpanKind, context: InstrumentationContext,
         traceContext: TraceContext, parentSpanID: W3CTraceContext.SpanID?, start: UInt64) {
        self.tracer = tracer
        self.kind = kind
        self.context = context
        self.traceContext = traceContext
        self.parentSpanID = parentSpanID
        self.start = start
        self.state = Mutex(State(operationName: operationName))
    }

    public var operationName: String {
        get { state.withLock { $0.operationName } }
        set { state.withLock { $0.operationName = newValue } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
    }

    public var isRecording: Bool { state.withLock { !$0.ended } }

    public func setStatus(_ status: Tracing.SpanStatus) { state.withLock { $0.status = status } }

    public func addEvent(_ event: Tracing.SpanEvent) {
        let converted = OTLP.SpanEvent(timeUnixNano: event.nanosecondsSinceEpoch, name: event.name,
                                       attributes: Self.keyValues(event.attributes))
        state.withLock { $0.events.append(converted) }
    }

    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        var all = attributes
        all["exception.type"] = "\(type(of: error))"
        all["exception.message"] = "\(error)"
        addEvent(Tracing.SpanEvent(name: "exception", at: instant(), attributes: all))
    }

    public func addLink(_ link: Tracing.SpanLink) {
        guard let other = link.context[TraceContextKey.self],
              let traceID = OTLP.TraceID(hex: other.traceID.description), let spanID = OTLP.SpanID(hex: other.spanID.description) else { return }
        let converted = OTLP.SpanLink(traceId: traceID, spanId: spanID, attributes: Self.keyValues(link.attributes))
        state.withLock { $0.links.append(converted) }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let end = instant().nanosecondsSinceEpoch
        guard let finished = state.withLock({ state -> State? in
            guard !state.ended else { return nil }
            state.ended = true
            return state
        }) else { return }
        guard let traceID = OTLP.TraceID(hex: traceContext.traceID.description),
              let spanID = OTLP.SpanID(hex: traceContext.spanID.description) else { return }
        let span = OTLP.Span(
            traceId: traceID, spanId: spanID, traceState: traceContext.traceStateHeaderValue ?? "",
            parentSpanId: parentSpanID.flatMap { OTLP.SpanID(hex: $0.description) },
            flags: UInt32(traceContext.flags.rawValue), name: finished.operationName, kind: Self.kind(kind),
            startTimeUnixNano: start, endTimeUnixNano: max(end, start), attributes: Self.keyValues(finished.attributes),
            events: finished.events, links: finished.links,
            status: finished.status.map { OTLP.SpanStatus(message: $0.message ?? "", code: $0.code == .error ? .error : .ok) } ?? .init())
        tracer.export(ExportTraceServiceRequest(resourceSpans: [ResourceSpans(
            resource: tracer.resource, scopeSpans: [ScopeSpans(scope: tracer.scope, spans: [span])])]))
    }

    static func kind(_ kind: Tracing.SpanKind) -> OTLP.SpanKind {
        switch kind {
        case .server: .server
        case .client: .client
        case .producer: .producer
        case .consumer: .consumer
        case .internal: .internal
        }
    }

    static func keyValues(_ attributes: SpanAttributes) -> [KeyValue] {
        var result: [KeyValue] = []
        attributes.forEach { key, attribute in
            let value: AnyValue
            switch attribute {
            case .int32(let number): value = .int(Int64(number))
            case .int64(let number): value = .int(number)
            case .double(let number): value = .double(number)
            case .bool(let flag): value = .bool(flag)
            case .string(let text): value = .string(text)
            case .int32Array(let numbers): value = .array(numbers.map { .int(Int64($0)) })
            case .int64Array(let numbers): value = .array(numbers.map { .int($0) })
            case .doubleArray(let numbers): value = .array(numbers.map { .double($0) })
            case .boolArray(let flags): value = .array(flags.map { .bool($0) })
            case .stringArray(let texts): value = .array(texts.map { .string($0) })
            case .stringConvertible(let item): value = .string(item.description)
            case .stringConvertibleArray(let items): value = .array(items.map { .string($0.description) })
            default: value = .empty
            }
            result.append(KeyValue(key: key, value: value))
        }
        return result.sorted { $0.key < $1.key }
    }
}
