import Foundation

/// One row of `enterprise.error_group_minutes`: the errors of one group from one source whose
/// time falls in one minute. A group is an exception type, a normalised message
/// (`ErrorNormaliser`) and a service. The writer adds the error records and failed spans each
/// commit inserts (never a re-sent span), in the same transaction, so the error groups of a
/// window read a few rows per group and minute instead of every error.
public struct ErrorGroupMinute: Sendable, Equatable {
    public var minuteUnixNano: Int64
    public var groupID: String
    public var source: ErrorSource
    public var type: String
    /// The normalised message.
    public var message: String
    public var service: String
    public var count: Int64
    public var firstSeenUnixNano: Int64
    public var lastSeenUnixNano: Int64
    /// The raw message of the newest occurrence (of the largest message among several newest).
    public var sampleMessage: String
    /// The trace of the newest occurrence that has one (the largest id among several newest).
    public var sampleTraceID: String?
    public var sampleTraceSeenUnixNano: Int64?

    /// One error as the groups count it.
    struct Occurrence {
        var key: ErrorKey
        var source: ErrorSource
        var timeUnixNano: Int64
        var traceID: String?
    }

    /// The errors among `spans` and `logs` grouped by minute, group and source, in a stable order.
    public static func aggregate(spans: [SpanRow], logs: [LogRow]) -> [ErrorGroupMinute] {
        var occurrences: [Occurrence] = []
        for log in logs {
            if let key = log.errorKey { occurrences.append(Occurrence(key: key, source: .logs, timeUnixNano: log.timestampUnixNano, traceID: log.traceID)) }
        }
        for span in spans {
            if let key = span.errorKey { occurrences.append(Occurrence(key: key, source: .spans, timeUnixNano: span.startTimeUnixNano, traceID: span.traceID)) }
        }
        return aggregate(occurrences)
    }

    static func aggregate(_ occurrences: [Occurrence]) -> [ErrorGroupMinute] {
        struct Key: Hashable { var minute: Int64; var group: String; var source: ErrorSource }
        var rows: [Key: ErrorGroupMinute] = [:]
        var normalised: [String: String] = [:]
        for occurrence in occurrences {
            let raw = occurrence.key
            let message = normalised[raw.message] ?? ErrorNormaliser.normalise(raw.message)
            normalised[raw.message] = message
            let group = ErrorNormaliser.groupID(type: raw.type, message: message, service: raw.service)
            let key = Key(minute: SpanOperationMinute.minute(of: occurrence.timeUnixNano), group: group, source: occurrence.source)
            let one = ErrorGroupMinute(
                minuteUnixNano: key.minute, groupID: group, source: occurrence.source, type: raw.type, message: message,
                service: raw.service, count: 1, firstSeenUnixNano: occurrence.timeUnixNano, lastSeenUnixNano: occurrence.timeUnixNano,
                sampleMessage: raw.message, sampleTraceID: occurrence.traceID,
                sampleTraceSeenUnixNano: occurrence.traceID == nil ? nil : occurrence.timeUnixNano)
            if var row = rows[key] {
                row.add(one)
                rows[key] = row
            } else {
                rows[key] = one
            }
        }
        return rows.values.sorted {
            ($0.minuteUnixNano, $0.groupID, $0.source.column) < ($1.minuteUnixNano, $1.groupID, $1.source.column)
        }
    }

    /// The rows of errors already counted per minute and exact type, message and service
    /// (`SQLErrorQueries.backfill`); each tally's sample trace is its largest trace id, seen
    /// at its last time.
    static func merging(_ tallies: [(minute: Int64, source: ErrorSource, tally: ErrorTally)]) -> [ErrorGroupMinute] {
        struct Key: Hashable { var minute: Int64; var group: String; var source: ErrorSource }
        var rows: [Key: ErrorGroupMinute] = [:]
        for (minute, source, tally) in tallies {
            // The stores keep microseconds: read them as such (a `Date`'s nanoseconds are not exact).
            func nanoseconds(_ text: String) -> Int64? {
                Timestamp.date(text).map { Int64(($0.timeIntervalSince1970 * 1e6).rounded()) * 1_000 }
            }
            guard let first = nanoseconds(tally.firstSeen), let last = nanoseconds(tally.lastSeen) else { continue }
            let message = ErrorNormaliser.normalise(tally.key.message)
            let group = ErrorNormaliser.groupID(type: tally.key.type, message: message, service: tally.key.service)
            let row = ErrorGroupMinute(
                minuteUnixNano: minute, groupID: group, source: source, type: tally.key.type, message: message,
                service: tally.key.service, count: tally.count, firstSeenUnixNano: first, lastSeenUnixNano: last,
                sampleMessage: tally.key.message, sampleTraceID: tally.traceID, sampleTraceSeenUnixNano: tally.traceID == nil ? nil : last)
            let key = Key(minute: minute, group: group, source: source)
            if var kept = rows[key] {
                kept.add(row)
                rows[key] = kept
            } else {
                rows[key] = row
            }
        }
        return rows.values.sorted {
            ($0.minuteUnixNano, $0.groupID, $0.source.column) < ($1.minuteUnixNano, $1.groupID, $1.source.column)
        }
    }

