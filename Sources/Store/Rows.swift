/// One row of `enterprise.trace_spans`.
public struct SpanRow: Sendable, Hashable {
    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var operationName: String
    public var serviceName: String
    public var startTimeUnixNano: Int64
    public var endTimeUnixNano: Int64
    /// `error` or `completed`.
    public var status: String
    public var errorMessage: String?
    /// Span attributes as one flat JSON object.
    public var tags: String
    /// Span events as `[{timestamp, name, attributes}]`.
    public var logs: String
    public var kind: Int32
    public var traceState: String?
    public var flags: Int64
    public var statusCode: Int32
    /// The typed OTLP/JSON forms.
    public var attributes: String
    public var events: String
    public var links: String
    public var resource: String
    public var scope: String
    public var droppedAttributesCount: Int64
    public var droppedEventsCount: Int64
    public var droppedLinksCount: Int64
    /// How `attributes` follow from `tags`, when they do: the store then keeps only `tags`
    /// (`AttributesInTags`). nil keeps `attributes` as they are.
    public var attributesInTags: AttributesInTags?
    /// How `events` follow from `logs`, when they do: PostgreSQL then keeps only `logs`
    /// (`EventsInLogs`). nil keeps `events` as they are.
    public var eventsInLogs: EventsInLogs?

    public init(
        traceID: String, spanID: String, parentSpanID: String?, operationName: String, serviceName: String,
        startTimeUnixNano: Int64, endTimeUnixNano: Int64, status: String, errorMessage: String?,
        tags: String, logs: String, kind: Int32, traceState: String?, flags: Int64, statusCode: Int32,
        attributes: String, events: String, links: String, resource: String, scope: String,
        droppedAttributesCount: Int64, droppedEventsCount: Int64, droppedLinksCount: Int64,
        attributesInTags: AttributesInTags? = nil, eventsInLogs: EventsInLogs? = nil
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.operationName = operationName
        self.serviceName = serviceName
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.status = status
        self.errorMessage = errorMessage
        self.tags = tags
        self.logs = logs
        self.kind = kind
        self.traceState = traceState
        self.flags = flags
        self.statusCode = statusCode
        self.attributes = attributes
        self.events = events
        self.links = links
        self.resource = resource
        self.scope = scope
        self.droppedAttributesCount = droppedAttributesCount
        self.droppedEventsCount = droppedEventsCount
        self.droppedLinksCount = droppedLinksCount
        self.attributesInTags = attributesInTags
        self.eventsInLogs = eventsInLogs
    }

    public var durationMs: Double { Double(endTimeUnixNano - startTimeUnixNano) / 1_000_000 }
}

/// One row of `enterprise.traces`, as known from the spans of one batch. Rows for the same
/// trace are merged (here and by the store's upsert) whatever order their spans arrive in.
public struct TraceRow: Sendable, Hashable {
    public var traceID: String
    public var startTimeUnixNano: Int64
    public var endTimeUnixNano: Int64
    /// `error` if any span errored, else `completed`.
    public var status: String
    /// The status message of the first error span seen.
    public var errorMessage: String?
    /// Request context, taken from the root span when it has arrived, else the earliest span.
    public var context: TraceContext

    public init(traceID: String, startTimeUnixNano: Int64, endTimeUnixNano: Int64, status: String,
                errorMessage: String?, context: TraceContext) {
        self.traceID = traceID
        self.startTimeUnixNano = startTimeUnixNano
        self.endTimeUnixNano = endTimeUnixNano
        self.status = status
        self.errorMessage = errorMessage
        self.context = context
    }

    public var durationMs: Double { Double(endTimeUnixNano - startTimeUnixNano) / 1_000_000 }

    /// Combines what two batches know about the same trace.
    public func merged(with other: TraceRow) -> TraceRow {
        var result = self
        result.startTimeUnixNano = min(startTimeUnixNano, other.startTimeUnixNano)
        result.endTimeUnixNano = max(endTimeUnixNano, other.endTimeUnixNano)
        if other.status == "error" { result.status = "error" }
        result.errorMessage = errorMessage ?? other.errorMessage
        if other.context.outranks(context) { result.context = other.context }
        return result
    }

    /// Merges rows of the same trace, keeping first-seen order.
    public static func merging(_ rows: [TraceRow]) -> [TraceRow] {
        var index: [String: Int] = [:]
        var merged: [TraceRow] = []
        merged.reserveCapacity(rows.count)
        for row in rows {
            if let position = index[row.traceID] {
                merged[position] = merged[position].merged(with: row)
            } else {
                index[row.traceID] = merged.count
                merged.append(row)
            }
        }
        return merged
    }
}

/// The seed's "request context" of a trace and the span it came from.
public struct TraceContext: Sendable, Hashable {
    /// Whether the source span is the root (has no parent).
    public var fromRoot: Bool
    /// Start time of the source span; among non-root spans the earliest wins.
    public var sourceStartUnixNano: Int64
    public var entryPoint: String
    public var endpoint: String?
    public var method: String?
    public var sessionID: String?
    public var userEmail: String?
    public var department: String?
    public var serviceName: String
    public var rootSpanName: String
    /// The source span's attributes as a flat JSON object.
    public var tags: String

