extension SQLLogQueries {
    /// From `log_level_minutes`, all services' rows or one service's (steps are whole minutes
    /// aligned to the minute, so each minute row falls in one step).
    func levelTimeseries(steps: TimeSteps, service: String?) async throws(StoreError) -> [[String: Int64]] {
        var sql = SQLBuilder(reads.dialect)
        let step = sql.stepIndex(of: "m.minute", in: steps)
        var window = sql.within("m.minute", steps)
        if let service { window += " AND m.service_name = \(sql.bind(service))" }
        let query = sql.query("""
            SELECT \(step) AS step, m.level AS level, CAST(sum(m.count) AS BIGINT) AS count
            FROM enterprise.log_level_minutes m WHERE \(window) GROUP BY 1, 2
            """)
        var counts = Array(repeating: [String: Int64](), count: steps.count)
        for row in try await reads.records(StepLevelRow.self, query) {
            counts[steps.step(row.step)][row.level, default: 0] += row.count
        }
        return counts
    }

    private struct StepLevelRow: StoredRecord {
        var step: Int64
        var level: String
        var count: Int64

        enum CodingKeys: String, CodingKey, CaseIterable { case step, level, count }
    }
}
