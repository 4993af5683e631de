import Foundation
@testable import Store
import StoreTestSupport
import Testing

/// Day partitions of `trace_spans` and `structured_logs` (migration 017): names and plans with
/// no I/O, then upkeep, migration and pruning on a real PostgreSQL.
@Suite struct DayPartitionTests {
    static let day: Int64 = 86_400 * 1_000_000_000
    /// 2026-12-07T15:30:00Z.
    static let now: Int64 = 1_796_657_400_000_000_000

    @Test func aDayIsNamedAndParsedInUTC() throws {
        let partition = DayPartition(table: .traceSpans, containing: Self.now)
        #expect(partition.name == "trace_spans_p20261207")
        #expect(partition.lowerUnixNano == 1_796_601_600_000_000_000)
        #expect(partition.upperUnixNano == partition.lowerUnixNano + Self.day)
        #expect(partition.lowerLiteral == "'2026-12-07 00:00:00+00'")
        #expect(DayPartition(table: .traceSpans, name: "trace_spans_p20261207") == partition)
        #expect(DayPartition(table: .structuredLogs, name: "structured_logs_p19691231")?.day == -1)
        #expect(DayPartition(table: .traceSpans, containing: -1).day == -1, "before 1970 rounds down")
        for name in ["trace_spans_default", "trace_spans_p2026120", "trace_spans_p20261332", "structured_logs_p20261207",
                     "trace_spans_p2026120x"] {
            #expect(DayPartition(table: .traceSpans, name: name) == nil, "\(name)")
        }
    }

    @Test func upkeepCreatesYesterdayToTwoDaysAheadThatAreMissing() {
        let today = DayPartition(table: .structuredLogs, containing: Self.now)
        let existing: Set = [today, DayPartition(table: .structuredLogs, day: today.day + 1)]
        let missing = PartitionPlan.missing(.structuredLogs, existing: existing, around: Self.now, daysBack: 1, daysAhead: 2)
        #expect(missing.map(\.day) == [today.day - 1, today.day + 2])
        // Days the default partition holds rows of, within a year.
        let backfilled = PartitionPlan.missing(.structuredLogs, existing: existing, around: Self.now, daysBack: 1, daysAhead: 2,
                                               daysInDefault: [today.day - 30, today.day + 1, today.day - 400])
        #expect(backfilled.map(\.day) == [today.day - 30, today.day - 1, today.day + 2])
    }

    @Test func onlyDaysThatEndByTheCutoffAreDropped() {
        let days = (0..<5).map { DayPartition(table: .traceSpans, day: 20_000 + Int64($0)) }
        // The cutoff at 12:00 of the third day: that day holds rows after the cutoff and stays.
        let cutoff = days[2].lowerUnixNano + Self.day / 2
        #expect(PartitionPlan.droppable(days.reversed(), olderThan: cutoff) == [days[0], days[1]])
        #expect(PartitionPlan.droppable(days, olderThan: days[2].lowerUnixNano) == [days[0], days[1]])
        #expect(PartitionPlan.droppable(days, olderThan: days[0].lowerUnixNano).isEmpty)
    }
}

@Suite struct PostgresPartitionTests {
    static let day = DayPartitionTests.day
    static let second: Int64 = 1_000_000_000

    static var now: Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    static func span(_ trace: String, _ span: String, at start: Int64, error: Bool = false) -> SpanRow {
        SpanRow(traceID: trace, spanID: span, parentSpanID: nil, operationName: "GET /p", serviceName: "shop",
                startTimeUnixNano: start, endTimeUnixNano: start + 5_000_000, status: error ? "error" : "completed",
                errorMessage: error ? "boom" : nil, tags: "{}", logs: "[]", kind: 2, traceState: nil, flags: 0,
                statusCode: error ? 2 : 0, attributes: "[]", events: "[]", links: "[]", resource: "{}", scope: "{}",
                droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0)
    }

    static func trace(_ spans: [SpanRow]) -> TraceRow {
        let first = spans.min { $0.startTimeUnixNano < $1.startTimeUnixNano }!
        return TraceRow(
            traceID: first.traceID, startTimeUnixNano: first.startTimeUnixNano,
            endTimeUnixNano: spans.map(\.endTimeUnixNano).max()!, status: spans.contains { $0.status == "error" } ? "error" : "completed",
            errorMessage: nil,
            context: TraceContext(fromRoot: true, sourceStartUnixNano: first.startTimeUnixNano, entryPoint: "http", endpoint: "GET /p",
                                  method: "GET", sessionID: nil, userEmail: nil, department: nil, serviceName: "shop",
                                  rootSpanName: "GET /p", tags: "{}"))
    }

    static func log(at time: Int64, _ message: String, level: String = "INFO") -> LogRow {
        LogRow(timestampUnixNano: time, timeUnixNano: time, observedTimeUnixNano: time, level: level, loggerName: "shop.http",
               message: message, traceID: nil, spanID: nil, userEmail: nil, department: nil, sessionID: nil, endpoint: nil,
               extra: "{}", exceptionType: nil, exceptionMessage: nil, exceptionTraceback: nil, severityNumber: 9,
               severityText: level, body: nil, attributes: "[]", resource: "{}", scope: "{}", flags: 0, eventName: nil,
               droppedAttributesCount: 0, serviceName: "shop")
    }

