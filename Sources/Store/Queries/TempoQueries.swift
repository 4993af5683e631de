/// Grafana's Tempo data source: TraceQL searches, tag names and values, a trace for export
/// (docs/grafana.md). Callers say what to match as a `SpanCondition`; the store turns it into
/// SQL. Every method fails with `StoreError` (its kind says time limit or too many reads).
public protocol TempoQueries: Sendable {
    /// The traces `search` selects, newest first, each with the first of its spans the
    /// condition matches.
    func search(_ search: TraceSearch) async throws(StoreError) -> [FoundTrace]

    /// The distinct attribute names of `scope` among the spans of `sample`, sorted, at most `limit`.
    func attributeNames(_ scope: SpanAttributeScope, in sample: SpanSample, limit: Int) async throws(StoreError) -> [String]

    /// The distinct values of `field` among the spans of `sample` that `condition` matches (all
    /// when nil), sorted by their text, at most `limit`. Fields without stored values of their own
    /// (`statusCode`, `spanKind`, `duration`, `traceDuration`) have none.
    func values(of field: SpanField, where condition: SpanCondition?, in sample: SpanSample, limit: Int) async throws(StoreError) -> [SpanFieldValue]

    /// The spans of one trace (32 lower-case hex digits) in start order, as OTLP export needs
    /// them; none for an unknown trace.
    func spans(ofTrace traceID: String) async throws(StoreError) -> [StoredSpan]

    /// The ids of the traces `candidates` selects, newest first, at most `limit`: where
    /// spanset operators look (`spanTable` then reads their spans).
    func candidateTraces(_ candidates: TraceCandidates, limit: Int) async throws(StoreError) -> [String]

    /// Every span of the traces `traceIDs` (at most `maxSpans`; one more when there are more),
    /// in trace and start order, with whether each of `request.conditions` matches it and the
    /// values of `request.fields`.
    func spanTable(traceIDs: [String], _ request: SpanTableRequest, maxSpans: Int) async throws(StoreError) -> [SpanTableRow]

    /// Spans matching `request.condition` that start within the range, counted (and their
    /// `request.value` summed, least and greatest) per step and per group (`request.groupBy`),
    /// and per power-of-two bucket of the value when `request.buckets`. At most `maxRows` rows
    /// (one more when there are more).
    func spanMetrics(_ request: SpanMetricsRequest, maxRows: Int) async throws(StoreError) -> [SpanMetricsRow]
}

/// A condition on one span and its trace: comparisons joined with `and` and `or`.
public indirect enum SpanCondition: Sendable, Equatable {
    case and(SpanCondition, SpanCondition)
    case or(SpanCondition, SpanCondition)
    case not(SpanCondition)
    case compare(SpanField, SpanOperator, SpanValue)
    /// The field has a value (TraceQL's `!= nil`).
    case exists(SpanField)
    /// The span has no parent (TraceQL's `nestedSetParent < 0`).
    case isRoot
    /// Every span (`true`) or none (`false`).
    case constant(Bool)
    /// Arithmetic over numeric fields compared with a number (TraceQL's `{ span.a + 1 > 2 }`):
    /// false where a field is absent or not a number, or a divisor is 0.
    case compareNumber(SpanNumber, SpanOperator, Double)
    /// The span's parent span (in the same trace) matches the condition (TraceQL's `parent.`).
    case parent(SpanCondition)
}

/// A number computed from a span's numeric fields (durations in nanoseconds).
public indirect enum SpanNumber: Sendable, Equatable {
    case field(SpanField)
    case constant(Double)
    case add(SpanNumber, SpanNumber)
    case subtract(SpanNumber, SpanNumber)
    case multiply(SpanNumber, SpanNumber)
    case divide(SpanNumber, SpanNumber)
}

