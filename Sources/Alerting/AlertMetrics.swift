import Foundation
import Store

/// Computes a rule's metric over its window from the stored spans, logs and metric tables
/// (DESIGN §7), with parameterised SQL for either dialect.
public struct AlertMetrics: Sendable {
    let database: AlertDatabase
    /// Limit for one `custom_sql` evaluation.
    let customSQLTimeout: Duration
    /// How long a `custom_sql` evaluation waits for a free slot: evaluations wait (30 s, for
    /// `evaluationSlotWait`), previews do not (`.zero`: `RuleQueryError.busy` at once).
    let customSQLWait: Duration

    /// Evaluations queue behind the few `custom_sql` statements allowed at once, for this long.
    public static let evaluationSlotWait: Duration = .seconds(30)

    public init(database: AlertDatabase, customSQLTimeout: Duration = .seconds(5), customSQLWait: Duration = evaluationSlotWait) {
        self.database = database
        self.customSQLTimeout = customSQLTimeout
        self.customSQLWait = customSQLWait
    }

    /// The rule's value at `now`, or `nil` for "no data".
    public func value(of rule: AlertRule, at now: Date) async throws -> Double? {
        let sinceNano = Int64((now.timeIntervalSince1970 - Double(rule.windowMinutes) * 60) * 1e9)
        let untilNano = Int64(now.timeIntervalSince1970 * 1e9)
        let dialect = database.dialect
        switch rule.metricType {
        case .memoryPercent:
            return nil
        case .customSQL:
            guard let sql = rule.customSQL else { return nil }
            return try await database.runCustomSQL(sql, timeout: customSQLTimeout, waitingAtMost: customSQLWait)
        case .errorCount:
            var sql = SQLBuilder(dialect)
            let spans = spanFilter(&sql, rule, sinceNano, untilNano)
            let logs = logFilter(&sql, rule, sinceNano, untilNano)
            let text = """
                SELECT (SELECT count(*) FROM enterprise.trace_spans WHERE \(spans) AND status = 'error')
                     + (SELECT count(*) FROM enterprise.structured_logs WHERE \(logs) AND level IN ('ERROR', 'CRITICAL')) AS value
                """
            return try await number(sql.query(text))
        case .errorRate:
            var sql = SQLBuilder(dialect)
            let spans = spanFilter(&sql, rule, sinceNano, untilNano)
            let text = """
                SELECT count(*) AS total, coalesce(sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 0) AS failed
                FROM enterprise.trace_spans WHERE \(spans)
                """
            let row = try await database.store.read(sql.query(text)).first
            guard let total = row?["total"].double, total > 0, let failed = row?["failed"].double else { return nil }
            return failed / total * 100
        case .latencyP95, .ragLatencyP95:
            return try await percentile(0.95, rule, sinceNano, untilNano)
        case .latencyP99:
            return try await percentile(0.99, rule, sinceNano, untilNano)
        case .logCount:
            var sql = SQLBuilder(dialect)
            let logs = logFilter(&sql, rule, sinceNano, untilNano)
            let text = "SELECT count(*) AS value FROM enterprise.structured_logs WHERE \(logs)"
            return try await number(sql.query(text))
        case .llmCostHourly, .llmTokens:
            var sql = SQLBuilder(dialect)
            let since = sql.bindTime(unixNano: sinceNano)
            let until = sql.bindTime(unixNano: untilNano)
            let column = rule.metricType == .llmCostHourly ? "cost_usd" : "total_tokens"
            // cost_usd is NUMERIC on PostgreSQL: read as a double.
            let text = "SELECT CAST(coalesce(sum(\(column)), 0) AS DOUBLE PRECISION) AS value FROM enterprise.llm_call_metrics WHERE timestamp > \(since) AND timestamp <= \(until)"
            return try await number(sql.query(text))
        case .cacheHitRate:
            var sql = SQLBuilder(dialect)
            let since = sql.bindTime(unixNano: sinceNano)
            let until = sql.bindTime(unixNano: untilNano)
            let text = """
                SELECT coalesce(sum(hits), 0) AS hits, coalesce(sum(hits + misses), 0) AS lookups
                FROM enterprise.cache_metrics WHERE timestamp > \(since) AND timestamp <= \(until)
                """
            let row = try await database.store.read(sql.query(text)).first
            guard let lookups = row?["lookups"].double, lookups > 0, let hits = row?["hits"].double else { return nil }
            return hits / lookups * 100
        }
    }

    /// Spans that started in the window, narrowed to the rule's service and operation.
    private func spanFilter(_ sql: inout SQLBuilder, _ rule: AlertRule, _ since: Int64, _ until: Int64) -> String {
        var conditions = ["start_time > \(sql.bindTime(unixNano: since))", "start_time <= \(sql.bindTime(unixNano: until))"]
        if let service = rule.serviceName { conditions.append("service_name = \(sql.bind(service))") }
        if let operation = rule.operationName {
            conditions.append("operation_name = \(sql.bind(operation))")
        } else if rule.metricType == .ragLatencyP95 {
            conditions.append("lower(operation_name) LIKE '%rag%'")
        }
        return conditions.joined(separator: " AND ")
    }

    /// Log records of the window, narrowed to the rule's service.
    private func logFilter(_ sql: inout SQLBuilder, _ rule: AlertRule, _ since: Int64, _ until: Int64) -> String {
        var conditions = ["timestamp > \(sql.bindTime(unixNano: since))", "timestamp <= \(sql.bindTime(unixNano: until))"]
        if let service = rule.serviceName { conditions.append("service_name = \(sql.bind(service))") }
        return conditions.joined(separator: " AND ")
    }

    /// Span duration percentile, interpolated between the two nearest ranks like
    /// PostgreSQL's `percentile_cont` (which PostgreSQL computes itself).
    private func percentile(_ fraction: Double, _ rule: AlertRule, _ since: Int64, _ until: Int64) async throws -> Double? {
        if database.dialect == .postgres {
            var sql = SQLBuilder(.postgres)
            let spans = spanFilter(&sql, rule, since, until)
            let text = "SELECT percentile_cont(\(fraction)) WITHIN GROUP (ORDER BY duration_ms) AS value FROM enterprise.trace_spans WHERE \(spans) AND duration_ms IS NOT NULL"
            return try await number(sql.query(text))
        }
        // SQLite: the store's `sightline_percentiles` aggregate (the same interpolation), one
        // pass over the window; its fraction is bound first, as it comes first in the text.
        var sqlite = SQLBuilder(.sqlite)
        let fractionList = sqlite.bind(String(fraction))
        let filter = spanFilter(&sqlite, rule, since, until)
        let text = "SELECT sightline_percentiles(duration_ms, \(fractionList)) AS value FROM enterprise.trace_spans WHERE \(filter) AND duration_ms IS NOT NULL"
        guard let value = try await database.store.read(sqlite.query(text)).first?["value"].text else { return nil }
        return Double(value)
    }

    private func number(_ query: ReadQuery) async throws -> Double? {
        try await database.store.read(query).first?["value"].double
    }
}
