import Foundation
import SQLiteNIO

/// The SQL text of the write path, and how rows bind to it.
enum SQLiteStatements {
    // `id` first: the original schema's primary keys, given in time order (`TimeOrderedID`).
    static let traceColumns = [
        "id", "trace_id", "entry_point", "endpoint", "method", "session_id", "user_email", "department",
        "start_time", "end_time", "duration_ms", "status", "error_message", "tags",
        "start_time_unix_nano", "end_time_unix_nano", "service_name", "root_span_name",
        "context_from_root", "context_start_unix_nano", "updated_at",
    ]

    static let spanColumns = [
        "id", "trace_id", "span_id", "parent_span_id", "operation_name", "service_name", "start_time", "end_time",
        "duration_ms", "status", "error_message", "tags", "logs", "span_kind", "trace_state", "flags",
        "status_code", "start_time_unix_nano", "end_time_unix_nano", "attributes", "events", "links",
        "resource_id", "scope_id", "dropped_attributes_count", "dropped_events_count", "dropped_links_count",
    ]

    static let logColumns = [
        "id", "timestamp", "level", "logger_name", "message", "trace_id", "span_id", "user_email", "department",
        "session_id", "endpoint", "extra", "exception_type", "exception_message", "exception_traceback",
        "time_unix_nano", "observed_time_unix_nano", "observed_timestamp", "severity_number", "severity_text",
        "body", "attributes", "resource_id", "scope_id", "flags", "event_name", "dropped_attributes_count", "service_name",
    ]

    static func values(columns: Int, rows: Int) -> String {
        let tuple = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
        return Array(repeating: tuple, count: rows).joined(separator: ",")
    }

    /// Whether the incoming row's request context replaces the stored one (see `TraceContext.outranks`).
    private static let incomingContextWins = """
        (excluded.context_from_root > context_from_root OR \
        (excluded.context_from_root = context_from_root AND excluded.context_start_unix_nano < context_start_unix_nano))
        """

    static func upsertTraces(count: Int) -> String {
        let contextColumns = ["entry_point", "endpoint", "method", "session_id", "user_email", "department", "tags",
                              "service_name", "root_span_name", "context_from_root", "context_start_unix_nano"]
        let contextUpdates = contextColumns.map {
            "\($0) = CASE WHEN \(incomingContextWins) THEN excluded.\($0) ELSE \($0) END"
        }
        return """
            INSERT INTO enterprise.traces (\(traceColumns.joined(separator: ", ")))
            VALUES \(values(columns: traceColumns.count, rows: count))
            ON CONFLICT(trace_id) DO UPDATE SET
                start_time = CASE WHEN excluded.start_time_unix_nano < start_time_unix_nano THEN excluded.start_time ELSE start_time END,
                end_time = CASE WHEN excluded.end_time_unix_nano > end_time_unix_nano THEN excluded.end_time ELSE end_time END,
                start_time_unix_nano = min(start_time_unix_nano, excluded.start_time_unix_nano),
                end_time_unix_nano = max(end_time_unix_nano, excluded.end_time_unix_nano),
                duration_ms = (max(end_time_unix_nano, excluded.end_time_unix_nano) - min(start_time_unix_nano, excluded.start_time_unix_nano)) / 1000000.0,
                status = CASE WHEN status = 'error' OR excluded.status = 'error' THEN 'error' ELSE excluded.status END,
                error_message = coalesce(error_message, excluded.error_message),
                updated_at = excluded.updated_at,
                \(contextUpdates.joined(separator: ",\n    "))
            """
    }

    /// One span; it changes no row when `(trace_id, span_id)` is already stored.
    static let insertSpan = """
        INSERT INTO enterprise.trace_spans (\(spanColumns.joined(separator: ", ")))
        VALUES \(values(columns: spanColumns.count, rows: 1))
        ON CONFLICT(trace_id, span_id) DO NOTHING
        """

    /// A resource (scope), unless stored already; then its id by `resourceID` (`scopeID`).
    static let insertResource = "INSERT INTO enterprise.resources (resource) VALUES (?) ON CONFLICT(resource) DO NOTHING"
    static let resourceID = "SELECT id FROM enterprise.resources WHERE resource = ?"
    static let insertScope = "INSERT INTO enterprise.scopes (scope) VALUES (?) ON CONFLICT(scope) DO NOTHING"
    static let scopeID = "SELECT id FROM enterprise.scopes WHERE scope = ?"

    static let upsertTrace = upsertTraces(count: 1)
    static let insertLog = insertLogs(count: 1)

    static func insertLogs(count: Int) -> String {
        """
        INSERT INTO enterprise.structured_logs (\(logColumns.joined(separator: ", ")))
        VALUES \(values(columns: logColumns.count, rows: count))
        """
    }
}

extension SQLiteData {
    init(_ text: String) { self = .text(StoreText.safe(text)) }
    init(_ text: String?) { self = text.map { .text(StoreText.safe($0)) } ?? .null }
    init(_ number: Int64) { self = .integer(Int(number)) }
}

