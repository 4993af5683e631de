// The log rows the query API and the live log stream answer with. Each property is read from
// the column its coding key names and is written under that name in answers, in declaration
// order; times are the stores' ISO 8601 text (`Timestamp`), JSON columns `JSONText`.

/// A record as `GET /logs` lists it and the live log stream sends it.
public struct LogListItem: Sendable, Equatable, Codable, StoredRecord {
    public var id: String
    public var timestamp: String
    public var level: String
    public var loggerName: String
    public var message: String
    public var traceID: String?
    public var spanID: String?
    public var userEmail: String?
    public var department: String?
    public var sessionID: String?
    public var endpoint: String?
    public var extra: JSONText?
    public var exceptionType: String?
    public var exceptionMessage: String?
    public var serviceName: String?
    public var severityNumber: Int64
    public var severityText: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, timestamp, level, loggerName = "logger_name", message, traceID = "trace_id", spanID = "span_id"
        case userEmail = "user_email", department, sessionID = "session_id", endpoint, extra, exceptionType = "exception_type"
        case exceptionMessage = "exception_message", serviceName = "service_name", severityNumber = "severity_number"
        case severityText = "severity_text"
    }

    /// The select list over `enterprise.structured_logs l` (PostgreSQL's uuid as text).
    static func selectList(_ dialect: SQLDialect) -> String {
        selectList(alias: "l", replacing: dialect == .postgres ? ["id": "l.id::text AS id"] : [:])
    }
}

/// Every column of a stored record (not PostgreSQL's search vector, migration 015, which is
/// the message again).
public struct StoredLogRecord: Sendable, Equatable, Codable, StoredRecord {
    public var id: String
    public var timestamp: String
    public var level: String
    public var loggerName: String
    public var message: String
    public var traceID: String?
    public var spanID: String?
    public var userEmail: String?
    public var department: String?
    public var sessionID: String?
    public var endpoint: String?
    public var extra: JSONText?
    public var exceptionType: String?
    public var exceptionMessage: String?
    public var exceptionTraceback: String?
    public var timeUnixNano: Int64?
    public var observedTimeUnixNano: Int64?
    public var observedTimestamp: String?
    public var severityNumber: Int64
    public var severityText: String?
    public var body: JSONText?
    public var attributes: JSONText
    public var resource: JSONText
    public var scope: JSONText
    public var flags: Int64
    public var eventName: String?
    public var droppedAttributesCount: Int64
    public var serviceName: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, timestamp, level, loggerName = "logger_name", message, traceID = "trace_id", spanID = "span_id"
        case userEmail = "user_email", department, sessionID = "session_id", endpoint, extra, exceptionType = "exception_type"
        case exceptionMessage = "exception_message", exceptionTraceback = "exception_traceback", timeUnixNano = "time_unix_nano"
        case observedTimeUnixNano = "observed_time_unix_nano", observedTimestamp = "observed_timestamp"
        case severityNumber = "severity_number", severityText = "severity_text", body, attributes, resource, scope, flags
        case eventName = "event_name", droppedAttributesCount = "dropped_attributes_count", serviceName = "service_name"
    }
}
