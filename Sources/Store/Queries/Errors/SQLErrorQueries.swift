/// `ErrorQueries` on either store: they differ in how a span's `exception` event is read from
/// its JSON events and in time arithmetic. Groups are read from `error_group_minutes`
/// (migration 020); error records are found through `idx_logs_errors_time`, failed spans
/// through `idx_spans_errors_time` (migration 014).
struct SQLErrorQueries: ErrorQueries {
    let reads: StoreReads

    /// Error log records: level ERROR or CRITICAL, or any record carrying an exception.
    static let errorLogFilter = "(level IN ('ERROR', 'CRITICAL') OR exception_type IS NOT NULL)"
    static let logType = "COALESCE(exception_type, level)"
    static let logMessage = "COALESCE(exception_message, message)"

    /// The exception type / message of a failed span: its `exception` event's attributes.
    static func spanException(_ attribute: String, _ dialect: SQLDialect) -> String {
        switch dialect {
        case .postgres:
            "(SELECT e->'attributes'->>'\(attribute)' FROM jsonb_array_elements(s.logs) e WHERE e->>'name' = 'exception' LIMIT 1)"
        case .sqlite:
            """
            (SELECT json_extract(e.value, '$.attributes."\(attribute)"') FROM json_each(s.logs) e \
            WHERE json_extract(e.value, '$.name') = 'exception' LIMIT 1)
            """
        }
    }

    static func spanType(_ dialect: SQLDialect) -> String { "COALESCE(\(spanException("exception.type", dialect)), 'SpanError')" }
    static func spanMessage(_ dialect: SQLDialect) -> String {
        "COALESCE(\(spanException("exception.message", dialect)), s.error_message, s.operation_name)"
    }

    var spanType: String { Self.spanType(reads.dialect) }
    var spanMessage: String { Self.spanMessage(reads.dialect) }

    /// Every stored error counted per minute and exact type, message and service: what
    /// migration 020's `error_group_minutes` is filled from (`ErrorGroupMinute.merging`).
    static func backfill(_ source: ErrorSource, _ dialect: SQLDialect) -> String {
        let minute: (String) -> String = { column in
            dialect == .postgres ? "date_trunc('minute', \(column))" : "substr(\(column), 1, 16) || ':00.000000Z'"
        }
        return switch source {
        case .logs:
            """
            SELECT \(minute("timestamp")) AS minute, \(logType) AS type, \(logMessage) AS message,
                   COALESCE(service_name, '') AS service, count(*) AS count, min(timestamp) AS first_seen,
                   max(timestamp) AS last_seen, max(trace_id) AS trace_id
            FROM enterprise.structured_logs WHERE \(errorLogFilter) GROUP BY 1, 2, 3, 4
            """
        case .spans:
            """
            SELECT minute, type, message, service, count(*) AS count, min(start_time) AS first_seen,
                   max(start_time) AS last_seen, max(trace_id) AS trace_id
            FROM (SELECT \(minute("s.start_time")) AS minute, \(spanType(dialect)) AS type, \(spanMessage(dialect)) AS message,
                         COALESCE(s.service_name, '') AS service, s.start_time, s.trace_id
                  FROM enterprise.trace_spans s WHERE s.status = 'error') failed
            GROUP BY minute, type, message, service
            """
        }
    }

    func errorTallies(_ source: ErrorSource, since: Int64, limit: Int) async throws(StoreError) -> [ErrorTally] {
        try await errorTallies(source, since: since, before: nil, limit: limit)
    }

    /// The raw tallies of `(since, before)`.
    func errorTallies(_ source: ErrorSource, since: Int64, before: Int64?, limit: Int) async throws(StoreError) -> [ErrorTally] {
        var sql = SQLBuilder(reads.dialect)
        let window = sql.bindTime(unixNano: since)
        let text = switch source {
        case .logs:
            """
            SELECT \(Self.logType) AS type, \(Self.logMessage) AS message, COALESCE(service_name, '') AS service,
                   count(*) AS count, min(timestamp) AS first_seen, max(timestamp) AS last_seen, max(trace_id) AS trace_id
            FROM enterprise.structured_logs
            WHERE timestamp > \(window) \(before.map { "AND timestamp < \(sql.bindTime(unixNano: $0))" } ?? "") AND \(Self.errorLogFilter)
            GROUP BY 1, 2, 3 ORDER BY count DESC LIMIT \(limit)
            """
        case .spans:
            """
            SELECT type, message, service, count(*) AS count, min(start_time) AS first_seen, max(start_time) AS last_seen,
                   max(trace_id) AS trace_id
            FROM (SELECT \(spanType) AS type, \(spanMessage) AS message,
                         COALESCE(s.service_name, '') AS service, s.start_time, s.trace_id
                  FROM enterprise.trace_spans s
                  WHERE s.start_time > \(window) \(before.map { "AND s.start_time < \(sql.bindTime(unixNano: $0))" } ?? "")
                    AND s.status = 'error') failed
            GROUP BY type, message, service ORDER BY count DESC LIMIT \(limit)
            """
        }
        var tallies: [ErrorTally] = []
        // Read leniently: an `exception.type` that is not text (a number in a span's event)
        // reads as empty on SQLite, as it always has.
        for row in try await reads.rows(sql.query(text)) {
            tallies.append(ErrorTally(
                key: ErrorKey(type: try row.text("type") ?? "", message: try row.text("message") ?? "", service: try row.text("service") ?? ""),
                count: try row.int("count") ?? 0, firstSeen: try row.text("first_seen") ?? "", lastSeen: try row.text("last_seen") ?? "",
                traceID: try row.text("trace_id")))
        }
        return tallies
    }

