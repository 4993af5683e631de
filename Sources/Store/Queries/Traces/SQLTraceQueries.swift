/// `TraceQueries` on either store: the statements differ only in the percentile function.
/// Each statement reads an index of migration 014 (`QueryPlanTests`).
struct SQLTraceQueries: TraceQueries {
    let reads: StoreReads

    func traceList(_ filter: TraceFilter, limit: Int, offset: Int, countLimit: Int) async throws(StoreError) -> TraceListPage {
        var sql = SQLBuilder(reads.dialect)
        var window = ["t.start_time > \(sql.bindTime(unixNano: filter.since))"]
        if let until = filter.until { window.append("t.start_time < \(sql.bindTime(unixNano: until))") }
        let matching = (window + filter.conditions(&sql)).joined(separator: " AND ")
        let total = try await reads.cappedCount(sql, from: "enterprise.traces t", filter: matching, limit: countLimit)
        let page = "LIMIT \(sql.bind(Int64(limit))) OFFSET \(sql.bind(Int64(offset)))"
        let traces = try await reads.records(TraceListItem.self, sql.query("""
            SELECT \(TraceListItem.selectList(alias: "t"))
            FROM enterprise.traces t WHERE \(matching) ORDER BY t.start_time DESC, t.trace_id \(page)
            """))
        return TraceListPage(traces: traces, total: total)
    }

    func trace(id: String) async throws(StoreError) -> TraceDetail? {
        var sql = SQLBuilder(reads.dialect)
        let placeholder = sql.bind(id)
        let traces = try await reads.records(TraceRecord.self, sql.query("""
            SELECT \(TraceRecord.selectList()) FROM enterprise.traces WHERE trace_id = \(placeholder)
            """))
        guard let trace = traces.first else { return nil }
        let spans = try await reads.records(SpanRecord.self, sql.query("""
            SELECT \(SpanRecord.selectList(alias: "s", replacing: [
                "resource": "\(SQLBuilder.resource(of: "s")) AS resource", "scope": "\(SQLBuilder.scope(of: "s")) AS scope",
                "attributes": "\(StoredAttributes.column(of: "s")) AS attributes",
                "events": "\(StoredEvents.column(of: "s")) AS events",
            ]))
            FROM enterprise.trace_spans s WHERE s.trace_id = \(placeholder)
            ORDER BY s.start_time_unix_nano, s.span_id
            """)).map { span in
                var span = span
                span.attributes = JSONText(StoredAttributes.typed(stored: span.attributes.text, tags: span.tags?.text))
                span.events = JSONText(StoredEvents.typed(stored: span.events.text, logs: span.logs?.text))
                return span
            }
        return TraceDetail(trace: trace, spans: spans)
    }

    static let percentileFractions = [0.5, 0.95, 0.99]

    /// The totals and the percentiles in one pass over the window's traces (from the covering
    /// index): on PostgreSQL two statements read the index twice, and three percentiles sorted
    /// the durations three times (500 ms at 5 M spans, 320 ms in one).
    func traceSummary(since: Int64, service: String?) async throws(StoreError) -> TraceSummary {
        var sql = SQLBuilder(reads.dialect)
        let fractions = Self.percentileFractions.map { String($0) }
        let percentiles = switch reads.dialect {
        case .postgres:
            "array_to_string(percentile_cont(ARRAY[\(fractions.joined(separator: ", "))]) WITHIN GROUP (ORDER BY duration_ms), ',')"
        case .sqlite:
            "sightline_percentiles(duration_ms, \(sql.bind(fractions.joined(separator: ","))))"
        }
        var windowFilter = "start_time > \(sql.bindTime(unixNano: since))"
        if let service { windowFilter += " AND service_name = \(sql.bind(service))" }
        // Both skip traces without a duration, as `avg` does; the text is `p50,p95,p99`.
        let totals = try await reads.records(Totals.self, sql.query("""
            SELECT count(*) AS total,
                   sum(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
                   sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS errors,
                   avg(duration_ms) AS avg_ms,
                   \(percentiles) AS percentiles
            FROM enterprise.traces WHERE \(windowFilter)
            """)).first
        let values = (totals?.percentiles ?? "").split(separator: ",").compactMap { Double($0) }
        return TraceSummary(
            total: totals?.total ?? 0, completed: totals?.completed ?? 0, errors: totals?.errors ?? 0, averageMs: totals?.avgMs,
            percentiles: values.count == fractions.count ? DurationPercentiles(p50: values[0], p95: values[1], p99: values[2]) : nil,
            operations: try await operationTotals(since: since, service: service))
    }

