/// `ErrorQueries` on either store: they differ in how a span's `exception` event is read from
/// its JSON events. Error records are found through `idx_logs_errors_time`, failed spans
/// through `idx_spans_errors_time` (migration 014).
struct SQLErrorQueries: ErrorQueries {
    let reads: StoreReads

    /// Error log records: level ERROR or CRITICAL, or any record carrying an exception.
    static let errorLogFilter = "(level IN ('ERROR', 'CRITICAL') OR exception_type IS NOT NULL)"
    static let logType = "COALESCE(exception_type, level)"
    static let logMessage = "COALESCE(exception_message, message)"

    /// The exception type / message of a failed span: its `exception` event's attributes.
    func spanException(_ attribute: String) -> String {
        switch reads.dialect {
        case .postgres:
            "(SELECT e->'attributes'->>'\(attribute)' FROM jsonb_array_elements(s.logs) e WHERE e->>'name' = 'exception' LIMIT 1)"
        case .sqlite:
            """
            (SELECT json_extract(e.value, '$.attributes."\(attribute)"') FROM json_each(s.logs) e \
            WHERE json_extract(e.value, '$.name') = 'exception' LIMIT 1)
            """
        }
    }

    var spanType: String { "COALESCE(\(spanException("exception.type")), 'SpanError')" }
    var spanMessage: String { "COALESCE(\(spanException("exception.message")), s.error_message, s.operation_name)" }

    func errorTallies(_ source: ErrorSource, since: Int64, limit: Int) async throws(StoreError) -> [ErrorTally] {
        var sql = SQLBuilder(reads.dialect)
        let window = sql.bindTime(unixNano: since)
        let text = switch source {
        case .logs:
            """
            SELECT \(Self.logType) AS type, \(Self.logMessage) AS message, COALESCE(service_name, '') AS service,
                   count(*) AS count, min(timestamp) AS first_seen, max(timestamp) AS last_seen, max(trace_id) AS trace_id
            FROM enterprise.structured_logs
            WHERE timestamp > \(window) AND \(Self.errorLogFilter)
            GROUP BY 1, 2, 3 ORDER BY count DESC LIMIT \(limit)
            """
        case .spans:
            """
            SELECT type, message, service, count(*) AS count, min(start_time) AS first_seen, max(start_time) AS last_seen,
                   max(trace_id) AS trace_id
            FROM (SELECT \(spanType) AS type, \(spanMessage) AS message,
                         COALESCE(s.service_name, '') AS service, s.start_time, s.trace_id
                  FROM enterprise.trace_spans s WHERE s.start_time > \(window) AND s.status = 'error') failed
            GROUP BY type, message, service ORDER BY count DESC LIMIT \(limit)
            """
        }
        var tallies: [ErrorTally] = []
        // Read leniently: an `exception.type` that is not text (a number in a span's event)
        // reads as empty on SQLite, as it always has.
        for row in try await reads.rows(sql.query(text)) {
            tallies.append(ErrorTally(
                key: ErrorKey(type: try row.text("type") ?? "", message: try row.text("message") ?? "", service: try row.text("service") ?? ""),
                count: try row.int("count") ?? 0, firstSeen: try row.text("first_seen") ?? "", lastSeen: try row.text("last_seen") ?? "",
                traceID: try row.text("trace_id")))
        }
        return tallies
    }

    func logErrors(_ key: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [LogErrorOccurrence] {
        var sql = SQLBuilder(reads.dialect)
        let window = sql.bindTime(unixNano: since)
        let columns = LogErrorOccurrence.selectList(replacing: reads.dialect == .postgres ? ["id": "id::text AS id"] : [:])
        let text = """
            SELECT \(columns)
            FROM enterprise.structured_logs
            WHERE timestamp > \(window) AND \(Self.errorLogFilter)
              AND \(Self.logType) = \(sql.bind(key.type)) AND \(Self.logMessage) = \(sql.bind(key.message))
              AND COALESCE(service_name, '') = \(sql.bind(key.service))
            ORDER BY timestamp DESC LIMIT \(sql.bind(Int64(limit)))
            """
        return try await reads.records(LogErrorOccurrence.self, sql.query(text))
    }

    func spanErrors(_ key: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [SpanErrorOccurrence] {
        var sql = SQLBuilder(reads.dialect)
        let window = sql.bindTime(unixNano: since)
        let text = """
            SELECT \(SpanErrorOccurrence.selectList(alias: "s", replacing: ["timestamp": "s.start_time AS timestamp"]))
            FROM enterprise.trace_spans s
            WHERE s.start_time > \(window) AND s.status = 'error'
              AND \(spanType) = \(sql.bind(key.type)) AND \(spanMessage) = \(sql.bind(key.message))
              AND COALESCE(s.service_name, '') = \(sql.bind(key.service))
            ORDER BY s.start_time DESC LIMIT \(sql.bind(Int64(limit)))
            """
        return try await reads.records(SpanErrorOccurrence.self, sql.query(text))
    }
}
