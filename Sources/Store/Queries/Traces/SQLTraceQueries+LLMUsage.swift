extension SQLTraceQueries {
    /// One grouped pass over the window's calls (by the `timestamp` index of `llm_call_metrics`).
    func llmUsage(steps: TimeSteps) async throws(StoreError) -> [LLMUsageRecord] {
        var sql = SQLBuilder(reads.dialect)
        let step = sql.stepIndex(of: "c.timestamp", in: steps)
        let window = sql.within("c.timestamp", steps)
        let rows = try await reads.records(UsageRow.self, sql.query("""
            SELECT \(step) AS step, c.provider AS provider, c.model AS model, count(*) AS calls,
                   sum(CASE WHEN c.success THEN 0 ELSE 1 END) AS failed,
                   CAST(coalesce(sum(c.prompt_tokens), 0) AS BIGINT) AS prompt_tokens,
                   CAST(coalesce(sum(c.completion_tokens), 0) AS BIGINT) AS completion_tokens,
                   CAST(coalesce(sum(c.total_tokens), 0) AS BIGINT) AS total_tokens,
                   CAST(coalesce(sum(c.cost_usd), 0) AS DOUBLE PRECISION) AS cost_usd
            FROM enterprise.llm_call_metrics c WHERE \(window) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """))
        return rows.map {
            LLMUsageRecord(step: steps.step($0.step), provider: $0.provider, model: $0.model, calls: $0.calls, failed: $0.failed ?? 0,
                           promptTokens: $0.promptTokens, completionTokens: $0.completionTokens, totalTokens: $0.totalTokens,
                           costUSD: $0.costUSD)
        }
    }

    private struct UsageRow: StoredRecord {
        var step: Int64
        var provider: String
        var model: String
        var calls: Int64
        var failed: Int64?
        var promptTokens: Int64
        var completionTokens: Int64
        var totalTokens: Int64
        var costUSD: Double

        enum CodingKeys: String, CodingKey, CaseIterable {
            case step, provider, model, calls, failed, promptTokens = "prompt_tokens", completionTokens = "completion_tokens"
            case totalTokens = "total_tokens", costUSD = "cost_usd"
        }
    }
}