extension TraceRow {
    var sqliteBinds: [SQLiteData] {
        [
            .text(TimeOrderedID.next()), SQLiteData(traceID), SQLiteData(context.entryPoint), SQLiteData(context.endpoint), SQLiteData(context.method),
            SQLiteData(context.sessionID), SQLiteData(context.userEmail), SQLiteData(context.department),
            SQLiteData(Timestamp.iso8601(unixNano: startTimeUnixNano)), SQLiteData(Timestamp.iso8601(unixNano: endTimeUnixNano)),
            .float(durationMs), SQLiteData(status), SQLiteData(errorMessage), SQLiteData(context.tags),
            SQLiteData(startTimeUnixNano), SQLiteData(endTimeUnixNano), SQLiteData(context.serviceName),
            SQLiteData(context.rootSpanName), .integer(context.fromRoot ? 1 : 0), SQLiteData(context.sourceStartUnixNano),
            SQLiteData(Timestamp.iso8601(unixNano: Int64(Date.now.timeIntervalSince1970 * 1e9))),
        ]
    }
}

extension SpanRow {
    func sqliteBinds(resourceID: Int64, scopeID: Int64) -> [SQLiteData] {
        [
            .text(TimeOrderedID.next()), SQLiteData(traceID), SQLiteData(spanID), SQLiteData(parentSpanID), SQLiteData(operationName), SQLiteData(serviceName),
            SQLiteData(Timestamp.iso8601(unixNano: startTimeUnixNano)), SQLiteData(Timestamp.iso8601(unixNano: endTimeUnixNano)),
            .float(durationMs), SQLiteData(status), SQLiteData(errorMessage), SQLiteData(tags), SQLiteData(logs),
            .integer(Int(kind)), SQLiteData(traceState), SQLiteData(flags), .integer(Int(statusCode)),
            SQLiteData(startTimeUnixNano), SQLiteData(endTimeUnixNano), SQLiteData(storedAttributes(.sqlite)), SQLiteData(events),
            SQLiteData(links), SQLiteData(resourceID), SQLiteData(scopeID), SQLiteData(droppedAttributesCount),
            SQLiteData(droppedEventsCount), SQLiteData(droppedLinksCount),
        ]
    }
}

extension LogRow {
    func sqliteBinds(resourceID: Int64, scopeID: Int64) -> [SQLiteData] {
        [
            .text(TimeOrderedID.next()), SQLiteData(Timestamp.iso8601(unixNano: timestampUnixNano)), SQLiteData(level), SQLiteData(loggerName), SQLiteData(message),
            SQLiteData(traceID), SQLiteData(spanID), SQLiteData(userEmail), SQLiteData(department),
            SQLiteData(sessionID), SQLiteData(endpoint), SQLiteData(extra), SQLiteData(exceptionType),
            SQLiteData(exceptionMessage), SQLiteData(exceptionTraceback), SQLiteData(timeUnixNano),
            SQLiteData(observedTimeUnixNano),
            observedTimeUnixNano == 0 ? .null : SQLiteData(Timestamp.iso8601(unixNano: observedTimeUnixNano)),
            .integer(Int(severityNumber)), SQLiteData(severityText), SQLiteData(body), SQLiteData(storedAttributes(.sqlite)),
            SQLiteData(resourceID), SQLiteData(scopeID), SQLiteData(flags), SQLiteData(eventName),
            SQLiteData(droppedAttributesCount), SQLiteData(serviceName),
        ]
    }
}

extension SQLiteStatements {
    static let operationMinuteColumns = ["minute", "service_name", "operation_name", "calls", "total_ms", "max_ms"]

    static let upsertOperationMinute = upsertOperationMinutes(count: 1)

    /// Adds spans to their minutes' rows (`SpanOperationMinute`).
    static func upsertOperationMinutes(count: Int) -> String {
        """
        INSERT INTO enterprise.span_operation_minutes (\(operationMinuteColumns.joined(separator: ", ")))
        VALUES \(values(columns: operationMinuteColumns.count, rows: count))
        ON CONFLICT(minute, service_name, operation_name) DO UPDATE SET
            calls = calls + excluded.calls, total_ms = total_ms + excluded.total_ms, max_ms = max(max_ms, excluded.max_ms)
        """
    }
}

extension SpanOperationMinute {
    var sqliteBinds: [SQLiteData] {
        [SQLiteData(Timestamp.iso8601(unixNano: minuteUnixNano)), SQLiteData(serviceName), SQLiteData(operationName),
         .integer(Int(calls)), .float(totalMs), .float(maxMs)]
    }
}

extension SQLiteStatements {
    static let upsertLevelMinute = upsertLevelMinutes(count: 1)

    /// Adds records to their minutes' level counts (`LogLevelMinute`).
    static func upsertLevelMinutes(count: Int) -> String {
        """
        INSERT INTO enterprise.log_level_minutes (minute, service_name, level, count)
        VALUES \(values(columns: 4, rows: count))
        ON CONFLICT(minute, service_name, level) DO UPDATE SET count = count + excluded.count
        """
    }
}

extension LogLevelMinute {
    var sqliteBinds: [SQLiteData] {
        [SQLiteData(Timestamp.iso8601(unixNano: minuteUnixNano)), SQLiteData(serviceName), SQLiteData(level), .integer(Int(count))]
    }
}
