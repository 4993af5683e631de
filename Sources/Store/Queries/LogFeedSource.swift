import Logging

/// The live log stream's reads: finding the records committed since a point, in commit order.
///
/// Two ways, one per store. SQLite numbers records in insertion order (rowid) and only this
/// Sightline writes the file, so the feed reads back, after each of the writer's commits, the
/// records past the last one it read (`followsWriterCommits`). PostgreSQL announces each insert
/// itself (`new_log`, migration 011, whose trigger fires for every insert, by this Sightline or
/// another one on the same database), and the source LISTENs and reads the records named.
///
/// Use one source for `follow` and `mark`: a mark may rely on what `follow` has set up.
public protocol LogFeedSource: Sendable {
    /// Whether the writer must signal its commits of log records (through `follow`'s
    /// `commits`) for new records to be found.
    var followsWriterCommits: Bool { get }

    /// Runs until its task is cancelled (or `commits` ends): finds the records committed from
    /// now on and reports them, in commit order, with the source's other events, to `report`,
    /// one event at a time. `commits` yields after each of the writer's commits of log records.
    /// `demand` tells, before each read, what the feed's subscribers wait for; with nothing
    /// demanded the source reads nothing. Read failures are logged to `logger` (without data).
    func follow(commits: AsyncStream<Void>, demand: @escaping @Sendable () -> LogFeedDemand, logger: Logger,
                report: @escaping @Sendable (LogFeedEvent) async -> Void) async

    /// Places a mark in the commit order for a new subscriber (`token` names it): records
    /// committed after this returns are reported after the mark, as the answer says.
    func mark(_ token: String) async throws(StoreError) -> LogFeedMark
}

/// What the subscribers of a feed wait for.
public enum LogFeedDemand: Sendable, Equatable {
    /// Nothing: no subscriber has started.
    case nothing
    /// The records past `sequence` (the lowest any subscriber waits past).
    case after(Int64)
    /// Whatever records are reported next.
    case next
}

/// Where a subscriber's records start (`LogFeedSource.mark`).
public enum LogFeedMark: Sendable, Equatable {
    /// At the records whose `sequence` is above this one.
    case after(Int64)
    /// At the records reported after the event `.fence(token)`.
    case fence
    /// At the records reported from now on (no mark could be placed in the commit order).
    case now
}

/// What a source reports while it follows the commits.
public enum LogFeedEvent: Sendable, Equatable {
    /// Newly committed records, in commit order.
    case records([LogFeedRecord])
    /// The mark `token` in the commit order: the records reported after it were committed
    /// after the mark.
    case fence(String)
    /// The source listens for new records (PostgreSQL: LISTEN is in place): fences and records
    /// will be reported.
    case listening
    /// The source does not listen (PostgreSQL: the LISTEN connection failed or was lost) and
    /// tries again: records committed meanwhile are not reported, nor are fences.
    case notListening
}

/// One committed log record on its way to stream clients.
public struct LogFeedRecord: Sendable, Equatable {
    /// Where the record stands in the store's insertion order, where the store has one (the
    /// SQLite rowid).
    public var sequence: Int64?
    public var log: LogListItem

    public init(sequence: Int64?, log: LogListItem) {
        self.sequence = sequence
        self.log = log
    }
}

extension UnsupportedQueries: LogFeedSource {
    public var followsWriterCommits: Bool { false }

    /// Reports nothing until cancelled.
    public func follow(commits: AsyncStream<Void>, demand: @escaping @Sendable () -> LogFeedDemand, logger: Logger,
                       report: @escaping @Sendable (LogFeedEvent) async -> Void) async {
        for await _ in commits {}
    }

    public func mark(_ token: String) async throws(StoreError) -> LogFeedMark { throw Self.error }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var logFeedSource: any LogFeedSource { SQLiteLogFeedSource(reads: StoreReads(self)) }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var logFeedSource: any LogFeedSource { PostgresLogFeedSource(store: self) }
}