    /// One trace of one span and one log record at each time.
    static func batch(at times: [Int64], tag: String) -> WriteBatch {
        let spans = times.enumerated().map { index, time in
            span(String(format: "%@%030d", tag, index), String(format: "%016d", index), at: time, error: index % 3 == 0)
        }
        return WriteBatch(traces: spans.map { trace([$0]) }, spans: spans,
                          logs: times.enumerated().map { index, time in log(at: time, "request \(tag) \(index) served") })
    }

    static func partitionCounts(_ database: TestDatabase, _ table: String) async throws -> [String: Int] {
        let rows = try await database.rows("SELECT tableoid::regclass::text AS part, count(*) AS n FROM enterprise.\(table) GROUP BY 1")
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.string("part")!.replacingOccurrences(of: "enterprise.", with: ""), $0.int("n")!) })
    }

    static func partitionNames(_ database: TestDatabase, _ table: String) async throws -> [String] {
        try await database.rows("""
            SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'enterprise.\(table)'::regclass ORDER BY 1
            """).compactMap { $0.string("name") }
    }

    @Test(.enabled(if: StoreKind.available.contains(.postgres)))
    func startUpCreatesTheComingDaysAndUpkeepIsIdempotent() async throws {
        try await withTestStore(.postgres) { store, database in
            let partitions = try #require(store.timePartitions)
            let today = DayPartition(table: .traceSpans, containing: Self.now).day
            for table in PartitionedTable.allCases {
                let names = try await Self.partitionNames(database, table.rawValue)
                for day in today - 1...today + 2 {
                    #expect(names.contains(DayPartition(table: table, day: day).name), "\(table): \(names)")
                }
                #expect(names.contains(table.defaultPartition))
            }
            #expect(try await partitions.ensurePartitions(around: Self.now).isEmpty, "migrate() already created them")
            let later = try await partitions.ensurePartitions(around: Self.now + 10 * Self.day)
            #expect(later.count == 12, "\(later)") // days 9 to 12, the three tables
            #expect(try await partitions.ensurePartitions(around: Self.now + 10 * Self.day).isEmpty)
        }
    }

    @Test(.enabled(if: StoreKind.available.contains(.postgres)))
    func rowsOfADayWithoutPartitionWaitInTheDefaultAndMoveToTheirDay() async throws {
        try await withTestStore(.postgres) { store, database in
            let partitions = try #require(store.timePartitions)
            // Six days ahead and thirty years back: no partition holds them, the write lands.
            let ahead = Self.now + 6 * Self.day
            try await store.write(Self.batch(at: [ahead, ahead + Self.second, 946_684_800_000_000_000], tag: "a"))
            #expect(try await Self.partitionCounts(database, "trace_spans") == ["trace_spans_default": 3])
            #expect(try await Self.partitionCounts(database, "structured_logs") == ["structured_logs_default": 3])

            // The next upkeep gives the day within a year its partition; 1999 stays in the default.
            let created = try await partitions.ensurePartitions(around: Self.now)
            let day = DayPartition(table: .traceSpans, containing: ahead)
            #expect(created.contains(day.name))
            #expect(try await Self.partitionCounts(database, "trace_spans") == [day.name: 2, "trace_spans_default": 1])
            let logDay = DayPartition(table: .structuredLogs, containing: ahead).name
            #expect(try await Self.partitionCounts(database, "structured_logs") == [logDay: 2, "structured_logs_default": 1])
            // The moved records keep their search vector; a re-sent span still adds nothing.
            #expect(try await database.rows("SELECT id FROM enterprise.structured_logs WHERE message_search @@ plainto_tsquery('english', 'served')").count == 3)
            let again = try await store.commit(Self.batch(at: [ahead, ahead + Self.second, 946_684_800_000_000_000], tag: "a"))
            #expect(again.spans.isEmpty)
            #expect(try await database.count("trace_spans") == 3)
        }
    }

    @Test(.enabled(if: StoreKind.available.contains(.postgres)))
    func droppingRemovesExactlyTheWholeDaysBeforeTheCutoff() async throws {
        try await withTestStore(.postgres) { store, database in
            let partitions = try #require(store.timePartitions)
            let today = DayPartition(table: .traceSpans, containing: Self.now)
            try await partitions.ensurePartitions(around: today.lowerUnixNano - 3 * Self.day)
            // Noon of the four days before today, and today.
            let times = (-4...0).map { today.lowerUnixNano + Int64($0) * Self.day + Self.day / 2 }
            try await store.write(Self.batch(at: times, tag: "d"))
            // A trace that starts before the cutoff and ends after it: its row stays for the
            // retention's row deletion, which takes its later span with it.
            let crossing = [Self.span("c0000000000000000000000000000001", "c000000000000001", at: today.lowerUnixNano - 2 * Self.day - Self.second),
                            Self.span("c0000000000000000000000000000001", "c000000000000002", at: today.lowerUnixNano - 2 * Self.day + Self.second)]
            try await store.write(WriteBatch(traces: [Self.trace(crossing)], spans: crossing))

            let cutoff = today.lowerUnixNano - 2 * Self.day
            let spans = try await partitions.dropPartitions(of: .traceSpans, olderThan: cutoff)
            let logs = try await partitions.dropPartitions(of: .structuredLogs, olderThan: cutoff)
            let dropped = (-4 ... -3).map { DayPartition(table: .traceSpans, day: today.day + Int64($0)).name }
            #expect(spans.names == dropped)
            #expect(logs.names == (-4 ... -3).map { DayPartition(table: .structuredLogs, day: today.day + Int64($0)).name })
            let remaining = try await Self.partitionNames(database, "trace_spans")
            #expect(!remaining.contains { dropped.contains($0) })
            #expect(remaining.contains(DayPartition(table: .traceSpans, day: today.day - 2).name))
            #expect(try await database.count("trace_spans") == 4, "days -2, -1, 0 and the crossing trace's later span")
            #expect(try await database.count("structured_logs") == 3)
            #expect(try await partitions.dropPartitions(of: .traceSpans, olderThan: cutoff) == DroppedPartitions())

            // The retention's trace deletion then removes the traces started before the cutoff
            // with their spans on later days (foreign key, ON DELETE CASCADE).
            try await database.execute("DELETE FROM enterprise.traces WHERE start_time < '\(Timestamp.iso8601(unixNano: cutoff))'")
            #expect(try await database.count("trace_spans") == 3)

            // Writes after the drop land, in a kept day and in a dropped one (the default).
            try await store.write(Self.batch(at: [Self.now, today.lowerUnixNano - 4 * Self.day + Self.second], tag: "e"))
            #expect(try await database.count("trace_spans") == 5)
            #expect(try await database.count("structured_logs") == 5)
            #expect(try await Self.partitionCounts(database, "trace_spans")["trace_spans_default"] == 1)
        }
    }

    /// Retention on a partitioned store, as the worker calls it: whole days go as partitions,
    /// the boundary day and the traces that started before the cutoff by rows, and no kept
    /// trace loses a span.
    @Test(.enabled(if: StoreKind.available.contains(.postgres)))
    func retentionDropsWholeDaysThenDeletesTheRestByRows() async throws {
        try await withTestStore(.postgres) { store, database in
            let partitions = try #require(store.timePartitions)
            let today = DayPartition(table: .traceSpans, containing: Self.now)
            try await partitions.ensurePartitions(around: today.lowerUnixNano - 4 * Self.day)
            let times = (-5...0).map { today.lowerUnixNano + Int64($0) * Self.day + Self.day / 2 }
            try await store.write(Self.batch(at: times, tag: "r"))
            // A trace that starts on the day before the cutoff's and goes on into a kept day.
            let crossing = [Self.span("c0000000000000000000000000000002", "c000000000000003", at: today.lowerUnixNano - 3 * Self.day - Self.second),
                            Self.span("c0000000000000000000000000000002", "c000000000000004", at: today.lowerUnixNano - Self.day)]
            try await store.write(WriteBatch(traces: [Self.trace(crossing)], spans: crossing))

            let retention = store.queries.retention
            #expect(await retention.acquireLeadership())
            let cutoff = today.lowerUnixNano - 2 * Self.day - Self.day / 4
            var deleted = DeletedRows()
            for signal in [RetentionSignal.traces, .logs] {
                for _ in 0..<100 {
                    let slice = try await retention.deleteExpired(signal, before: cutoff, limit: 500)
                    if slice.isEmpty { break }
                    deleted.add(slice)
                }
            }
            await retention.releaseLeadership()
            // Days -5 and -4 went as partitions; day -3 (holding the cutoff) stays a partition,
            // its rows before the cutoff deleted by rows.
            let names = try await Self.partitionNames(database, "trace_spans")
            for day in -5 ... -4 { #expect(!names.contains(DayPartition(table: .traceSpans, day: today.day + Int64(day)).name)) }
            #expect(names.contains(DayPartition(table: .traceSpans, day: today.day - 3).name))
            #expect(deleted.byTable["traces"] ?? 0 >= 3, "\(deleted)")
            // Kept: the spans of days -2 (noon is after the cutoff), -1 and 0, each with its trace;
            // the crossing trace started before the cutoff and went whole.
            #expect(try await database.count("trace_spans") == 3)
            #expect(try await database.count("traces") == 3)
            #expect(try await database.count("structured_logs") == 3)
            let orphans = try await database.rows("""
                SELECT count(*) AS n FROM enterprise.trace_spans s WHERE NOT EXISTS (SELECT 1 FROM enterprise.traces t WHERE t.trace_id = s.trace_id)
                """)
            #expect(orphans.first?.int("n") == 0)
        }
    }
}
