/// `AlertMetricQueries` for either dialect: one aggregate over the window's spans, log
/// records, LLM calls or cache lookups, through the store's reads.
struct SQLAlertMetricQueries: AlertMetricQueries {
    let dialect: SQLDialect
    let read: @Sendable (ReadQuery) async throws -> [ResultRow]

    func value(of metric: AlertMetric, over window: AlertMetricWindow) async throws(StoreError) -> Double? {
        switch metric {
        case .memoryPercent:
            // Host memory use in percent, as OTLP host metrics fill it (`system.memory.utilization`).
            var sql = SQLBuilder(dialect)
            let since = sql.bindTime(unixNano: window.sinceUnixNano)
            let until = sql.bindTime(unixNano: window.untilUnixNano)
            var conditions = ["timestamp > \(since)", "timestamp <= \(until)", "metric_type = 'memory'", "metric_name = 'memory_percent'"]
            if let service = window.serviceName {
                let tag = dialect == .postgres ? "tags->>'service.name'" : "json_extract(tags, '$.\"service.name\"')"
                conditions.append("\(tag) = \(sql.bind(service))")
            }
            return try await number(sql.query(
                "SELECT avg(value) AS value FROM enterprise.system_metrics WHERE \(conditions.joined(separator: " AND "))"))
        case .errorCount:
            var sql = SQLBuilder(dialect)
            let spans = spanFilter(&sql, metric, window)
            let logs = logFilter(&sql, window)
            let text = """
                SELECT (SELECT count(*) FROM enterprise.trace_spans WHERE \(spans) AND status = 'error')
                     + (SELECT count(*) FROM enterprise.structured_logs WHERE \(logs) AND level IN ('ERROR', 'CRITICAL')) AS value
                """
            return try await number(sql.query(text))
        case .errorRate:
            var sql = SQLBuilder(dialect)
            let spans = spanFilter(&sql, metric, window)
            let text = """
                SELECT count(*) AS total, coalesce(sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 0) AS failed
                FROM enterprise.trace_spans WHERE \(spans)
                """
            let row = try await rows(sql.query(text)).first
            guard let total = try row?.double("total"), total > 0, let failed = try row?.double("failed") else { return nil }
            return failed / total * 100
        case .latencyP95, .ragLatencyP95:
            return try await percentile(0.95, metric, window)
        case .latencyP99:
            return try await percentile(0.99, metric, window)
        case .logCount:
            var sql = SQLBuilder(dialect)
            let logs = logFilter(&sql, window)
            return try await number(sql.query("SELECT count(*) AS value FROM enterprise.structured_logs WHERE \(logs)"))
        case .llmCostHourly, .llmTokens:
            var sql = SQLBuilder(dialect)
            let since = sql.bindTime(unixNano: window.sinceUnixNano)
            let until = sql.bindTime(unixNano: window.untilUnixNano)
            let column = metric == .llmCostHourly ? "cost_usd" : "total_tokens"
            // cost_usd is NUMERIC on PostgreSQL: read as a double.
            let text = "SELECT CAST(coalesce(sum(\(column)), 0) AS DOUBLE PRECISION) AS value FROM enterprise.llm_call_metrics WHERE timestamp > \(since) AND timestamp <= \(until)"
            return try await number(sql.query(text))
        case .cacheHitRate:
            var sql = SQLBuilder(dialect)
            let since = sql.bindTime(unixNano: window.sinceUnixNano)
            let until = sql.bindTime(unixNano: window.untilUnixNano)
            let text = """
                SELECT coalesce(sum(hits), 0) AS hits, coalesce(sum(hits + misses), 0) AS lookups
                FROM enterprise.cache_metrics WHERE timestamp > \(since) AND timestamp <= \(until)
                """
            let row = try await rows(sql.query(text)).first
            guard let lookups = try row?.double("lookups"), lookups > 0, let hits = try row?.double("hits") else { return nil }
            return hits / lookups * 100
        }
    }

    /// Spans that started in the window, narrowed to the service and operation.
    private func spanFilter(_ sql: inout SQLBuilder, _ metric: AlertMetric, _ window: AlertMetricWindow) -> String {
        var conditions = ["start_time > \(sql.bindTime(unixNano: window.sinceUnixNano))", "start_time <= \(sql.bindTime(unixNano: window.untilUnixNano))"]
        if let service = window.serviceName { conditions.append("service_name = \(sql.bind(service))") }
        if let operation = window.operationName {
            conditions.append("operation_name = \(sql.bind(operation))")
        } else if metric == .ragLatencyP95 {
            conditions.append("lower(operation_name) LIKE '%rag%'")
        }
        return conditions.joined(separator: " AND ")
    }

    /// Log records of the window, narrowed to the service.
    private func logFilter(_ sql: inout SQLBuilder, _ window: AlertMetricWindow) -> String {
        var conditions = ["timestamp > \(sql.bindTime(unixNano: window.sinceUnixNano))", "timestamp <= \(sql.bindTime(unixNano: window.untilUnixNano))"]
        if let service = window.serviceName { conditions.append("service_name = \(sql.bind(service))") }
        return conditions.joined(separator: " AND ")
    }

    /// Span duration percentile: PostgreSQL's `percentile_cont`; on SQLite the store's
    /// `sightline_percentiles` aggregate (the same interpolation), one pass over the window.
    private func percentile(_ fraction: Double, _ metric: AlertMetric, _ window: AlertMetricWindow) async throws(StoreError) -> Double? {
        var sql = SQLBuilder(dialect)
        let spans = spanFilter(&sql, metric, window)
        switch dialect {
        case .postgres:
            let text = "SELECT percentile_cont(\(fraction)) WITHIN GROUP (ORDER BY duration_ms) AS value FROM enterprise.trace_spans WHERE \(spans) AND duration_ms IS NOT NULL"
            return try await number(sql.query(text))
        case .sqlite:
            let text = "SELECT sightline_percentiles(duration_ms, \(sql.bind(String(fraction)))) AS value FROM enterprise.trace_spans WHERE \(spans) AND duration_ms IS NOT NULL"
            return try await rows(sql.query(text)).first?.text("value").flatMap(Double.init)
        }
    }

    private func number(_ query: ReadQuery) async throws(StoreError) -> Double? {
        try await rows(query).first?.double("value")
    }

    private func rows(_ query: ReadQuery) async throws(StoreError) -> [ResultRow] {
        try await storeRows(query, through: read)
    }
}
