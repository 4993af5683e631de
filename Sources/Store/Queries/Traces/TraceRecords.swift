// The trace rows the query API answers with. Each property is read from the column its coding
// key names and is written under that name in answers, in declaration order; times are the
// stores' ISO 8601 text (`Timestamp`), JSON columns `JSONText`.

/// A trace as `GET /traces` lists it.
public struct TraceListItem: Sendable, Equatable, Codable, StoredRecord {
    public var traceID: String
    public var entryPoint: String
    public var endpoint: String?
    public var method: String?
    public var sessionID: String?
    public var userEmail: String?
    public var department: String?
    public var startTime: String
    public var endTime: String?
    public var durationMs: Double?
    public var status: String?
    public var errorMessage: String?
    public var tags: JSONText?
    public var serviceName: String?
    public var rootSpanName: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case traceID = "trace_id", entryPoint = "entry_point", endpoint, method, sessionID = "session_id"
        case userEmail = "user_email", department, startTime = "start_time", endTime = "end_time"
        case durationMs = "duration_ms", status, errorMessage = "error_message", tags, serviceName = "service_name"
        case rootSpanName = "root_span_name"
    }
}

/// Every column of a stored trace.
public struct TraceRecord: Sendable, Equatable, Codable, StoredRecord {
    public var id: String
    public var traceID: String
    public var entryPoint: String
    public var endpoint: String?
    public var method: String?
    public var sessionID: String?
    public var userEmail: String?
    public var department: String?
    public var startTime: String
    public var endTime: String?
    public var durationMs: Double?
    public var status: String?
    public var errorMessage: String?
    public var tags: JSONText?
    public var createdAt: String?
    public var startTimeUnixNano: Int64?
    public var endTimeUnixNano: Int64?
    public var serviceName: String?
    public var rootSpanName: String?
    /// The request context (user, endpoint, …) came from the root span.
    public var contextFromRoot: Bool
    public var contextStartUnixNano: Int64?
    public var updatedAt: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, traceID = "trace_id", entryPoint = "entry_point", endpoint, method, sessionID = "session_id"
        case userEmail = "user_email", department, startTime = "start_time", endTime = "end_time"
        case durationMs = "duration_ms", status, errorMessage = "error_message", tags, createdAt = "created_at"
        case startTimeUnixNano = "start_time_unix_nano", endTimeUnixNano = "end_time_unix_nano"
        case serviceName = "service_name", rootSpanName = "root_span_name", contextFromRoot = "context_from_root"
        case contextStartUnixNano = "context_start_unix_nano", updatedAt = "updated_at"
    }
}

/// Every column of a stored span.
public struct SpanRecord: Sendable, Equatable, Codable, StoredRecord {
    public var id: String
    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var operationName: String
    public var serviceName: String?
    public var startTime: String
    public var endTime: String?
    public var durationMs: Double?
    public var status: String?
    public var errorMessage: String?
    /// Attributes as one flat object.
    public var tags: JSONText?
    /// Events as `[{timestamp, name, attributes}]`.
    public var logs: JSONText?
    public var spanKind: Int64
    public var traceState: String?
    public var flags: Int64
    public var statusCode: Int64
    public var startTimeUnixNano: Int64?
    public var endTimeUnixNano: Int64?
    /// The OTLP/JSON forms.
    public var attributes: JSONText
    public var events: JSONText
    public var links: JSONText
    public var resource: JSONText
    public var scope: JSONText
    public var droppedAttributesCount: Int64
    public var droppedEventsCount: Int64
    public var droppedLinksCount: Int64

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, traceID = "trace_id", spanID = "span_id", parentSpanID = "parent_span_id", operationName = "operation_name"
        case serviceName = "service_name", startTime = "start_time", endTime = "end_time", durationMs = "duration_ms"
        case status, errorMessage = "error_message", tags, logs, spanKind = "span_kind", traceState = "trace_state", flags
        case statusCode = "status_code", startTimeUnixNano = "start_time_unix_nano", endTimeUnixNano = "end_time_unix_nano"
        case attributes, events, links, resource, scope, droppedAttributesCount = "dropped_attributes_count"
        case droppedEventsCount = "dropped_events_count", droppedLinksCount = "dropped_links_count"
    }
}
