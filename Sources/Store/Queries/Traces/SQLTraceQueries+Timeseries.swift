extension SQLTraceQueries {
    /// One grouped pass over the window's traces (the `(start_time, status, duration_ms)` index
    /// of migration 014 covers it when only the window is given); steps with no trace are zero.
    func traceTimeseries(_ filter: TraceFilter, steps: TimeSteps) async throws(StoreError) -> [TraceStepTotals] {
        var sql = SQLBuilder(reads.dialect)
        let fractions = Self.percentileFractions.map { String($0) }
        let percentiles = switch reads.dialect {
        case .postgres:
            "array_to_string(percentile_cont(ARRAY[\(fractions.joined(separator: ", "))]) WITHIN GROUP (ORDER BY t.duration_ms), ',')"
        case .sqlite:
            "sightline_percentiles(t.duration_ms, \(sql.bind(fractions.joined(separator: ","))))"
        }
        let step = sql.stepIndex(of: "t.start_time", in: steps)
        let matching = ([sql.within("t.start_time", steps)] + filter.conditions(&sql)).joined(separator: " AND ")
        let rows = try await reads.records(StepRow.self, sql.query("""
            SELECT \(step) AS step, count(*) AS requests,
                   sum(CASE WHEN t.status = 'error' THEN 1 ELSE 0 END) AS errors,
                   \(percentiles) AS percentiles
            FROM enterprise.traces t WHERE \(matching) GROUP BY 1
            """))
        var totals = Array(repeating: TraceStepTotals(), count: steps.count)
        // Ordered by size, so that a row rounded into the last step (`TimeSteps.step`) adds its
        // counts to the step's own and the larger group's percentiles stand.
        for row in rows.sorted(by: { $0.requests > $1.requests }) {
            let index = steps.step(row.step)
            let values = (row.percentiles ?? "").split(separator: ",").compactMap { Double($0) }
            totals[index].requests += row.requests
            totals[index].errors += row.errors ?? 0
            if totals[index].percentiles == nil, values.count == fractions.count {
                totals[index].percentiles = DurationPercentiles(p50: values[0], p95: values[1], p99: values[2])
            }
        }
        return totals
    }

    private struct StepRow: StoredRecord {
        var step: Int64
        var requests: Int64
        var errors: Int64?
        var percentiles: String?

        enum CodingKeys: String, CodingKey, CaseIterable { case step, requests, errors, percentiles }
    }
}
