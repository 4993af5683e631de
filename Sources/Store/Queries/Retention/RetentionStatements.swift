/// The statements of retention, the same on SQLite and PostgreSQL (only time binds differ).
///
/// A slice deletes the oldest expired rows of one signal by their time index, at most `limit`
/// of its units. Rows are picked by primary key through a sub-select ordered by time, so a
/// slice never walks more than it deletes; the dependent rows go first in the same
/// transaction (a trace's spans, an instance's notification attempts), so no slice leaves
/// half of a unit behind.
struct RetentionStatements {
    let dialect: SQLDialect

    /// One `DELETE` and the table whose rows it deletes.
    struct Step {
        var table: String
        var query: ReadQuery
    }

    /// A slice: `main`, then, once `main` finds nothing left to delete, `then` (per-minute
    /// totals, deleted only after the rows they sum, so they never undercount what remains).
    struct Slice {
        /// PostgreSQL only: locks the rows `main` deletes in key order first, the order the
        /// writer's upserts lock them in, so a slice and a commit never wait for each other
        /// in a cycle.
        var lock: ReadQuery?
        var main: [Step]
        var then: [Step] = []
    }

    func slice(_ signal: RetentionSignal, before cutoff: Int64, limit: Int) -> Slice {
        switch signal {
        case .traces:
            // A trace goes by its start time (its earliest span's) with all its spans: every
            // span of a trace kept started at or after the cutoff.
            var sql = SQLBuilder(dialect)
            let doomed = "SELECT trace_id FROM enterprise.traces WHERE start_time < \(sql.bindTime(unixNano: cutoff)) ORDER BY start_time, trace_id LIMIT \(sql.bind(Int64(limit)))"
            let lock = dialect == .postgres
                ? sql.query("SELECT trace_id FROM enterprise.traces WHERE trace_id IN (\(doomed)) ORDER BY trace_id FOR UPDATE") : nil
            return Slice(lock: lock, main: [
                Step(table: "trace_spans", query: sql.query("DELETE FROM enterprise.trace_spans WHERE trace_id IN (\(doomed))")),
                Step(table: "traces", query: sql.query("DELETE FROM enterprise.traces WHERE trace_id IN (\(doomed))")),
            ], then: [minutes("span_operation_minutes", before: cutoff, limit: limit),
                      minutes("error_group_minutes", where: "source = 'span'", before: cutoff, limit: limit),
                      minutes("service_edge_minutes", before: cutoff, limit: limit)])
        case .logs:
            // SQLite's full-text rows go with their records (the delete trigger of migration 009).
            return Slice(main: [rows("structured_logs", time: "timestamp", before: cutoff, limit: limit)],
                         then: [minutes("log_level_minutes", before: cutoff, limit: limit),
                                minutes("error_group_minutes", where: "source = 'log'", before: cutoff, limit: limit)])
        case .llmCalls:
            return Slice(main: [rows("llm_call_metrics", time: "timestamp", before: cutoff, limit: limit)])
        case .alertHistory:
            var sql = SQLBuilder(dialect)
            let doomed = """
                SELECT id FROM enterprise.alert_instances WHERE status = 'resolved' AND resolved_at < \(sql.bindTime(unixNano: cutoff)) \
                ORDER BY resolved_at LIMIT \(sql.bind(Int64(limit)))
                """
            return Slice(main: [
                Step(table: "notifications_sent", query: sql.query("DELETE FROM enterprise.notifications_sent WHERE instance_id IN (\(doomed))")),
                Step(table: "alert_instances", query: sql.query("DELETE FROM enterprise.alert_instances WHERE id IN (\(doomed))")),
            ])
        case .requestMetrics, .systemMetrics, .ragMetrics, .cacheMetrics:
            return Slice(main: [rows(signal.rawValue, time: "timestamp", before: cutoff, limit: limit)])
        case .metrics:
            // Times in Unix nanoseconds; series go once no point of theirs is left before the
            // cutoff and they were last seen before it.
            var points = SQLBuilder(dialect)
            let pointsCutoff = points.bind(cutoff)
            let pointsLimit = points.bind(Int64(limit))
            var series = SQLBuilder(dialect)
            let seriesCutoff = series.bind(cutoff)
            let seriesLimit = series.bind(Int64(limit))
            return Slice(main: [Step(table: "metric_points", query: points.query("""
                DELETE FROM enterprise.metric_points WHERE (series_id, time_unix_nano) IN (
                    SELECT series_id, time_unix_nano FROM enterprise.metric_points WHERE time_unix_nano < \(pointsCutoff) LIMIT \(pointsLimit))
                """))], then: [Step(table: "metric_series", query: series.query("""
                DELETE FROM enterprise.metric_series WHERE series_id IN (
                    SELECT series_id FROM enterprise.metric_series WHERE last_seen_unix_nano < \(seriesCutoff) LIMIT \(seriesLimit))
                """))])
        }
    }

