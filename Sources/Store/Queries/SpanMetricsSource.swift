/// The span-derived and LLM counters' totals, read at start-up for `/metrics`.
public protocol SpanMetricsSource: Sendable {}

extension UnsupportedQueries: SpanMetricsSource {}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var spanMetricsSource: any SpanMetricsSource { UnsupportedQueries() }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var spanMetricsSource: any SpanMetricsSource { UnsupportedQueries() }
}