    public init(minuteUnixNano: Int64, groupID: String, source: ErrorSource, type: String, message: String, service: String,
                count: Int64, firstSeenUnixNano: Int64, lastSeenUnixNano: Int64, sampleMessage: String,
                sampleTraceID: String? = nil, sampleTraceSeenUnixNano: Int64? = nil) {
        self.minuteUnixNano = minuteUnixNano
        self.groupID = groupID
        self.source = source
        self.type = type
        self.message = message
        self.service = service
        self.count = count
        self.firstSeenUnixNano = firstSeenUnixNano
        self.lastSeenUnixNano = lastSeenUnixNano
        self.sampleMessage = sampleMessage
        self.sampleTraceID = sampleTraceID
        self.sampleTraceSeenUnixNano = sampleTraceSeenUnixNano
    }

    /// Adds another row of the same minute, group and source: the rule the stores' upserts
    /// follow too.
    mutating func add(_ other: ErrorGroupMinute) {
        count += other.count
        firstSeenUnixNano = min(firstSeenUnixNano, other.firstSeenUnixNano)
        if (other.lastSeenUnixNano, other.sampleMessage) > (lastSeenUnixNano, sampleMessage) {
            sampleMessage = other.sampleMessage
        }
        lastSeenUnixNano = max(lastSeenUnixNano, other.lastSeenUnixNano)
        if let trace = other.sampleTraceID, let seen = other.sampleTraceSeenUnixNano {
            if let kept = sampleTraceID, let keptSeen = sampleTraceSeenUnixNano, (keptSeen, kept) >= (seen, trace) { return }
            sampleTraceID = trace
            sampleTraceSeenUnixNano = seen
        }
    }
}

extension ErrorSource {
    /// The value of `error_group_minutes.source`.
    var column: String {
        switch self {
        case .logs: "log"
        case .spans: "span"
        }
    }

    init?(column: String) {
        switch column {
        case "log": self = .logs
        case "span": self = .spans
        default: return nil
        }
    }
}

extension LogRow {
    /// The record's error, when it is one: level ERROR or CRITICAL, or an exception. The same
    /// rule as `SQLErrorQueries.errorLogFilter`, on the text as the stores keep it.
    var errorKey: ErrorKey? {
        guard level == "ERROR" || level == "CRITICAL" || exceptionType != nil else { return nil }
        return ErrorKey(type: StoreText.safe(exceptionType ?? level), message: StoreText.safe(exceptionMessage ?? message),
                        service: StoreText.safe(serviceName))
    }
}

extension SpanRow {
    /// The span's error, when it failed: its `exception` event's type and message, else
    /// `SpanError` and its status message, else its operation name (`SQLErrorQueries`).
    var errorKey: ErrorKey? {
        guard status == "error" else { return nil }
        let exception = exceptionAttributes
        return ErrorKey(type: StoreText.safe(exception.type ?? "SpanError"),
                        message: StoreText.safe(exception.message ?? errorMessage ?? operationName),
                        service: StoreText.safe(serviceName))
    }

    /// `exception.type` and `exception.message` of the first event named `exception`; a
    /// value that is not text reads as its JSON text.
    private var exceptionAttributes: (type: String?, message: String?) {
        guard logs.contains("exception"),
              let events = try? JSONSerialization.jsonObject(with: Data(logs.utf8)) as? [[String: Any]],
              let event = events.first(where: { $0["name"] as? String == "exception" }) else { return (nil, nil) }
        let attributes = event["attributes"] as? [String: Any] ?? [:]
        func text(_ key: String) -> String? {
            guard let value = attributes[key], !(value is NSNull) else { return nil }
            if let text = value as? String { return text }
            return (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])).map { String(decoding: $0, as: UTF8.self) }
        }
        return (text("exception.type"), text("exception.message"))
    }
}
