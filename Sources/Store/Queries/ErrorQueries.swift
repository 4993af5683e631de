/// Errors in the stored telemetry, for the query API's `/errors` (docs/api.md): error log
/// records (level ERROR or CRITICAL, or carrying an exception) and failed spans, grouped by
/// exception type, normalised message (`ErrorNormaliser`) and service. The groups are read from
/// the per-minute rollups the writer keeps (`ErrorGroupMinute`), so their cost follows the
/// window's minutes and groups, not its errors. Times are Unix nanoseconds; a window starts
/// after `since` (exclusive).
public protocol ErrorQueries: Sendable {
    /// The error groups of the window, per source, each with its occurrences per step: whole
    /// minutes from the rollups, the minute `since` falls in from the error rows themselves.
    /// Step `i` counts the minutes that start in `[since + i·step, since + (i+1)·step)` (the
    /// minute `since` falls in is step 0; a later minute than `steps` allow is in the last).
    func errorGroups(since: Int64, step: Int64, steps: Int) async throws(StoreError) -> [ErrorGroupTally]

    /// The errors of `source` in the window, counted per exact type, message and service from
    /// the error rows themselves; the `limit` largest counts, largest first.
    func errorTallies(_ source: ErrorSource, since: Int64, limit: Int) async throws(StoreError) -> [ErrorTally]

    /// The newest error log records of the group `group` (its message normalised) in the
    /// window, at most `limit`.
    func logErrors(inGroup group: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [LogErrorOccurrence]

    /// The newest failed spans of the group `group` (its message normalised) in the window, at
    /// most `limit`.
    func spanErrors(inGroup group: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [SpanErrorOccurrence]
}

/// One error group's errors of one source in a window.
public struct ErrorGroupTally: Sendable, Equatable {
    public var groupID: String
    public var source: ErrorSource
    /// The type, the normalised message and the service.
    public var key: ErrorKey
    public var count: Int64
    /// The stores' ISO 8601 text.
    public var firstSeen: String
    public var lastSeen: String
    /// The raw message of the newest occurrence.
    public var sampleMessage: String
    /// The trace of the newest occurrence that has one.
    public var sampleTraceID: String?
    /// Occurrences per step (`ErrorQueries.errorGroups`).
    public var series: [Int64]

    public init(groupID: String, source: ErrorSource, key: ErrorKey, count: Int64, firstSeen: String, lastSeen: String,
                sampleMessage: String, sampleTraceID: String?, series: [Int64]) {
        self.groupID = groupID
        self.source = source
        self.key = key
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.sampleMessage = sampleMessage
        self.sampleTraceID = sampleTraceID
        self.series = series
    }
}

/// Where errors are found.
public enum ErrorSource: Sendable, Equatable, CaseIterable {
    /// Log records of level ERROR or CRITICAL, or with an exception type. Their type is the
    /// exception type (else the level), their message the exception message (else the message).
    case logs
    /// Spans with status `error`. Their type and message are their `exception` event's
    /// `exception.type` and `exception.message` (else `SpanError` and the status message, else
    /// the operation name).
    case spans
}

/// One exact error: type, message and service (empty when the telemetry names none).
public struct ErrorKey: Sendable, Hashable {
    public var type: String
    public var message: String
    public var service: String

    public init(type: String, message: String, service: String) {
        self.type = type
        self.message = message
        self.service = service
    }
}

/// How often one exact error occurred in a window, and when first and last.
public struct ErrorTally: Sendable, Equatable {
    public var key: ErrorKey
    public var count: Int64
    /// The stores' ISO 8601 text.
    public var firstSeen: String
    public var lastSeen: String
    /// The largest trace id among the occurrences that have one.
    public var traceID: String?

    public init(key: ErrorKey, count: Int64, firstSeen: String, lastSeen: String, traceID: String?) {
        self.key = key
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.traceID = traceID
    }
}

extension UnsupportedQueries: ErrorQueries {
    public func errorGroups(since: Int64, step: Int64, steps: Int) async throws(StoreError) -> [ErrorGroupTally] {
        throw Self.error
    }

    public func errorTallies(_ source: ErrorSource, since: Int64, limit: Int) async throws(StoreError) -> [ErrorTally] {
        throw Self.error
    }

    public func logErrors(inGroup group: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [LogErrorOccurrence] {
        throw Self.error
    }

    public func spanErrors(inGroup group: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [SpanErrorOccurrence] {
        throw Self.error
    }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var errorQueries: any ErrorQueries { SQLErrorQueries(reads: StoreReads(self)) }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it), on the read replica if any.
    var errorQueries: any ErrorQueries { SQLErrorQueries(reads: StoreReads(replicaOf: self)) }
}