    /// The first whole minute after `since`: minutes from there on are read from the rollups.
    static func firstWholeMinute(after since: Int64) -> Int64 {
        SpanOperationMinute.minute(of: since) + SpanOperationMinute.minuteNano
    }

    /// How many raw combinations the minute `since` falls in is read for (a minute holds few).
    static let partialMinuteLimit = 10_000

    func errorGroups(since: Int64, step: Int64, steps: Int) async throws(StoreError) -> [ErrorGroupTally] {
        struct Key: Hashable { var group: String; var source: ErrorSource }
        let steps = max(steps, 1)
        let wholeMinutes = Self.firstWholeMinute(after: since)
        var groups: [Key: ErrorGroupTally] = [:]
        var order: [Key] = []
        func bucket(_ index: Int64) -> Int { Int(min(max(index, 0), Int64(steps - 1))) }

        // Whole minutes: counts per step, then each group's newest row for its samples.
        var sql = SQLBuilder(reads.dialect)
        let from = sql.bindTime(unixNano: wholeMinutes)
        let sinceSeconds = sql.bind(Int64(since / 1_000_000_000))
        let stepSeconds = sql.bind(max(step / 1_000_000_000, 1))
        let bucketExpression = switch reads.dialect {
        case .postgres: "CAST(floor((extract(epoch FROM minute) - \(sinceSeconds)) / \(stepSeconds)) AS BIGINT)"
        case .sqlite: "(CAST(strftime('%s', minute) AS INTEGER) - \(sinceSeconds)) / \(stepSeconds)"
        }
        let perStep = """
            SELECT group_id, source, min(error_type) AS error_type, min(message) AS message, min(service_name) AS service_name,
                   \(bucketExpression) AS bucket, CAST(sum(count) AS BIGINT) AS count, min(first_seen) AS first_seen,
                   max(last_seen) AS last_seen
            FROM enterprise.error_group_minutes WHERE minute >= \(from)
            GROUP BY group_id, source, bucket
            """
        for row in try await reads.rows(sql.query(perStep)) {
            guard let source = ErrorSource(column: try row.text("source") ?? "") else { continue }
            let key = Key(group: try row.text("group_id") ?? "", source: source)
            let count = try row.int("count") ?? 0
            let first = try row.text("first_seen") ?? "", last = try row.text("last_seen") ?? ""
            if var group = groups[key] {
                group.count += count
                group.firstSeen = min(group.firstSeen, first)
                group.lastSeen = max(group.lastSeen, last)
                group.series[bucket(try row.int("bucket") ?? 0)] += count
                groups[key] = group
            } else {
                var group = ErrorGroupTally(
                    groupID: key.group, source: source,
                    key: ErrorKey(type: try row.text("error_type") ?? "", message: try row.text("message") ?? "",
                                  service: try row.text("service_name") ?? ""),
                    count: count, firstSeen: first, lastSeen: last, sampleMessage: "", sampleTraceID: nil,
                    series: Array(repeating: 0, count: steps))
                group.series[bucket(try row.int("bucket") ?? 0)] += count
                groups[key] = group
                order.append(key)
            }
        }
        if !groups.isEmpty {
            for withTrace in [false, true] {
                var sql = SQLBuilder(reads.dialect)
                let from = sql.bindTime(unixNano: wholeMinutes)
                let newest = """
                    SELECT e.group_id, e.source, e.sample_message, e.sample_trace_id
                    FROM enterprise.error_group_minutes e
                    JOIN (SELECT group_id, source, max(minute) AS minute FROM enterprise.error_group_minutes
                          WHERE minute >= \(from) \(withTrace ? "AND sample_trace_id IS NOT NULL" : "") GROUP BY group_id, source) n
                      ON e.minute = n.minute AND e.group_id = n.group_id AND e.source = n.source
                    """
                for row in try await reads.rows(sql.query(newest)) {
                    guard let source = ErrorSource(column: try row.text("source") ?? "") else { continue }
                    let key = Key(group: try row.text("group_id") ?? "", source: source)
                    if withTrace { groups[key]?.sampleTraceID = try row.text("sample_trace_id") } else {
                        groups[key]?.sampleMessage = try row.text("sample_message") ?? ""
                    }
                }
            }
        }

        // The minute `since` falls in, older than every rollup row read above.
        for source in ErrorSource.allCases {
            let tallies = try await errorTallies(source, since: since, before: wholeMinutes, limit: Self.partialMinuteLimit)
            for tally in tallies.sorted(by: { ($0.lastSeen, $0.key.message) < ($1.lastSeen, $1.key.message) }) {
                let message = ErrorNormaliser.normalise(tally.key.message)
                let key = Key(group: ErrorNormaliser.groupID(type: tally.key.type, message: message, service: tally.key.service), source: source)
                if var group = groups[key] {
                    group.count += tally.count
                    group.firstSeen = min(group.firstSeen, tally.firstSeen)
                    group.series[0] += tally.count
                    if group.lastSeen <= tally.lastSeen {
                        group.lastSeen = tally.lastSeen
                        group.sampleMessage = tally.key.message
                        if let trace = tally.traceID { group.sampleTraceID = trace }
                    } else if group.sampleTraceID == nil {
                        group.sampleTraceID = tally.traceID
                    }
                    groups[key] = group
                } else {
                    var series = Array(repeating: Int64(0), count: steps)
                    series[0] = tally.count
                    groups[key] = ErrorGroupTally(
                        groupID: key.group, source: source, key: ErrorKey(type: tally.key.type, message: message, service: tally.key.service),
                        count: tally.count, firstSeen: tally.firstSeen, lastSeen: tally.lastSeen, sampleMessage: tally.key.message,
                        sampleTraceID: tally.traceID, series: series)
                    order.append(key)
                }
            }
        }
        return order.compactMap { groups[$0] }
    }