    /// The oldest stored time of `signal`, as the column `oldest`.
    func oldest(_ signal: RetentionSignal) -> ReadQuery {
        let sql = switch signal {
        case .traces: "SELECT min(start_time) AS oldest FROM enterprise.traces"
        case .logs: "SELECT min(timestamp) AS oldest FROM enterprise.structured_logs"
        case .llmCalls: "SELECT min(timestamp) AS oldest FROM enterprise.llm_call_metrics"
        case .alertHistory: "SELECT min(resolved_at) AS oldest FROM enterprise.alert_instances WHERE status = 'resolved'"
        case .requestMetrics, .systemMetrics, .ragMetrics, .cacheMetrics:
            "SELECT min(timestamp) AS oldest FROM enterprise.\(signal.rawValue)"
        case .metrics:
            "SELECT min(time_unix_nano) AS oldest_nanos FROM enterprise.metric_points"
        }
        return ReadQuery(sql: sql)
    }

    /// Reads `oldest`'s row.
    static func oldestTime(_ rows: [ResultRow]) throws(StoreError) -> Int64? {
        if let row = rows.first, row.columns.contains("oldest_nanos") { return try row.int("oldest_nanos") }
        guard let text = try rows.first?.text("oldest") else { return nil }
        guard let date = Timestamp.date(text) else {
            throw StoreError(operation: "read", reason: "unreadable oldest time")
        }
        return date.unixNano
    }

    /// The `limit` oldest rows of `table` before `cutoff`, by primary key.
    private func rows(_ table: String, time: String, before cutoff: Int64, limit: Int) -> Step {
        var sql = SQLBuilder(dialect)
        // The time condition outside too: on a table partitioned by that time (PostgreSQL's
        // logs), the delete then looks only in the partitions before the cutoff.
        let before = sql.bindTime(unixNano: cutoff)
        let text = """
            DELETE FROM enterprise.\(table) WHERE \(time) < \(before) AND id IN (SELECT id FROM enterprise.\(table) \
            WHERE \(time) < \(before) ORDER BY \(time) LIMIT \(sql.bind(Int64(limit))))
            """
        return Step(table: table, query: sql.query(text))
    }

    /// The per-minute rows of minutes wholly before `cutoff`, about `limit` at a time: those up
    /// to the `limit`-th oldest row's minute (a minute's rows go together).
    /// `condition` narrows the rows to those of one signal (`error_group_minutes` holds both
    /// logs' and spans').
    private func minutes(_ table: String, where condition: String = "true", before cutoff: Int64, limit: Int) -> Step {
        var sql = SQLBuilder(dialect)
        let minute = sql.bindTime(unixNano: cutoff - ((cutoff % 60_000_000_000) + 60_000_000_000) % 60_000_000_000)
        let text = """
            DELETE FROM enterprise.\(table) WHERE minute < \(minute) AND \(condition) AND minute <= coalesce((SELECT minute \
            FROM enterprise.\(table) WHERE minute < \(minute) AND \(condition) ORDER BY minute LIMIT 1 \
            OFFSET \(sql.bind(Int64(max(limit - 1, 0))))), \(minute))
            """
        return Step(table: table, query: sql.query(text))
    }
}
