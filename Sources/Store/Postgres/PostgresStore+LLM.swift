import PostgresNIO

extension PostgresStore {
    /// Runs an `INSERT … RETURNING trace_id, span_id` and returns the keys of the rows it
    /// inserted (never on a closed connection; see `transaction`).
    static func insertedSpanKeys(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> [SpanKey] {
        guard !connection.isClosed else { throw ConnectionClosed() }
        var keys: [SpanKey] = []
        for try await (traceID, spanID) in try await connection.query(query, logger: logger).decode((String, String).self) {
            keys.append(SpanKey(traceID: traceID, spanID: spanID))
        }
        return keys
    }
}

extension PostgresStatements {
    static func insertLLMCalls(_ rows: [LLMCallRow]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 15)
        binds.append(rows.map(\.traceID))
        binds.append(rows.map(\.spanID))
        binds.append(rows.map(\.timestampUnixNano))
        binds.append(rows.map { StoreText.safe($0.model) })
        binds.append(rows.map { StoreText.safe($0.provider) })
        binds.append(NullableTextArray(elements: rows.map { $0.promptTokens.map(String.init) }))
        binds.append(NullableTextArray(elements: rows.map { $0.completionTokens.map(String.init) }))
        binds.append(NullableTextArray(elements: rows.map { $0.totalTokens.map(String.init) }))
        binds.append(rows.map(\.elapsedMs))
        binds.append(NullableTextArray(elements: rows.map { $0.firstTokenMs.map { "\($0)" } }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.userEmail) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.department) }))
        binds.append(rows.map(\.costUSD))
        binds.append(rows.map(\.success))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.errorMessage) }))
        binds.append(rows.map { _ in TimeOrderedID.next() })
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.llm_call_metrics (id, trace_id, span_id, timestamp, model, provider, prompt_tokens,
                completion_tokens, total_tokens, elapsed_ms, first_token_ms, user_email, department, cost_usd,
                success, error_message)
            SELECT r.id, r.trace_id, r.span_id, (timestamptz 'epoch' + (r.ts_ns / 1000) * interval '1 microsecond'), r.model,
                r.provider, r.prompt_tokens::int8, r.completion_tokens::int8, r.total_tokens::int8, r.elapsed_ms,
                r.first_token_ms::float8, r.user_email, r.department, r.cost_usd::numeric, r.success, r.error_message
            FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                        $9::float8[], $10::text[], $11::text[], $12::text[], $13::float8[], $14::bool[], $15::text[],
                        $16::uuid[])
                AS r(trace_id, span_id, ts_ns, model, provider, prompt_tokens, completion_tokens, total_tokens,
                     elapsed_ms, first_token_ms, user_email, department, cost_usd, success, error_message, id)
            ON CONFLICT (trace_id, span_id) DO NOTHING
            """, binds: binds)
    }
}
