import Store
import StoreTestSupport
import Testing

/// Every query shape of the query API (docs/api.md) has an index behind it (migration 014): SQLite's plan for
/// each reads the index named, never a whole table. The statements have the shapes the query
/// API sends (Sources/QueryAPI).
@Suite struct QueryPlanTests {
    static let since = "'2026-01-01T00:00:00.000000Z'"

    static let shapes: [(name: String, sql: String, index: String)] = [
        ("trace list by service: total", "SELECT count(*) FROM enterprise.traces t WHERE t.start_time > \(since) AND t.service_name = 'shop'",
         "COVERING INDEX idx_traces_service_time_status_duration"),
        ("charts of a service: traces", """
            SELECT CAST((julianday(t.start_time) - 2461000) * 1440 AS INTEGER) AS step, count(*),
                   sum(CASE WHEN t.status = 'error' THEN 1 ELSE 0 END), sightline_percentiles(t.duration_ms, '0.5,0.95,0.99')
            FROM enterprise.traces t WHERE t.start_time > \(since) AND t.service_name = 'shop' GROUP BY 1
            """, "COVERING INDEX idx_traces_service_time_status_duration"),
        ("charts of a service: log levels", """
            SELECT substr(m.minute, 1, 13) AS step, m.level, sum(m.count) FROM enterprise.log_level_minutes m
            WHERE m.minute >= \(since) AND m.service_name = 'shop' GROUP BY 1, 2
            """, "PRIMARY KEY"),
        ("trace list by status: page", """
            SELECT t.trace_id FROM enterprise.traces t WHERE t.start_time > \(since) AND t.status = 'error'
            ORDER BY t.start_time DESC, t.trace_id LIMIT 50
            """, "idx_traces_status_time"),
        ("trace list by user: total", "SELECT count(*) FROM enterprise.traces t WHERE t.start_time > \(since) AND t.user_email = 'a@b.c'",
         "idx_traces_user_time"),
        ("trace list, window only: page", """
            SELECT t.trace_id FROM enterprise.traces t WHERE t.start_time > \(since) ORDER BY t.start_time DESC, t.trace_id LIMIT 50
            """, "idx_traces_time_status_duration"),
        ("summary totals and percentiles", """
            SELECT count(*), sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END), avg(duration_ms),
                   sightline_percentiles(duration_ms, '0.5,0.95,0.99')
            FROM enterprise.traces WHERE start_time > \(since)
            """, "COVERING INDEX idx_traces_time_status_duration"),
        ("summary slowest operations", """
            SELECT operation_name, count(*), avg(duration_ms), max(duration_ms) FROM enterprise.trace_spans
            WHERE start_time > \(since) AND duration_ms IS NOT NULL GROUP BY operation_name
            """, "COVERING INDEX idx_spans_operation_time_duration"),
        ("summary slowest operations, whole minutes", """
            SELECT operation_name, sum(calls), sum(total_ms), max(max_ms) FROM enterprise.span_operation_minutes
            WHERE minute >= \(since) GROUP BY operation_name
            """, "PRIMARY KEY"),
        ("level counts, whole minutes", "SELECT level, sum(count) FROM enterprise.log_level_minutes WHERE minute >= \(since) GROUP BY level",
         "PRIMARY KEY"),
        ("error groups: failed spans", "SELECT s.trace_id FROM enterprise.trace_spans s WHERE s.start_time > \(since) AND s.status = 'error'",
         "idx_spans_errors_time"),
        ("error groups: error records", """
            SELECT count(*) FROM enterprise.structured_logs
            WHERE timestamp > \(since) AND (level IN ('ERROR', 'CRITICAL') OR exception_type IS NOT NULL)
            """, "idx_logs_errors_time"),
        ("alert latency of a service", """
            SELECT sightline_percentiles(duration_ms, '0.99') FROM enterprise.trace_spans
            WHERE start_time > \(since) AND start_time <= '2100-01-01' AND service_name = 'shop' AND duration_ms IS NOT NULL
            """, "COVERING INDEX idx_spans_service_time_duration"),
        ("trace by id: spans", "SELECT * FROM enterprise.trace_spans WHERE trace_id = 'ab' ORDER BY start_time_unix_nano, span_id",
         "idx_spans_trace_span"),
        ("trace by id: trace", "SELECT * FROM enterprise.traces WHERE trace_id = 'ab'", "sqlite_autoindex_traces"),
        ("log list by level: total", "SELECT count(*) FROM enterprise.structured_logs l WHERE l.timestamp > \(since) AND l.level = 'ERROR'",
         "idx_logs_level_time"),
        ("log list by service: page", """
            SELECT l.id FROM enterprise.structured_logs l WHERE l.timestamp > \(since) AND l.service_name = 'shop'
            ORDER BY l.timestamp DESC, l.id LIMIT 100
            """, "idx_logs_service_time"),
        ("log list by trace", "SELECT l.id FROM enterprise.structured_logs l WHERE l.timestamp > \(since) AND l.trace_id = 'ab'",
         "idx_logs_trace_id"),
        ("log search: the smallest rowid of one hour of the window", """
            SELECT min(rowid) FROM enterprise.structured_logs WHERE substr(timestamp, 1, 13) = '2026-01-01T00'
            """, "idx_logs_hour"),
        ("log list, window only: page", """
            SELECT l.id FROM enterprise.structured_logs l WHERE l.timestamp > \(since) ORDER BY l.timestamp DESC, l.id LIMIT 100
            """, "idx_logs_timestamp"),
    ]

    @Test(arguments: shapes.map(\.name))
    func theQueryReadsAnIndex(_ name: String) async throws {
        let shape = try #require(Self.shapes.first { $0.name == name })
        try await withTestStore(.sqlite) { store, _ in
            let plan = try await store.read(ReadQuery(sql: "EXPLAIN QUERY PLAN " + shape.sql))
            let steps = plan.compactMap { $0["detail"].text }
            #expect(steps.contains { $0.contains(shape.index) }, "\(name): \(steps)")
            // No step reads a whole telemetry table.
            for step in steps where step.hasPrefix("SCAN ") {
                #expect(step.contains("INDEX"), "\(name) scans a table: \(steps)")
            }
        }
    }
}
