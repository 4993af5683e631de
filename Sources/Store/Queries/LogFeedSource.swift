/// The live log stream's reads: records committed since a point, and new-record notices.
public protocol LogFeedSource: Sendable {}

extension UnsupportedQueries: LogFeedSource {}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var logFeedSource: any LogFeedSource { UnsupportedQueries() }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var logFeedSource: any LogFeedSource { UnsupportedQueries() }
}
