/// Grafana's Loki data source: LogQL lines and metrics, labels, values, series, statistics
/// (docs/grafana.md). Callers say which records as a `LokiSelection`; the store turns it into
/// SQL and knows where each label comes from (`LokiLabels`). A record's time is its own time,
/// else its observed time, else its arrival. Every method fails with `StoreError` (its kind says
/// time limit or too many reads).
public protocol LokiQueries: Sendable {
    /// The lines `selection` selects with `from ≤ time < toExclusive` (nanoseconds), newest first
    /// (oldest first unless `backward`), at most `limit`, each with its stream's labels.
    func lines(_ selection: LokiSelection, from: Int64, toExclusive: Int64, limit: Int, backward: Bool) async throws(StoreError) -> [LokiLine]

    /// Lines and bytes counted per label set and bucket (see `LokiBucketQuery`), at most
    /// `query.limit` rows.
    func bucketCounts(_ query: LokiBucketQuery) async throws(StoreError) -> [LokiBucketCount]

    /// The labels of the most recent `sampleRows` records that arrived within `start...end`
    /// (nanoseconds) and `selection` selects (any when nil), sorted.
    func labelNames(_ selection: LokiSelection?, start: Int64, end: Int64, sampleRows: Int) async throws(StoreError) -> [String]

    /// The distinct non-empty values of label `name` among the records that arrived within
    /// `start...end` and `selection` selects, sorted, at most `limit`; for a resource label, among
    /// the most recent `sampleRows` of them only. None for a label no stream has.
    func labelValues(_ name: String, _ selection: LokiSelection?, start: Int64, end: Int64, sampleRows: Int, limit: Int) async throws(StoreError) -> [String]

    /// The distinct stream label sets (service, level, logger and the resource's labels, see
    /// `LokiLabels`) of the records that arrived within `start...end` and one of `selections`
    /// selects (any when empty), at most `limit`, in label order.
    func series(_ selections: [LokiSelection], start: Int64, end: Int64, limit: Int) async throws(StoreError) -> [[String: String]]

    /// How many records that arrived within `start...end` `selection` selects, their bytes, and
    /// how many streams (service, level, logger) they make.
    func indexStats(_ selection: LokiSelection, start: Int64, end: Int64) async throws(StoreError) -> LokiIndexStats
}

/// Which log records: those whose labels all match `matchers` and `labelFilters`, whose line
/// passes every line filter, and that satisfy at least one condition of each of `anyOf`. A label
/// a stream lacks counts as "" (so `!=` and `!~` select streams without it); regular expressions
/// on labels match the whole value, on lines anywhere.
public struct LokiSelection: Sendable, Equatable {
    /// The stream selector's matchers.
    public var matchers: [LokiLabelMatch]
    /// Label filters of the pipeline, on the stream's labels.
    public var labelFilters: [LokiLabelMatch]
    public var lineFilters: [LokiLineMatch]
    /// Alternatives (LogQL's `or` between label filters): each must have one condition that holds.
    public var anyOf: [LokiAlternatives]
    /// Fields the line must have when it is a JSON object (see `LokiJSONField`).
    public var jsonFields: [LokiJSONField]

    public init(matchers: [LokiLabelMatch], labelFilters: [LokiLabelMatch] = [], lineFilters: [LokiLineMatch] = [],
                anyOf: [LokiAlternatives] = [], jsonFields: [LokiJSONField] = []) {
        self.matchers = matchers
        self.labelFilters = labelFilters
        self.lineFilters = lineFilters
        self.anyOf = anyOf
        self.jsonFields = jsonFields
    }
}

/// A narrowing for LogQL's `| json | key="value"` (whose exact check runs in the caller): the
/// line is a JSON object whose top-level field `key` is the string `value`, or a number or
/// literal written exactly `value`. Every such line is kept (whichever of a key written twice
/// has it, and with `\u` escapes); a JSON object whose field is something else is dropped,
/// though the store may keep some; a line that is not a JSON object may be kept or dropped.
/// `key` is letters and digits, starting with a letter; `value` is not empty.
public struct LokiJSONField: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// Conditions of which at least one must hold: label matches and line conditions (a label that
/// `label_format` derives from the line, such as Grafana's `log_line_contains_trace_id`, is a
/// line condition).
public struct LokiAlternatives: Sendable, Equatable {
    public var labels: [LokiLabelMatch]
    public var lines: [LokiLineMatch]

    public init(labels: [LokiLabelMatch] = [], lines: [LokiLineMatch] = []) {
        self.labels = labels
        self.lines = lines
    }
}