/// What a condition compares: a span's own fields, its trace's, or an attribute.
public enum SpanField: Sendable, Hashable {
    case spanName, statusMessage, statusCode, spanKind
    /// The span's end minus its start, in nanoseconds.
    case duration
    /// The trace's root span name and service (absent until the root span arrived).
    case rootSpanName, rootServiceName
    /// The trace's end minus its start, in nanoseconds.
    case traceDuration
    /// An attribute of the span.
    case spanAttribute(String)
    /// An attribute of the span's resource (`service.name` is the span's service).
    case resourceAttribute(String)
    /// An attribute of the span, or of its resource: either matching is enough.
    case attribute(String)
    /// The name of one of the span's events, an attribute of one of them: any event matching is enough.
    case eventName, eventAttribute(String)
    /// The trace id (hex) or span id of one of the span's links, an attribute of one of them.
    case linkTraceID, linkSpanID, linkAttribute(String)
    /// The span's trace id, its own id and its parent's (hex; absent on a root span).
    case traceID, spanID, parentSpanID
    /// How many spans of the trace have this span as their parent.
    case childCount
    /// The span's instrumentation scope: its name, version, an attribute of it.
    case scopeName, scopeVersion, scopeAttribute(String)
}

/// How a field is compared with a value. Regular expressions match the whole text (ICU syntax
/// on SQLite, PostgreSQL's on PostgreSQL); `!=` and `!~` are false where the field is absent.
public enum SpanOperator: String, Sendable, Equatable, CaseIterable {
    case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~"
    case greater = ">", less = "<", greaterOrEqual = ">=", lessOrEqual = "<="
}

/// A value compared with a field. A text never equals a number: attributes compare only with
/// values of their own type.
public enum SpanValue: Sendable, Equatable {
    case text(String)
    case number(Double)
    /// Nanoseconds.
    case duration(Int64)
    case bool(Bool)
    /// An OTLP status code (`statusCode`: 0 unset, 1 ok, 2 error) or span kind (`spanKind`).
    case code(Int32)
}

/// Which attributes `attributeNames` lists.
public enum SpanAttributeScope: Sendable, Equatable {
    case span, resource
}

/// The most recent spans (by start time), at most `size`, starting within `start...end`
/// (nanoseconds; either side open when nil): where tag names and values are read.
public struct SpanSample: Sendable, Equatable {
    public var start: Int64?
    public var end: Int64?
    public var size: Int

    public init(start: Int64?, end: Int64?, size: Int) {
        self.start = start
        self.end = end
        self.size = size
    }
}

/// A trace search: traces starting within `start...end` (nanoseconds, each side open when nil)
/// and lasting `minDuration...maxDuration`, with at least one span `condition` matches (any
/// trace when nil); at most `limit` traces, each with at most `spansPerTrace` matching spans.
public struct TraceSearch: Sendable, Equatable {
    public var start: Int64?
    public var end: Int64?
    public var minDuration: Int64?
    public var maxDuration: Int64?
    public var condition: SpanCondition?
    public var limit: Int
    public var spansPerTrace: Int

    public init(start: Int64? = nil, end: Int64? = nil, minDuration: Int64? = nil, maxDuration: Int64? = nil,
                condition: SpanCondition? = nil, limit: Int, spansPerTrace: Int) {
        self.start = start
        self.end = end
        self.minDuration = minDuration
        self.maxDuration = maxDuration
        self.condition = condition
        self.limit = limit
        self.spansPerTrace = spansPerTrace
    }
}

/// A trace a search found.
public struct FoundTrace: Sendable, Equatable {
    public var traceID: String
    /// nil until the root span arrived.
    public var rootServiceName: String?
    public var rootSpanName: String?
    public var startTimeUnixNano: Int64?
    public var endTimeUnixNano: Int64?
    /// The matching spans; nil when none matched (a trace found before its spans were stored).
    public var spans: MatchedSpans?

    public init(traceID: String, rootServiceName: String?, rootSpanName: String?, startTimeUnixNano: Int64?,
                endTimeUnixNano: Int64?, spans: MatchedSpans?) {
        self.traceID = traceID
        self.rootServiceName = rootServiceName
        self.rootSpanName = rootSpanName
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.spans = spans
    }
}

/// The first matching spans of a trace, in start order, and how many matched in all.
public struct MatchedSpans: Sendable, Equatable {
    public var spans: [MatchedSpan]
    public var matched: Int64

    public init(spans: [MatchedSpan], matched: Int64) {
        self.spans = spans
        self.matched = matched
    }
}

/// A span as a search result shows it.
public struct MatchedSpan: Sendable, Equatable {
    public var spanID: String
    public var name: String
    public var serviceName: String?
    public var startTimeUnixNano: Int64?
    public var endTimeUnixNano: Int64?
    public var statusCode: Int64?

