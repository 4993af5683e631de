import SQLiteNIO
import VaporCSQLite

extension SQLiteStatements {
    static let serviceEdgeMinuteColumns = [
        "minute", "client_service", "server_service", "bucket", "calls", "errors", "total_ms", "max_ms",
    ]

    /// Adds calls to their minutes' edge rows (`ServiceEdgeMinute`).
    static let upsertServiceEdgeMinute = """
        INSERT INTO enterprise.service_edge_minutes (\(serviceEdgeMinuteColumns.joined(separator: ", ")))
        VALUES \(values(columns: serviceEdgeMinuteColumns.count, rows: 1))
        ON CONFLICT(minute, client_service, server_service, bucket) DO UPDATE SET
            calls = calls + excluded.calls, errors = errors + excluded.errors,
            total_ms = total_ms + excluded.total_ms, max_ms = max(max_ms, excluded.max_ms)
        """

    /// The spans of one trace as the edge rollups pair them (`ServiceCallSpan`), by the
    /// `(trace_id, span_id)` index.
    static let traceCallSpans = """
        SELECT span_id, parent_span_id, service_name, status, start_time, duration_ms
        FROM enterprise.trace_spans WHERE trace_id = ?
        """

    /// 1 when a trace's row is stored (`TraceEdgeReads`).
    static let traceStored = "SELECT 1 FROM enterprise.traces WHERE trace_id = ?"
}

extension SQLiteWriteConnection.Session {
    /// The traces of `traces` without a stored row: those the commit about to merge them inserts.
    func unstoredTraces(_ traces: [TraceRow]) throws -> Set<String> {
        var unstored = Set<String>()
        for trace in traces where try integer(SQLiteStatements.traceStored, [SQLiteData(trace.traceID)]) == nil {
            unstored.insert(trace.traceID)
        }
        return unstored
    }

    /// The stored spans of `traceIDs` (those of the current transaction included).
    func callSpans(ofTraces traceIDs: [String]) throws -> [ServiceCallSpan] {
        var spans: [ServiceCallSpan] = []
        func text(_ statement: OpaquePointer, _ column: Int32) -> String? {
            sqlite_nio_sqlite3_column_text(statement, column).map { String(cString: $0) }
        }
        for traceID in traceIDs {
            try each(SQLiteStatements.traceCallSpans, [SQLiteData(traceID)]) { statement in
                let start = text(statement, 4).flatMap(Timestamp.date)?.unixNano ?? 0
                spans.append(ServiceCallSpan(
                    traceID: traceID, spanID: text(statement, 0) ?? "", parentSpanID: text(statement, 1),
                    service: text(statement, 2) ?? "", failed: text(statement, 3) == "error", startUnixNano: start,
                    durationMs: sqlite_nio_sqlite3_column_double(statement, 5)))
            }
        }
        return spans
    }
}

extension ServiceEdgeMinute {
    var sqliteBinds: [SQLiteData] {
        [SQLiteData(Timestamp.iso8601(unixNano: minuteUnixNano)), SQLiteData(client), SQLiteData(server), .integer(bucket),
         .integer(Int(calls)), .integer(Int(errors)), .float(totalMs), .float(maxMs)]
    }
}
