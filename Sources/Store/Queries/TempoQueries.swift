/// Grafana's Tempo data source: TraceQL searches, tag names and values, a trace for export.
public protocol TempoQueries: Sendable {}

extension UnsupportedQueries: TempoQueries {}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var tempoQueries: any TempoQueries { UnsupportedQueries() }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var tempoQueries: any TempoQueries { UnsupportedQueries() }
}
