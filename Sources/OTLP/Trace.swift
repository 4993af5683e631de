/// `ExportTraceServiceRequest` (and `TracesData`, which has the same shape).
public struct ExportTraceServiceRequest: Sendable, Hashable {
    public var resourceSpans: [ResourceSpans]

    public init(resourceSpans: [ResourceSpans] = []) { self.resourceSpans = resourceSpans }

    /// The number of spans in the request.
    public var spanCount: Int {
        resourceSpans.reduce(0) { $0 + $1.scopeSpans.reduce(0) { $0 + $1.spans.count } }
    }
}

public struct ResourceSpans: Sendable, Hashable {
    public var resource: Resource
    public var scopeSpans: [ScopeSpans]
    public var schemaUrl: String

    public init(resource: Resource = .init(), scopeSpans: [ScopeSpans] = [], schemaUrl: String = "") {
        self.resource = resource
        self.scopeSpans = scopeSpans
        self.schemaUrl = schemaUrl
    }
}

public struct ScopeSpans: Sendable, Hashable {
    public var scope: InstrumentationScope
    public var spans: [Span]
    public var schemaUrl: String

    public init(scope: InstrumentationScope = .init(), spans: [Span] = [], schemaUrl: String = "") {
        self.scope = scope
        self.spans = spans
        self.schemaUrl = schemaUrl
    }
}

/// `opentelemetry.proto.trace.v1.Span`, with its ids already validated.
public struct Span: Sendable, Hashable {
    public var traceId: TraceID
    public var spanId: SpanID
    public var traceState: String
    /// `nil` for a root span.
    public var parentSpanId: SpanID?
    public var flags: UInt32
    public var name: String
    public var kind: SpanKind
    public var startTimeUnixNano: UInt64
    public var endTimeUnixNano: UInt64
    public var attributes: [KeyValue]
    public var droppedAttributesCount: UInt32
    public var events: [SpanEvent]
    public var droppedEventsCount: UInt32
    public var links: [SpanLink]
    public var droppedLinksCount: UInt32
    public var status: SpanStatus

    public init(
        traceId: TraceID, spanId: SpanID, traceState: String = "", parentSpanId: SpanID? = nil,
        flags: UInt32 = 0, name: String = "", kind: SpanKind = .unspecified,
        startTimeUnixNano: UInt64 = 0, endTimeUnixNano: UInt64 = 0,
        attributes: [KeyValue] = [], droppedAttributesCount: UInt32 = 0,
        events: [SpanEvent] = [], droppedEventsCount: UInt32 = 0,
        links: [SpanLink] = [], droppedLinksCount: UInt32 = 0, status: SpanStatus = .init()
    ) {
        self.traceId = traceId
        self.spanId = spanId
        self.traceState = traceState
        self.parentSpanId = parentSpanId
        self.flags = flags
        self.name = name
        self.kind = kind
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.events = events
        self.droppedEventsCount = droppedEventsCount
        self.links = links
        self.droppedLinksCount = droppedLinksCount
        self.status = status
    }
}

/// `Span.SpanKind`. Open, as proto3 enums are: unknown numbers are kept.
public struct SpanKind: RawRepresentable, Sendable, Hashable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unspecified = SpanKind(rawValue: 0)
    public static let `internal` = SpanKind(rawValue: 1)
    public static let server = SpanKind(rawValue: 2)
    public static let client = SpanKind(rawValue: 3)
    public static let producer = SpanKind(rawValue: 4)
    public static let consumer = SpanKind(rawValue: 5)

    static let names = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                        "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"]

    /// The enum name, e.g. `SPAN_KIND_SERVER`.
    public var name: String {
        Self.names.indices.contains(Int(rawValue)) ? Self.names[Int(rawValue)] : String(rawValue)
    }
}

/// `Span.Event`.
public struct SpanEvent: Sendable, Hashable {
    public var timeUnixNano: UInt64
    public var name: String
    public var attributes: [KeyValue]
    public var droppedAttributesCount: UInt32

    public init(timeUnixNano: UInt64 = 0, name: String = "", attributes: [KeyValue] = [], droppedAttributesCount: UInt32 = 0) {
        self.timeUnixNano = timeUnixNano
        self.name = name
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
    }
}

/// `Span.Link`.
public struct SpanLink: Sendable, Hashable {
    public var traceId: TraceID
    public var spanId: SpanID
    public var traceState: String
    public var attributes: [KeyValue]
    public var droppedAttributesCount: UInt32
    public var flags: UInt32

    public init(traceId: TraceID, spanId: SpanID, traceState: String = "", attributes: [KeyValue] = [],
                droppedAttributesCount: UInt32 = 0, flags: UInt32 = 0) {
        self.traceId = traceId
        self.spanId = spanId
        self.traceState = traceState
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.flags = flags
    }
}

/// `opentelemetry.proto.trace.v1.Status`.
public struct SpanStatus: Sendable, Hashable {
    public var message: String
    public var code: StatusCode

    public init(message: String = "", code: StatusCode = .unset) {
        self.message = message
        self.code = code
    }
}

/// `Status.StatusCode`.
public struct StatusCode: RawRepresentable, Sendable, Hashable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unset = StatusCode(rawValue: 0)
    public static let ok = StatusCode(rawValue: 1)
    public static let error = StatusCode(rawValue: 2)

    static let names = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"]
}
