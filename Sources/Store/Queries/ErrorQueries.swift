/// Errors in the stored telemetry, for the query API's `/errors` (docs/api.md): error log
/// records (level ERROR or CRITICAL, or carrying an exception) and failed spans, counted per
/// exact type, message and service (grouping similar messages is the caller's), and the
/// occurrences of one such combination. Times are Unix nanoseconds; a window starts after
/// `since` (exclusive).
public protocol ErrorQueries: Sendable {
    /// The errors of `source` in the window, counted per exact type, message and service; the
    /// `limit` largest counts, largest first.
    func errorTallies(_ source: ErrorSource, since: Int64, limit: Int) async throws(StoreError) -> [ErrorTally]

    /// The newest error log records of `key` in the window, at most `limit`.
    func logErrors(_ key: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [LogErrorOccurrence]

    /// The newest failed spans of `key` in the window, at most `limit`.
    func spanErrors(_ key: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [SpanErrorOccurrence]
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
    public func errorTallies(_ source: ErrorSource, since: Int64, limit: Int) async throws(StoreError) -> [ErrorTally] {
        throw Self.error
    }

    public func logErrors(_ key: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [LogErrorOccurrence] {
        throw Self.error
    }

    public func spanErrors(_ key: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [SpanErrorOccurrence] {
        throw Self.error
    }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var errorQueries: any ErrorQueries { SQLErrorQueries(reads: StoreReads(self)) }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var errorQueries: any ErrorQueries { SQLErrorQueries(reads: StoreReads(self)) }
}