/// `name op "value"` on a stream label. `level` and `detected_level` compared with `=` or `!=`
/// take any name clients use for a level (`warning`, `WARN`, `fatal`, …: `LokiLabels.levelAliases`).
public struct LokiLabelMatch: Sendable, Equatable {
    public enum Operator: String, Sendable, Equatable, CaseIterable {
        case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~"
    }

    public var name: String
    public var op: Operator
    public var value: String

    public init(_ name: String, _ op: Operator, _ value: String) {
        self.name = name
        self.op = op
        self.value = value
    }
}

/// A condition on the log line (case-sensitive): contains, does not contain, matches or does
/// not match a regular expression anywhere in the line. A record's trace and span ids count as
/// part of its line for `contains` and `notContains`: a needle that is a whole trace id (32 hex
/// digits) or span id (16) also finds the records of that trace or span (Grafana's trace-to-logs
/// query `{service_name="x"} |= "<trace id>"`), though OTLP keeps ids beside the body.
public struct LokiLineMatch: Sendable, Equatable {
    public enum Operator: String, Sendable, Equatable, CaseIterable {
        case contains = "|=", notContains = "!=", matches = "|~", notMatches = "!~"
    }

    public var op: Operator
    public var value: String

    public init(_ op: Operator, _ value: String) {
        self.op = op
        self.value = value
    }
}

/// One log line with its stream's labels.
public struct LokiLine: Sendable, Equatable {
    /// The record's time in Unix nanoseconds.
    public var nanos: Int64
    public var text: String
    public var labels: [String: String]

    public init(nanos: Int64, text: String, labels: [String: String]) {
        self.nanos = nanos
        self.text = text
        self.labels = labels
    }
}

/// Lines and bytes of the records `selection` selects with `origin < time ≤ last`, counted per
/// value of the labels `groupBy` and per bucket: bucket `j` holds the records with
/// `origin + j·width < time ≤ origin + (j+1)·width`.
public struct LokiBucketQuery: Sendable, Equatable {
    public var selection: LokiSelection
    public var groupBy: [String]
    public var origin: Int64
    public var width: Int64
    public var last: Int64
    /// At most this many rows (label set and bucket) are returned.
    public var limit: Int

    public init(selection: LokiSelection, groupBy: [String], origin: Int64, width: Int64, last: Int64, limit: Int) {
        self.selection = selection
        self.groupBy = groupBy
        self.origin = origin
        self.width = width
        self.last = last
        self.limit = limit
    }
}

/// One row of bucket counts: the label set (the grouping labels the records have, non-empty),
/// the bucket, and its lines and bytes. A label set may come in more than one row per bucket
/// (labels absent and empty count as the same).
public struct LokiBucketCount: Sendable, Equatable {
    public var labels: [String: String]
    public var bucket: Int64
    public var lines: Double
    public var bytes: Double

    public init(labels: [String: String], bucket: Int64, lines: Double, bytes: Double) {
        self.labels = labels
        self.bucket = bucket
        self.lines = lines
        self.bytes = bytes
    }
}

/// The size of a selection.
public struct LokiIndexStats: Sendable, Equatable {
    public var streams: Int64
    public var entries: Int64
    public var bytes: Int64

    public init(streams: Int64, entries: Int64, bytes: Int64) {
        self.streams = streams
        self.entries = entries
        self.bytes = bytes
    }
}

extension UnsupportedQueries: LokiQueries {
    public func lines(_ selection: LokiSelection, from: Int64, toExclusive: Int64, limit: Int, backward: Bool) async throws(StoreError) -> [LokiLine] {
        throw Self.error
    }
    public func bucketCounts(_ query: LokiBucketQuery) async throws(StoreError) -> [LokiBucketCount] { throw Self.error }
    public func labelNames(_ selection: LokiSelection?, start: Int64, end: Int64, sampleRows: Int) async throws(StoreError) -> [String] {
        throw Self.error
    }
    public func labelValues(_ name: String, _ selection: LokiSelection?, start: Int64, end: Int64, sampleRows: Int, limit: Int) async throws(StoreError) -> [String] {
        throw Self.error
    }
    public func series(_ selections: [LokiSelection], start: Int64, end: Int64, limit: Int) async throws(StoreError) -> [[String: String]] {
        throw Self.error
    }
    public func indexStats(_ selection: LokiSelection, start: Int64, end: Int64) async throws(StoreError) -> LokiIndexStats { throw Self.error }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it).
    var lokiQueries: any LokiQueries { SQLLokiQueries(reader: DialectReader(dialect: .sqlite) { try await self.read($0) }) }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it).
    var lokiQueries: any LokiQueries { SQLLokiQueries(reader: DialectReader(dialect: .postgres) { try await self.replicaRead($0) }) }
}