    /// The most error rows of one type and service read to find a group's occurrences among
    /// them (its message is normalised in Swift).
    static let occurrenceScanLimit = 10_000

    /// The start of the newest minutes in the window that hold `limit` of the group's errors
    /// (`since` when the whole window is needed): its occurrences are looked for from there.
    func occurrenceStart(_ group: ErrorKey, source: ErrorSource, since: Int64, limit: Int) async throws(StoreError) -> Int64 {
        var sql = SQLBuilder(reads.dialect)
        let text = """
            SELECT minute, count FROM enterprise.error_group_minutes
            WHERE minute >= \(sql.bindTime(unixNano: Self.firstWholeMinute(after: since)))
              AND group_id = \(sql.bind(ErrorNormaliser.groupID(type: group.type, message: group.message, service: group.service)))
              AND source = \(sql.bind(source.column))
            ORDER BY minute DESC
            """
        var found: Int64 = 0
        for row in try await reads.rows(sql.query(text)) {
            found += try row.int("count") ?? 0
            if found >= Int64(limit), let minute = try row.text("minute").flatMap(Timestamp.date) { return max(since, minute.unixNano - 1) }
        }
        return since
    }

    func logErrors(inGroup group: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [LogErrorOccurrence] {
        let start = try await occurrenceStart(group, source: .logs, since: since, limit: limit)
        var sql = SQLBuilder(reads.dialect)
        let window = sql.bindTime(unixNano: start)
        let columns = LogErrorOccurrence.selectList(replacing: reads.dialect == .postgres ? ["id": "id::text AS id"] : [:])
        let text = """
            SELECT \(columns), \(Self.logMessage) AS raw_message
            FROM enterprise.structured_logs
            WHERE timestamp > \(window) AND \(Self.errorLogFilter)
              AND \(Self.logType) = \(sql.bind(group.type)) AND COALESCE(service_name, '') = \(sql.bind(group.service))
            ORDER BY timestamp DESC LIMIT \(sql.bind(Int64(Self.occurrenceScanLimit)))
            """
        var occurrences: [LogErrorOccurrence] = []
        for row in try await reads.rows(sql.query(text)) where occurrences.count < limit {
            if ErrorNormaliser.normalise(try row.text("raw_message") ?? "") == group.message {
                occurrences.append(try row.decode(LogErrorOccurrence.self))
            }
        }
        return occurrences
    }

    func spanErrors(inGroup group: ErrorKey, since: Int64, limit: Int) async throws(StoreError) -> [SpanErrorOccurrence] {
        let start = try await occurrenceStart(group, source: .spans, since: since, limit: limit)
        var sql = SQLBuilder(reads.dialect)
        let window = sql.bindTime(unixNano: start)
        let text = """
            SELECT \(SpanErrorOccurrence.selectList(alias: "s", replacing: ["timestamp": "s.start_time AS timestamp"])),
                   \(spanMessage) AS raw_message
            FROM enterprise.trace_spans s
            WHERE s.start_time > \(window) AND s.status = 'error'
              AND \(spanType) = \(sql.bind(group.type)) AND COALESCE(s.service_name, '') = \(sql.bind(group.service))
            ORDER BY s.start_time DESC LIMIT \(sql.bind(Int64(Self.occurrenceScanLimit)))
            """
        var occurrences: [SpanErrorOccurrence] = []
        for row in try await reads.rows(sql.query(text)) where occurrences.count < limit {
            if ErrorNormaliser.normalise(try row.text("raw_message") ?? "") == group.message {
                occurrences.append(try row.decode(SpanErrorOccurrence.self))
            }
        }
        return occurrences
    }
}
