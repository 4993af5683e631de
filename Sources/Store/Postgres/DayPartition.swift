import Foundation

/// A PostgreSQL table stored as one partition per UTC day (migrations 017 and 022,
/// docs/partitioning.md).
public enum PartitionedTable: String, Sendable, CaseIterable {
    case traceSpans = "trace_spans"
    case structuredLogs = "structured_logs"
    case metricPoints = "metric_points"

    /// The partition key: the span's start, the record's time, the point's time.
    var key: String {
        switch self {
        case .traceSpans: "start_time"
        case .structuredLogs: "timestamp"
        case .metricPoints: "time_unix_nano"
        }
    }

    /// Whether the key is Unix nanoseconds (`bigint`) rather than a `timestamptz`.
    var keyIsUnixNano: Bool { self == .metricPoints }

    /// The partition that takes the rows no day holds.
    var defaultPartition: String { "\(rawValue)_default" }
}

/// One day's partition of a table, `<table>_pYYYYMMDD`, holding [00:00, 24:00) UTC of that day.
public struct DayPartition: Sendable, Hashable, Comparable {
    public let table: PartitionedTable
    /// Days since 1970-01-01 (UTC).
    public let day: Int64

    static let nanosecondsPerDay: Int64 = 86_400 * 1_000_000_000

    public init(table: PartitionedTable, day: Int64) {
        self.table = table
        self.day = day
    }

    /// The day holding `unixNano`.
    public init(table: PartitionedTable, containing unixNano: Int64) {
        let (quotient, remainder) = unixNano.quotientAndRemainder(dividingBy: Self.nanosecondsPerDay)
        self.init(table: table, day: remainder < 0 ? quotient - 1 : quotient)
    }

    /// The partition a name stands for; nil for the default partition and any other table.
    public init?(table: PartitionedTable, name: String) {
        let prefix = "\(table.rawValue)_p"
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.dropFirst(prefix.count)
        guard digits.count == 8, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
              let year = Int(digits.prefix(4)), let month = Int(digits.dropFirst(4).prefix(2)), let day = Int(digits.suffix(2))
        else { return nil }
        var components = DateComponents()
        components.year = year
        components.month = month
        components.day = day
        guard components.isValidDate(in: Self.calendar), let date = Self.calendar.date(from: components) else { return nil }
        self.init(table: table, day: Int64((date.timeIntervalSince1970 / 86_400).rounded(.down)))
    }

    /// `trace_spans_p20261207`.
    public var name: String {
        let date = Timestamp.iso8601(unixNano: lowerUnixNano) // 2026-12-07T00:00:00.000000Z
        return "\(table.rawValue)_p" + date.prefix(10).filter { $0 != "-" }
    }

    public var lowerUnixNano: Int64 { day * Self.nanosecondsPerDay }
    public var upperUnixNano: Int64 { (day + 1) * Self.nanosecondsPerDay }

    /// The bounds as literals of the key's type, `timestamptz` or Unix nanoseconds (from
    /// integers: nothing to escape).
    var lowerLiteral: String { table.keyIsUnixNano ? String(lowerUnixNano) : Self.literal(lowerUnixNano) }
    var upperLiteral: String { table.keyIsUnixNano ? String(upperUnixNano) : Self.literal(upperUnixNano) }

    private static func literal(_ unixNano: Int64) -> String {
        "'" + Timestamp.iso8601(unixNano: unixNano).prefix(19).replacingOccurrences(of: "T", with: " ") + "+00'"
    }

    public static func < (lhs: DayPartition, rhs: DayPartition) -> Bool { (lhs.day, lhs.table.rawValue) < (rhs.day, rhs.table.rawValue) }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

/// What partition upkeep does, decided from the partitions that exist: no I/O.
public enum PartitionPlan {
    /// How far from now a day gets a partition for the rows the default partition holds: a
    /// year, as migrations 017 and 022. Rows further off stay in the default partition.
    public static let reach: Int64 = 366 * DayPartition.nanosecondsPerDay

    /// The days from `daysBack` before the day of `now` to `daysAhead` after it, and the days
    /// of `daysInDefault` (days since 1970) within `reach` of now, that have no partition yet,
    /// oldest first.
    public static func missing(_ table: PartitionedTable, existing: Set<DayPartition>, around now: Int64,
                               daysBack: Int, daysAhead: Int, daysInDefault: Set<Int64> = []) -> [DayPartition] {
        let today = DayPartition(table: table, containing: now).day
        let reachDays = reach / DayPartition.nanosecondsPerDay
        let waiting = daysInDefault.filter { abs($0 - today) <= reachDays }
        return Set(today - Int64(daysBack)...today + Int64(daysAhead)).union(waiting).sorted()
            .map { DayPartition(table: table, day: $0) }
            .filter { !existing.contains($0) }
    }

    /// The partitions whose whole day is before `cutoff`, oldest first: a day that ends after
    /// the cutoff is kept (its older rows are the row deletion's).
    public static func droppable(_ existing: [DayPartition], olderThan cutoff: Int64) -> [DayPartition] {
        existing.filter { $0.upperUnixNano <= cutoff }.sorted()
    }
}
