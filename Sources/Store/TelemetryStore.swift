import ServiceLifecycle

/// Where Sightline keeps traces, spans and logs.
public protocol TelemetryStore: Sendable {
    /// Background work the store needs while Sightline runs (a connection pool), if any.
    /// It runs before, and stops after, everything that uses the store.
    var backgroundService: (any Service)? { get }

    /// Applies the migrations not yet recorded, each once, in order, in its own transaction.
    /// Returns the versions applied.
    @discardableResult
    func migrate() async throws -> [String]

    /// Commits `batch` in one transaction: trace rows upserted, spans inserted unless the
    /// same `(trace_id, span_id)` is already stored, logs inserted. Returns only once committed.
    func write(_ batch: WriteBatch) async throws

    /// Like `write` (LLM calls go in the same transaction), and returns what the commit added:
    /// the spans not already stored and their LLM calls, traces and logs as given. Span-derived
    /// metrics count exactly these, so a re-sent span is counted once, like it is stored once.
    func commit(_ batch: WriteBatch) async throws -> WriteBatch

    /// Succeeds when the store answers. Never waits behind reads.
    func ping() async throws

    /// Commits the batch writer may have in flight at once: 1 for SQLite (one writer at a
    /// time); PostgreSQL runs a second while the first waits for its WAL flush.
    var concurrentCommits: Int { get }

    /// The dialect `read` expects.
    var dialect: SQLDialect { get }

    /// Runs a read-only query (built with `SQLBuilder`) and returns every row. Reads never
    /// wait behind a commit in progress, and commits never wait behind reads: reads have
    /// connections (and on SQLite threads) of their own. A read is stopped at the store's
    /// time limit (`StoreError.Kind.timeLimitExceeded`); beyond the reads the store runs and
    /// queues at once, one is refused at once (`StoreError.Kind.tooManyReads`).
    func read(_ query: ReadQuery) async throws -> [ResultRow]

    /// Where alert rules' own SQL (`custom_sql`) runs, at most `maxConcurrent` statements at
    /// once (see `RuleQueryRunner`). Opened after `migrate()`; the caller closes it.
    func ruleQueryRunner(maxConcurrent: Int) async -> any RuleQueryRunner

    /// Everything Sightline reads from the store, and the alert tables it changes, by concern.
    var queries: StoreQueries { get }

    /// The upkeep of tables stored by day (PostgreSQL); nil for a store that has none.
    var timePartitions: (any TimePartitions)? { get }

    /// Where the query reads go and how far the read replica is behind, when one is configured
    /// (PostgreSQL's `--read-storage`); nil otherwise.
    var readStorageStatus: ReadStorageStatus? { get }

    func close() async throws
}

extension TelemetryStore {
    public var backgroundService: (any Service)? { nil }

    public var concurrentCommits: Int { 1 }

    /// For stores that only write (test doubles): every query fails.
    public var queries: StoreQueries { .unsupported }

    public var timePartitions: (any TimePartitions)? { nil }

    public var readStorageStatus: ReadStorageStatus? { nil }

    /// For stores that only write (test doubles): reads fail.
    public var dialect: SQLDialect { .sqlite }

    public func read(_ query: ReadQuery) async throws -> [ResultRow] {
        throw StoreError(operation: "read", reason: "this store does not support reads")
    }

    public func ruleQueryRunner(maxConcurrent: Int) async -> any RuleQueryRunner {
        UnavailableRuleQueryRunner(reason: "this store does not run custom_sql")
    }
}

/// A store failure. Its description never carries SQL or data; `reason` is for logs.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as far as a caller acts on it.
    public enum Kind: Sendable, Equatable {
        /// The store failed or could not be reached.
        case failed
        /// A read ran past the store's time limit for reads (`ReadTimeLimit`) and was stopped.
        case timeLimitExceeded(Duration)
        /// As many reads as the store runs and queues at once were already there (`ReadGate`).
        case tooManyReads
    }

    public var operation: String
    public var reason: String
    public var kind: Kind

    public init(operation: String, reason: String, kind: Kind = .failed) {
        self.operation = operation
        self.reason = reason
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .failed: "store \(operation) failed"
        case .timeLimitExceeded(let limit): "store \(operation) stopped at its time limit (\(ReadTimeLimit.text(limit)))"
        case .tooManyReads: "store \(operation) refused: too many reads at once"
        }
    }
}

import SQLiteMigrations

/// `NNN_name` of every embedded SQLite migration, in order (checked against the folder by tests).
public var embeddedSQLiteMigrationNames: [String] {
    sqliteMigrations.map { "\($0.version)_\($0.name)" }
}

import PostgresMigrations

/// `NNN_name` of every embedded PostgreSQL migration, in order (checked against the folder by tests).
public var embeddedPostgresMigrationNames: [String] {
    postgresMigrations.map { "\($0.version)_\($0.name)" }
}
