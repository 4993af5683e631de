import SQLiteNIO

extension SQLiteStatements {
    static let llmCallColumns = [
        "id", "trace_id", "span_id", "timestamp", "model", "provider", "prompt_tokens", "completion_tokens", "total_tokens",
        "elapsed_ms", "first_token_ms", "user_email", "department", "cost_usd", "success", "error_message",
    ]

    static let insertLLMCall = insertLLMCalls(count: 1)

    static func insertLLMCalls(count: Int) -> String {
        """
        INSERT INTO enterprise.llm_call_metrics (\(llmCallColumns.joined(separator: ", ")))
        VALUES \(values(columns: llmCallColumns.count, rows: count))
        ON CONFLICT(trace_id, span_id) DO NOTHING
        """
    }
}

extension LLMCallRow {
    var sqliteBinds: [SQLiteData] {
        [
            .text(TimeOrderedID.next()), SQLiteData(traceID), SQLiteData(spanID), SQLiteData(Timestamp.iso8601(unixNano: timestampUnixNano)),
            SQLiteData(model), SQLiteData(provider), promptTokens.map(SQLiteData.init) ?? .null,
            completionTokens.map(SQLiteData.init) ?? .null, totalTokens.map(SQLiteData.init) ?? .null,
            .float(elapsedMs), firstTokenMs.map { .float($0) } ?? .null, SQLiteData(userEmail), SQLiteData(department),
            .float(costUSD), .integer(success ? 1 : 0), SQLiteData(errorMessage),
        ]
    }
}
