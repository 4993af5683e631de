/// The built-in alert metric types, evaluated over a window.
public protocol AlertMetricQueries: Sendable {}

extension UnsupportedQueries: AlertMetricQueries {}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var alertMetricQueries: any AlertMetricQueries { UnsupportedQueries() }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var alertMetricQueries: any AlertMetricQueries { UnsupportedQueries() }
}
