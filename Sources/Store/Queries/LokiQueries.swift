/// Grafana's Loki data source: LogQL lines and metrics, labels, values, series, statistics.
public protocol LokiQueries: Sendable {}

extension UnsupportedQueries: LokiQueries {}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var lokiQueries: any LokiQueries { UnsupportedQueries() }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var lokiQueries: any LokiQueries { UnsupportedQueries() }
}
