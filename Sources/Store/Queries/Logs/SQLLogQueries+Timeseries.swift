extension SQLLogQueries {
    /// All services: `log_level_minutes` (steps are whole minutes aligned to the minute, so each
    /// minute row falls in one step). One service: the records themselves, by the
    /// `(service_name, timestamp)` index, since the minute table does not keep the service.
    func levelTimeseries(steps: TimeSteps, service: String?) async throws(StoreError) -> [[String: Int64]] {
        var sql = SQLBuilder(reads.dialect)
        let query: ReadQuery
        if let service {
            let step = sql.stepIndex(of: "l.timestamp", in: steps)
            let window = sql.within("l.timestamp", steps) + " AND l.service_name = \(sql.bind(service))"
            query = sql.query("""
                SELECT \(step) AS step, l.level AS level, count(*) AS count FROM enterprise.structured_logs l
                WHERE \(window) GROUP BY 1, 2
                """)
        } else {
            let step = sql.stepIndex(of: "m.minute", in: steps)
            let window = sql.within("m.minute", steps)
            query = sql.query("""
                SELECT \(step) AS step, m.level AS level, CAST(sum(m.count) AS BIGINT) AS count
                FROM enterprise.log_level_minutes m WHERE \(window) GROUP BY 1, 2
                """)
        }
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
