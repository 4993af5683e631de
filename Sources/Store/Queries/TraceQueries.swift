/// Trace lists, one trace with its spans, the trace summary (the query API's `/traces`).
public protocol TraceQueries: Sendable {}

extension UnsupportedQueries: TraceQueries {}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var traceQueries: any TraceQueries { UnsupportedQueries() }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var traceQueries: any TraceQueries { UnsupportedQueries() }
}
