/// Log lists and full-text search, one record, records per level (the query API's `/logs`,
/// docs/api.md). Times are Unix nanoseconds; a window starts after `since` (exclusive).
public protocol LogQueries: Sendable {
    /// The page of the records `filter` selects, newest first (then by id), `offset` records in
    /// and at most `limit` long, and how many it selects, counted up to `countLimit`.
    func logList(_ filter: LogFilter, limit: Int, offset: Int, countLimit: Int) async throws(StoreError) -> LogListPage

    /// Every column of the record `id` (a UUID in lower case); nil when it is not stored.
    func log(id: String) async throws(StoreError) -> StoredLogRecord?

    /// How many records of each level have a timestamp after `since` (levels with none may
    /// be missing or counted 0).
    func levelCounts(since: Int64) async throws(StoreError) -> [String: Int64]

    /// How many records of each level (of `service`, when given) each step of `steps` holds:
    /// one dictionary per step, in order (levels with none missing).
    func levelTimeseries(steps: TimeSteps, service: String?) async throws(StoreError) -> [[String: Int64]]
}

/// Which records a list holds: those with a timestamp after `since` that match every field given.
public struct LogFilter: Sendable, Equatable {
    public var since: Int64
    /// A stored level (`DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL`).
    public var level: String?
    /// A part of the logger's name (`%`, `_` and `\` taken literally).
    public var loggerName: String?
    public var service: String?
    public var traceID: String?
    public var userEmail: String?
    /// Full-text search over the message: every word must occur, stemmed as English. A search
    /// with no letters or digits matches nothing.
    public var search: String?

    public init(since: Int64, level: String? = nil, loggerName: String? = nil, service: String? = nil, traceID: String? = nil,
                userEmail: String? = nil, search: String? = nil) {
        self.since = since
        self.level = level
        self.loggerName = loggerName
        self.service = service
        self.traceID = traceID
        self.userEmail = userEmail
        self.search = search
    }
}

/// One page of a log list and the list's capped count.
public struct LogListPage: Sendable, Equatable {
    public var logs: [LogListItem]
    public var total: CappedCount
}

extension UnsupportedQueries: LogQueries {
    public func logList(_ filter: LogFilter, limit: Int, offset: Int, countLimit: Int) async throws(StoreError) -> LogListPage {
        throw Self.error
    }

    public func log(id: String) async throws(StoreError) -> StoredLogRecord? { throw Self.error }

    public func levelCounts(since: Int64) async throws(StoreError) -> [String: Int64] { throw Self.error }

    public func levelTimeseries(steps: TimeSteps, service: String?) async throws(StoreError) -> [[String: Int64]] { throw Self.error }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var logQueries: any LogQueries { SQLLogQueries(reads: StoreReads(self)) }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it), on the read replica if any.
    var logQueries: any LogQueries { SQLLogQueries(reads: StoreReads(replicaOf: self)) }
}
