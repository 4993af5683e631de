// One occurrence of an error, as `GET /errors/{group}/occurrences` answers it. Each property is
// read from the column its coding key names and is written under that name, in declaration
// order; times are the stores' ISO 8601 text.

/// An error log record.
public struct LogErrorOccurrence: Sendable, Equatable, Codable, StoredRecord {
    public var id: String
    public var timestamp: String
    public var level: String
    public var message: String
    public var traceID: String?
    public var spanID: String?
    public var serviceName: String?
    public var exceptionType: String?
    public var exceptionMessage: String?
    public var exceptionTraceback: String?
    public var loggerName: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, timestamp, level, message, traceID = "trace_id", spanID = "span_id", serviceName = "service_name"
        case exceptionType = "exception_type", exceptionMessage = "exception_message"
        case exceptionTraceback = "exception_traceback", loggerName = "logger_name"
    }
}

/// A failed span; `timestamp` is its start.
public struct SpanErrorOccurrence: Sendable, Equatable, Codable, StoredRecord {
    public var spanID: String
    public var timestamp: String
    public var traceID: String
    public var operationName: String
    public var serviceName: String?
    public var errorMessage: String?
    public var durationMs: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case spanID = "span_id", timestamp, traceID = "trace_id", operationName = "operation_name"
        case serviceName = "service_name", errorMessage = "error_message", durationMs = "duration_ms"
    }
}
