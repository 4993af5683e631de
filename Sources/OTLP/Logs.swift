/// `ExportLogsServiceRequest` (and `LogsData`, which has the same shape).
public struct ExportLogsServiceRequest: Sendable, Hashable {
    public var resourceLogs: [ResourceLogs]

    public init(resourceLogs: [ResourceLogs] = []) { self.resourceLogs = resourceLogs }

    /// The number of log records in the request.
    public var logRecordCount: Int {
        resourceLogs.reduce(0) { $0 + $1.scopeLogs.reduce(0) { $0 + $1.logRecords.count } }
    }
}

public struct ResourceLogs: Sendable, Hashable {
    public var resource: Resource
    public var scopeLogs: [ScopeLogs]
    public var schemaUrl: String

    public init(resource: Resource = .init(), scopeLogs: [ScopeLogs] = [], schemaUrl: String = "") {
        self.resource = resource
        self.scopeLogs = scopeLogs
        self.schemaUrl = schemaUrl
    }
}

public struct ScopeLogs: Sendable, Hashable {
    public var scope: InstrumentationScope
    public var logRecords: [LogRecord]
    public var schemaUrl: String

    public init(scope: InstrumentationScope = .init(), logRecords: [LogRecord] = [], schemaUrl: String = "") {
        self.scope = scope
        self.logRecords = logRecords
        self.schemaUrl = schemaUrl
    }
}

/// `opentelemetry.proto.logs.v1.LogRecord`.
public struct LogRecord: Sendable, Hashable {
    public var timeUnixNano: UInt64
    public var observedTimeUnixNano: UInt64
    public var severityNumber: SeverityNumber
    public var severityText: String
    /// `nil` when the record has no body.
    public var body: AnyValue?
    public var attributes: [KeyValue]
    public var droppedAttributesCount: UInt32
    public var flags: UInt32
    /// `nil` when absent (empty on the wire).
    public var traceId: TraceID?
    /// `nil` when absent (empty on the wire).
    public var spanId: SpanID?
    public var eventName: String

    public init(
        timeUnixNano: UInt64 = 0, observedTimeUnixNano: UInt64 = 0, severityNumber: SeverityNumber = .unspecified,
        severityText: String = "", body: AnyValue? = nil, attributes: [KeyValue] = [],
        droppedAttributesCount: UInt32 = 0, flags: UInt32 = 0, traceId: TraceID? = nil, spanId: SpanID? = nil,
        eventName: String = ""
    ) {
        self.timeUnixNano = timeUnixNano
        self.observedTimeUnixNano = observedTimeUnixNano
        self.severityNumber = severityNumber
        self.severityText = severityText
        self.body = body
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.flags = flags
        self.traceId = traceId
        self.spanId = spanId
        self.eventName = eventName
    }
}

/// `SeverityNumber` (0–24).
public struct SeverityNumber: RawRepresentable, Sendable, Hashable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unspecified = SeverityNumber(rawValue: 0)

    static let names: [String] = ["SEVERITY_NUMBER_UNSPECIFIED"] + ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
        .flatMap { level in ["", "2", "3", "4"].map { "SEVERITY_NUMBER_\(level)\($0)" } }
}