    public init(spanID: String, name: String, serviceName: String?, startTimeUnixNano: Int64?, endTimeUnixNano: Int64?,
                statusCode: Int64?) {
        self.spanID = spanID
        self.name = name
        self.serviceName = serviceName
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.statusCode = statusCode
    }
}

/// One value of a field, with its type as Tempo names it.
public struct SpanFieldValue: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case string, int, float, bool
    }

    public var kind: Kind
    /// The value as text (`true`/`false` for booleans, decimal digits for numbers).
    public var text: String

    public init(kind: Kind, text: String) {
        self.kind = kind
        self.text = text
    }
}

/// A stored span with what OTLP export needs: its fields, and its attributes, events, links,
/// resource and scope in the OTLP/JSON the ingest kept.
public struct StoredSpan: Sendable, Equatable {
    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var traceState: String?
    public var flags: Int64
    public var name: String
    public var kind: Int64
    public var startTimeUnixNano: Int64
    public var endTimeUnixNano: Int64
    /// A JSON array of OTLP/JSON `KeyValue`s.
    public var attributes: String
    public var droppedAttributesCount: Int64
    /// A JSON array of OTLP/JSON span events.
    public var events: String
    public var droppedEventsCount: Int64
    /// A JSON array of OTLP/JSON span links.
    public var links: String
    public var droppedLinksCount: Int64
    public var statusCode: Int64
    public var statusMessage: String?
    /// The OTLP/JSON resource object (with its `schemaUrl` when it had one).
    public var resource: String
    /// The OTLP/JSON instrumentation scope object (with its `schemaUrl` when it had one).
    public var scope: String

    public init(traceID: String, spanID: String, parentSpanID: String?, traceState: String?, flags: Int64, name: String,
                kind: Int64, startTimeUnixNano: Int64, endTimeUnixNano: Int64, attributes: String, droppedAttributesCount: Int64,
                events: String, droppedEventsCount: Int64, links: String, droppedLinksCount: Int64, statusCode: Int64,
                statusMessage: String?, resource: String, scope: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.traceState = traceState
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
        self.statusCode = statusCode
        self.statusMessage = statusMessage
        self.resource = resource
        self.scope = scope
    }
}

/// The traces spanset operators look at: starting within `start...end` (nanoseconds, either
/// side open) with spans that `required` asks for.
public struct TraceCandidates: Sendable, Equatable {
    public var start: Int64?
    public var end: Int64?
    public var minDuration: Int64?
    public var maxDuration: Int64?
    public var required: TraceRequirement

    public init(start: Int64? = nil, end: Int64? = nil, minDuration: Int64? = nil, maxDuration: Int64? = nil, required: TraceRequirement) {
        self.start = start
        self.end = end
        self.minDuration = minDuration
        self.maxDuration = maxDuration
        self.required = required
    }
}

/// What a trace must hold: a span matching a condition, both, either, or nothing in particular.
public indirect enum TraceRequirement: Sendable, Equatable {
    case anything
    case span(SpanCondition)
    case both(TraceRequirement, TraceRequirement)
    case either(TraceRequirement, TraceRequirement)
}

/// What `spanTable` reads besides each span's own fields.
public struct SpanTableRequest: Sendable, Equatable {
    public var conditions: [SpanCondition]
    public var fields: [SpanField]

    public init(conditions: [SpanCondition], fields: [SpanField]) {
        self.conditions = conditions
        self.fields = fields
    }
}

/// One span as spanset operators and pipelines need it.
public struct SpanTableRow: Sendable, Equatable {
    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var name: String
    public var serviceName: String?
    public var startTimeUnixNano: Int64
    public var endTimeUnixNano: Int64
    public var statusCode: Int64
    public var kind: Int64
    /// The trace's root span name and service, its start and end.
    public var rootSpanName: String?
    public var rootServiceName: String?
    public var traceStartUnixNano: Int64?
    public var traceEndUnixNano: Int64?
    /// Whether each of the request's conditions matches, in its order.
    public var matches: [Bool]
    /// Each of the request's fields, in its order; nil where absent.
    public var values: [SpanFieldValue?]

