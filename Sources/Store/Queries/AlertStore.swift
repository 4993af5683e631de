/// Alert rules, instances and notification attempts; the evaluator's leadership.
public protocol AlertStore: Sendable {}

extension UnsupportedQueries: AlertStore {}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var alertStore: any AlertStore { UnsupportedQueries() }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var alertStore: any AlertStore { UnsupportedQueries() }
}