    private struct Totals: StoredRecord {
        var total: Int64
        var completed: Int64?
        var errors: Int64?
        var avgMs: Double?
        var percentiles: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case total, completed, errors, avgMs = "avg_ms", percentiles
        }
    }

    /// The span totals of each operation among spans started after `since`: whole minutes from
    /// `span_operation_minutes`, the spans of the minute `since` falls in from `trace_spans` (so
    /// the window is exact, not rounded to minutes).
    private func operationTotals(since: Int64, service: String?) async throws(StoreError) -> [OperationTotals] {
        let firstWholeMinute = SpanOperationMinute.minute(of: since) + SpanOperationMinute.minuteNano
        var minutes = SQLBuilder(reads.dialect)
        var minuteFilter = "minute >= \(minutes.bindTime(unixNano: firstWholeMinute))"
        if let service { minuteFilter += " AND service_name = \(minutes.bind(service))" }
        let wholeMinutes = try await reads.records(OperationRow.self, minutes.query("""
            SELECT operation_name, CAST(sum(calls) AS BIGINT) AS calls, sum(total_ms) AS total_ms, max(max_ms) AS max_ms
            FROM enterprise.span_operation_minutes WHERE \(minuteFilter) GROUP BY operation_name
            """))
        var spans = SQLBuilder(reads.dialect)
        var spanFilter = "start_time > \(spans.bindTime(unixNano: since)) AND start_time < \(spans.bindTime(unixNano: firstWholeMinute))"
        if let service { spanFilter += " AND service_name = \(spans.bind(service))" }
        let partialMinute = try await reads.records(OperationRow.self, spans.query("""
            SELECT operation_name, count(*) AS calls, sum(duration_ms) AS total_ms, max(duration_ms) AS max_ms
            FROM enterprise.trace_spans WHERE \(spanFilter) AND duration_ms IS NOT NULL GROUP BY operation_name
            """))
        var operations: [String: OperationTotals] = [:]
        for row in wholeMinutes + partialMinute {
            var totals = operations[row.operationName] ?? OperationTotals(name: row.operationName)
            totals.calls += row.calls ?? 0
            totals.totalMs += row.totalMs ?? 0
            totals.maxMs = max(totals.maxMs, row.maxMs ?? 0)
            operations[row.operationName] = totals
        }
        return Array(operations.values)
    }

    private struct OperationRow: StoredRecord {
        var operationName: String
        var calls: Int64?
        var totalMs: Double?
        var maxMs: Double?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case operationName = "operation_name", calls, totalMs = "total_ms", maxMs = "max_ms"
        }
    }
}

extension TraceFilter {
    /// The conditions over `enterprise.traces t` besides the window (`since`, `until`), their
    /// values bound in `sql`.
    func conditions(_ sql: inout SQLBuilder) -> [String] {
        var conditions: [String] = []
        if let status { conditions.append("t.status = \(sql.bind(status))") }
        if let service { conditions.append("t.service_name = \(sql.bind(service))") }
        if let userEmail { conditions.append("t.user_email = \(sql.bind(userEmail))") }
        if let minDurationMs { conditions.append("t.duration_ms >= \(sql.bind(minDurationMs))") }
        if let operation {
            conditions.append("""
                EXISTS (SELECT 1 FROM enterprise.trace_spans s WHERE s.trace_id = t.trace_id AND s.operation_name = \(sql.bind(operation)))
                """)
        }
        return conditions
    }
}
