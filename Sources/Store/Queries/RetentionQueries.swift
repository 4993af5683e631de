/// Retention: deleting what is older than its signal's period, a bounded slice at a time, and
/// what the store holds and takes up (docs/retention.md).
///
/// A slice deletes the oldest expired units of one signal and everything that hangs on them,
/// in one transaction: a trace with all its spans (decided by the trace's start time, never
/// half a trace), a log record with its full-text entry, a resolved alert instance with its
/// notification attempts. The per-minute totals follow their signal by minute.
public protocol RetentionQueries: Sendable {
    /// Whether this process is the one that deletes: on PostgreSQL, the holder of retention's
    /// own advisory lock (one Sightline per database); on SQLite, always. Call before each run.
    func acquireLeadership() async -> Bool

    /// Gives leadership up (at shutdown), so another Sightline takes it at its next run.
    func releaseLeadership() async

    /// Deletes at most about `limit` of the oldest units of `signal` older than
    /// `cutoffUnixNano` (a trace counts with its spans; per-minute rows are bounded by `limit`
    /// too); returns the rows deleted per table. An empty result means nothing is left to delete.
    func deleteExpired(_ signal: RetentionSignal, before cutoffUnixNano: Int64, limit: Int) async throws(StoreError) -> DeletedRows

    /// The time of the oldest unit of `signal` still stored (Unix nanoseconds), `nil` when none.
    func oldestRetained(_ signal: RetentionSignal) async throws(StoreError) -> Int64?

    /// What the store takes up on disk, in bytes, by part: SQLite's `database` and `wal`
    /// files; PostgreSQL's tables (with their indexes and TOAST).
    func storeSize() async throws(StoreError) -> [StorePartSize]

    /// Gives freed space back (SQLite: up to `pages` free pages returned to the file system
    /// when the file is in incremental auto-vacuum; PostgreSQL: nothing, its autovacuum reuses
    /// space in place).
    func reclaimSpace(pages: Int) async throws(StoreError)
}

/// One kind of stored data with a retention period of its own.
public enum RetentionSignal: String, CaseIterable, Sendable {
    /// Traces and their spans, with the per-minute operation totals.
    case traces
    /// Log records, their full-text entries, and the per-minute level counts.
    case logs
    /// LLM call rows.
    case llmCalls = "llm_calls"
    /// Resolved alert instances and their notification attempts (firing ones are never deleted).
    case alertHistory = "alert_history"
    /// The original metric tables.
    case requestMetrics = "request_metrics"
    case systemMetrics = "system_metrics"
    case ragMetrics = "rag_metrics"
    case cacheMetrics = "cache_metrics"
    /// OTLP metric points, then the series no point refers to any more.
    case metrics
}

/// Rows deleted by one slice, per table (`trace_spans`, `traces`, ...).
public struct DeletedRows: Sendable, Equatable {
    public var byTable: [String: Int]

    public init(_ byTable: [String: Int] = [:]) { self.byTable = byTable.filter { $0.value > 0 } }

    /// All rows deleted.
    public var total: Int { byTable.values.reduce(0, +) }
    public var isEmpty: Bool { total == 0 }

    /// Adds `other`'s counts.
    public mutating func add(_ other: DeletedRows) {
        for (table, count) in other.byTable { byTable[table, default: 0] += count }
    }
}

/// The bytes one part of the store takes up.
public struct StorePartSize: Sendable, Equatable {
    /// `database` or `wal` for SQLite; the table's name for PostgreSQL.
    public var part: String
    public var bytes: Int64

    public init(part: String, bytes: Int64) {
        self.part = part
        self.bytes = bytes
    }
}

extension UnsupportedQueries: RetentionQueries {
    public func acquireLeadership() async -> Bool { false }
    public func releaseLeadership() async {}
    public func deleteExpired(_ signal: RetentionSignal, before cutoffUnixNano: Int64, limit: Int) async throws(StoreError) -> DeletedRows {
        throw Self.error
    }
    public func oldestRetained(_ signal: RetentionSignal) async throws(StoreError) -> Int64? { throw Self.error }
    public func storeSize() async throws(StoreError) -> [StorePartSize] { throw Self.error }
    public func reclaimSpace(pages: Int) async throws(StoreError) { throw Self.error }
}
