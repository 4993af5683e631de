/// Error groups and their occurrences (the query API's `/errors`).
public protocol ErrorQueries: Sendable {}

extension UnsupportedQueries: ErrorQueries {}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var errorQueries: any ErrorQueries { UnsupportedQueries() }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var errorQueries: any ErrorQueries { UnsupportedQueries() }
}