    public init(traceID: String, spanID: String, parentSpanID: String?, name: String, serviceName: String?, startTimeUnixNano: Int64,
                endTimeUnixNano: Int64, statusCode: Int64, kind: Int64, rootSpanName: String?, rootServiceName: String?,
                traceStartUnixNano: Int64?, traceEndUnixNano: Int64?, matches: [Bool], values: [SpanFieldValue?]) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.serviceName = serviceName
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.statusCode = statusCode
        self.kind = kind
        self.rootSpanName = rootSpanName
        self.rootServiceName = rootServiceName
        self.traceStartUnixNano = traceStartUnixNano
        self.traceEndUnixNano = traceEndUnixNano
        self.matches = matches
        self.values = values
    }
}

/// Span counts per step: spans `condition` matches (all when nil) starting within
/// `start..<end` (nanoseconds), in steps of `step` from `start`, grouped by the values of
/// `groupBy`; with the sum, least and greatest of `value` when given, and counted per
/// power-of-two bucket of it when `buckets` (the least power of two at or above the value).
public struct SpanMetricsRequest: Sendable, Equatable {
    public var condition: SpanCondition?
    public var start: Int64
    public var end: Int64
    public var step: Int64
    public var groupBy: [SpanField]
    public var value: SpanField?
    public var buckets: Bool

    public init(condition: SpanCondition?, start: Int64, end: Int64, step: Int64, groupBy: [SpanField], value: SpanField?, buckets: Bool) {
        self.condition = condition
        self.start = start
        self.end = end
        self.step = step
        self.groupBy = groupBy
        self.value = value
        self.buckets = buckets
    }
}

/// One step of one group (and bucket) of `spanMetrics`.
public struct SpanMetricsRow: Sendable, Equatable {
    /// The step's index from the request's start.
    public var step: Int64
    /// The values of the request's `groupBy`, in its order; nil where absent.
    public var group: [SpanFieldValue?]
    /// The power-of-two upper bound of the value's bucket, when the request asked for buckets.
    public var bucket: Double?
    public var count: Int64
    /// Over the spans with a numeric value of the request's `value`; nil when none had one.
    public var sum: Double?
    public var min: Double?
    public var max: Double?
    /// How many spans had a numeric value.
    public var valued: Int64
    /// The latest span of the step and group: its trace and start (an exemplar).
    public var exemplarTraceID: String?
    public var exemplarUnixNano: Int64?

    public init(step: Int64, group: [SpanFieldValue?], bucket: Double?, count: Int64, sum: Double?, min: Double?, max: Double?,
                valued: Int64, exemplarTraceID: String?, exemplarUnixNano: Int64?) {
        self.step = step
        self.group = group
        self.bucket = bucket
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
        self.valued = valued
        self.exemplarTraceID = exemplarTraceID
        self.exemplarUnixNano = exemplarUnixNano
    }
}

extension UnsupportedQueries: TempoQueries {
    public func candidateTraces(_ candidates: TraceCandidates, limit: Int) async throws(StoreError) -> [String] { throw Self.error }
    public func spanTable(traceIDs: [String], _ request: SpanTableRequest, maxSpans: Int) async throws(StoreError) -> [SpanTableRow] {
        throw Self.error
    }
    public func spanMetrics(_ request: SpanMetricsRequest, maxRows: Int) async throws(StoreError) -> [SpanMetricsRow] { throw Self.error }
    public func search(_ search: TraceSearch) async throws(StoreError) -> [FoundTrace] { throw Self.error }
    public func attributeNames(_ scope: SpanAttributeScope, in sample: SpanSample, limit: Int) async throws(StoreError) -> [String] {
        throw Self.error
    }
    public func values(of field: SpanField, where condition: SpanCondition?, in sample: SpanSample, limit: Int) async throws(StoreError) -> [SpanFieldValue] {
        throw Self.error
    }
    public func spans(ofTrace traceID: String) async throws(StoreError) -> [StoredSpan] { throw Self.error }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var tempoQueries: any TempoQueries { SQLTempoQueries(reader: DialectReader(dialect: .sqlite) { try await self.read($0) }) }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var tempoQueries: any TempoQueries { SQLTempoQueries(reader: DialectReader(dialect: .postgres) { try await self.replicaRead($0) }) }
}