    public init(fromRoot: Bool, sourceStartUnixNano: Int64, entryPoint: String, endpoint: String?, method: String?,
                sessionID: String?, userEmail: String?, department: String?, serviceName: String,
                rootSpanName: String, tags: String) {
        self.fromRoot = fromRoot
        self.sourceStartUnixNano = sourceStartUnixNano
        self.entryPoint = entryPoint
        self.endpoint = endpoint
        self.method = method
        self.sessionID = sessionID
        self.userEmail = userEmail
        self.department = department
        self.serviceName = serviceName
        self.rootSpanName = rootSpanName
        self.tags = tags
    }

    /// Whether this context should replace `other`: a root span beats any other span,
    /// otherwise the earlier span wins.
    public func outranks(_ other: TraceContext) -> Bool {
        if fromRoot != other.fromRoot { return fromRoot }
        return sourceStartUnixNano < other.sourceStartUnixNano
    }
}

/// One row of `enterprise.structured_logs`.
public struct LogRow: Sendable, Hashable {
    public var timestampUnixNano: Int64
    public var timeUnixNano: Int64
    public var observedTimeUnixNano: Int64
    /// DEBUG, INFO, WARNING, ERROR or CRITICAL.
    public var level: String
    public var loggerName: String
    public var message: String
    public var traceID: String?
    public var spanID: String?
    public var userEmail: String?
    public var department: String?
    public var sessionID: String?
    public var endpoint: String?
    /// The attributes not lifted into columns, as a flat JSON object.
    public var extra: String
    public var exceptionType: String?
    public var exceptionMessage: String?
    public var exceptionTraceback: String?
    public var severityNumber: Int32
    public var severityText: String?
    /// The body in typed OTLP/JSON form; `nil` when the record had none.
    public var body: String?
    public var attributes: String
    public var resource: String
    public var scope: String
    public var flags: Int64
    public var eventName: String?
    public var droppedAttributesCount: Int64
    public var serviceName: String
    /// How `attributes` follow from `extra` and the lifted columns, when they do: the store
    /// then keeps only those (`LogAttributesInExtra`). nil keeps `attributes` as they are.
    public var attributesInExtra: LogAttributesInExtra?

    public init(
        timestampUnixNano: Int64, timeUnixNano: Int64, observedTimeUnixNano: Int64, level: String, loggerName: String,
        message: String, traceID: String?, spanID: String?, userEmail: String?, department: String?, sessionID: String?,
        endpoint: String?, extra: String, exceptionType: String?, exceptionMessage: String?, exceptionTraceback: String?,
        severityNumber: Int32, severityText: String?, body: String?, attributes: String, resource: String, scope: String,
        flags: Int64, eventName: String?, droppedAttributesCount: Int64, serviceName: String,
        attributesInExtra: LogAttributesInExtra? = nil
    ) {
        self.timestampUnixNano = timestampUnixNano
        self.timeUnixNano = timeUnixNano
        self.observedTimeUnixNano = observedTimeUnixNano
        self.level = level
        self.loggerName = loggerName
        self.message = message
        self.traceID = traceID
        self.spanID = spanID
        self.userEmail = userEmail
        self.department = department
        self.sessionID = sessionID
        self.endpoint = endpoint
        self.extra = extra
        self.exceptionType = exceptionType
        self.exceptionMessage = exceptionMessage
        self.exceptionTraceback = exceptionTraceback
        self.severityNumber = severityNumber
        self.severityText = severityText
        self.body = body
        self.attributes = attributes
        self.resource = resource
        self.scope = scope
        self.flags = flags
        self.eventName = eventName
        self.droppedAttributesCount = droppedAttributesCount
        self.serviceName = serviceName
        self.attributesInExtra = attributesInExtra
    }
}

/// Rows to commit together.
public struct WriteBatch: Sendable {
    public var traces: [TraceRow]
    public var spans: [SpanRow]
    public var logs: [LogRow]
    /// One row per GenAI span of `spans`, written in the same transaction.
    public var llmCalls: [LLMCallRow]
    /// Metric series the points belong to (upserted), their data points (a point already
    /// stored is not inserted again), and the host readings derived from them.
    public var metricSeries: [MetricSeriesRow] = []
    public var metricPoints: [MetricPointRow] = []
    public var systemMetrics: [SystemMetricRow] = []

    public init(traces: [TraceRow] = [], spans: [SpanRow] = [], logs: [LogRow] = [], llmCalls: [LLMCallRow] = []) {
        self.traces = traces
        self.spans = spans
        self.logs = logs
        self.llmCalls = llmCalls
    }

    /// Spans, log records and metric data points: what queue bounds count.
    public var itemCount: Int { spans.count + logs.count + metricPoints.count }

    public var isEmpty: Bool { spans.isEmpty && logs.isEmpty && traces.isEmpty && metricPoints.isEmpty && metricSeries.isEmpty && systemMetrics.isEmpty }

    /// One batch holding all of `batches`, with trace rows merged per trace.
    public static func combining(_ batches: [WriteBatch]) -> WriteBatch {
        if batches.count == 1 { return batches[0] }
        var combined = WriteBatch()
        for batch in batches {
            combined.traces += batch.traces
            combined.spans += batch.spans
            combined.logs += batch.logs
            combined.llmCalls += batch.llmCalls
            combined.metricSeries += batch.metricSeries
            combined.metricPoints += batch.metricPoints
            combined.systemMetrics += batch.systemMetrics
        }
        combined.traces = TraceRow.merging(combined.traces)
        return combined
    }
}
