/// The span-derived and LLM counters' totals, read at start-up for `/metrics` (docs/metrics.md):
/// what the store holds, summed, so the counters go on from there.
public protocol SpanMetricsSource: Sendable {
    /// Spans with a start and an end, counted per service, operation, kind, status code and
    /// duration bucket: `bucket` is the index of the first of `bucketBoundsNanos` (ascending)
    /// that the duration (whole nanoseconds) is at most, or `bucketBoundsNanos.count`. The
    /// busiest label sets come first (all their buckets together), then by labels and bucket.
    func spanTotals(bucketBoundsNanos: [Int64]) async throws(StoreError) -> [SpanTotalsRow]

    /// LLM calls per model and provider, the busiest first.
    func llmTotals() async throws(StoreError) -> [LLMTotalsRow]
}

/// The spans of one label set and duration bucket.
public struct SpanTotalsRow: Sendable, Equatable {
    public var serviceName: String
    public var operationName: String
    public var spanKind: Int32
    public var statusCode: Int32
    public var bucket: Int
    public var calls: Int64
    /// The sum of their durations, in nanoseconds.
    public var durationNanos: Double

    public init(serviceName: String, operationName: String, spanKind: Int32, statusCode: Int32, bucket: Int, calls: Int64,
                durationNanos: Double) {
        self.serviceName = serviceName
        self.operationName = operationName
        self.spanKind = spanKind
        self.statusCode = statusCode
        self.bucket = bucket
        self.calls = calls
        self.durationNanos = durationNanos
    }
}

/// The LLM calls of one model and provider.
public struct LLMTotalsRow: Sendable, Equatable {
    public var model: String
    public var provider: String
    public var calls: Int64
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var costUSD: Double

    public init(model: String, provider: String, calls: Int64, inputTokens: Int64, outputTokens: Int64, costUSD: Double) {
        self.model = model
        self.provider = provider
        self.calls = calls
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUSD = costUSD
    }
}

extension UnsupportedQueries: SpanMetricsSource {
    public func spanTotals(bucketBoundsNanos: [Int64]) async throws(StoreError) -> [SpanTotalsRow] { throw Self.error }
    public func llmTotals() async throws(StoreError) -> [LLMTotalsRow] { throw Self.error }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var spanMetricsSource: any SpanMetricsSource { SQLSpanMetricsSource(dialect: .sqlite, read: { [self] query in try await read(query) }) }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var spanMetricsSource: any SpanMetricsSource { SQLSpanMetricsSource(dialect: .postgres, read: { [self] query in try await read(query) }) }
}

/// `SpanMetricsSource` for either dialect: one aggregate over `trace_spans` and one over
/// `llm_call_metrics`, the same statements on SQLite and PostgreSQL, through the store's reads.
struct SQLSpanMetricsSource: SpanMetricsSource {
    let dialect: SQLDialect
    let read: @Sendable (ReadQuery) async throws -> [ResultRow]

    /// Sums are cast to a float: PostgreSQL's `numeric` is not what the read path decodes.
    func spanTotals(bucketBoundsNanos: [Int64]) async throws(StoreError) -> [SpanTotalsRow] {
        var builder = SQLBuilder(dialect)
        let duration = "(end_time_unix_nano - start_time_unix_nano)"
        var cases = ""
        for (index, bound) in bucketBoundsNanos.enumerated() {
            cases += " WHEN \(duration) <= \(builder.bind(bound)) THEN \(index)"
        }
        let sql = """
            SELECT service_name, operation_name, span_kind, status_code, bucket, count(*) AS calls,
                CAST(sum(duration_ns) AS DOUBLE PRECISION) AS duration_ns,
                CAST(sum(count(*)) OVER (PARTITION BY service_name, operation_name, span_kind, status_code) AS BIGINT) AS series_calls
            FROM (SELECT service_name, operation_name, span_kind, status_code, \(duration) AS duration_ns,
                         CASE\(cases) ELSE \(bucketBoundsNanos.count) END AS bucket
                  FROM enterprise.trace_spans
                  WHERE end_time_unix_nano IS NOT NULL AND start_time_unix_nano IS NOT NULL) AS spans
            GROUP BY service_name, operation_name, span_kind, status_code, bucket
            ORDER BY series_calls DESC, service_name, operation_name, span_kind, status_code, bucket
            """
        return try await storeRows(builder.query(sql), through: read).map { row throws(StoreError) in
            SpanTotalsRow(serviceName: try row.text("service_name") ?? "", operationName: try row.text("operation_name") ?? "",
                          spanKind: Int32(try row.int("span_kind") ?? 0), statusCode: Int32(try row.int("status_code") ?? 0),
                          bucket: Int(try row.int("bucket") ?? 0), calls: try row.int("calls") ?? 0,
                          durationNanos: try row.double("duration_ns") ?? 0)
        }
    }

    func llmTotals() async throws(StoreError) -> [LLMTotalsRow] {
        let query = ReadQuery(sql: """
            SELECT model, provider, count(*) AS calls, coalesce(sum(prompt_tokens), 0) AS input_tokens,
                coalesce(sum(completion_tokens), 0) AS output_tokens,
                CAST(coalesce(sum(cost_usd), 0) AS DOUBLE PRECISION) AS cost_usd
            FROM enterprise.llm_call_metrics
            GROUP BY model, provider
            ORDER BY count(*) DESC, model, provider
            """)
        return try await storeRows(query, through: read).map { row throws(StoreError) in
            LLMTotalsRow(model: try row.text("model") ?? "", provider: try row.text("provider") ?? "", calls: try row.int("calls") ?? 0,
                         inputTokens: try row.int("input_tokens") ?? 0, outputTokens: try row.int("output_tokens") ?? 0,
                         costUSD: try row.double("cost_usd") ?? 0)
        }
    }
}
