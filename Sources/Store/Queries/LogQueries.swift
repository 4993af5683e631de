/// Log lists and full-text search, one record, records per level (the query API's `/logs`).
public protocol LogQueries: Sendable {}

extension UnsupportedQueries: LogQueries {}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var logQueries: any LogQueries { UnsupportedQueries() }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var logQueries: any LogQueries { UnsupportedQueries() }
}
