import Foundation
@testable import Store
import StoreTestSupport
import Synchronization
import Testing

/// Migrations 017 and 022 on a populated store, and the partitions a 24-hour query reads.
@Suite struct PostgresPartitionMigrationTests {
    typealias Contract = QueryContractData
    static let day = DayPartitionTests.day

    /// The contract data (around `t0`), the same shapes on the three days before it, and a span
    /// and a record from 1999 (no partition: the default one).
    static var batches: [WriteBatch] {
        var batches = [Contract.traceBatch, Contract.logBatch]
        for back in 1...3 {
            let shift = Int64(back) * day
            let spans = Contract.spans.map { spec -> Contract.SpanSpec in
                var spec = spec
                spec.trace = "\(back)" + spec.trace.dropFirst()
                spec.start -= shift
                return spec
            }
            let logs = Contract.logs.map { spec -> Contract.LogSpec in
                var spec = spec
                spec.at -= shift
                spec.trace = spec.trace.map { "\(back)" + $0.dropFirst() }
                return spec
            }
            batches.append(WriteBatch(traces: spans.map(Contract.traceRow), spans: spans.map(Contract.spanRow), logs: logs.map(Contract.logRow)))
        }
        let old = Contract.SpanSpec(trace: Contract.traceID("99"), span: "0000000000000099", name: "old", service: "shop",
                                start: 946_684_800_000_000_000, durationMs: 1)
        var record = Contract.logs[0]
        record.at = 946_684_800_000_000_000
        batches.append(WriteBatch(traces: [Contract.traceRow(old)], spans: [Contract.spanRow(old)], logs: [Contract.logRow(record)]))
        return batches
    }

    /// What the store answers to a few representative calls of each query concern.
    struct Answers: Equatable {
        var traceLists: [TraceListPage] = []
        var traces: [TraceDetail?] = []
        var summary: TraceSummary?
        var logLists: [LogListPage] = []
        var lokiLines: [[LokiLine]] = []
        var errorTallies: [[ErrorTally]] = []
        var rowCounts: [Int] = []
    }

    static func answers(_ queries: StoreQueries, _ database: TestDatabase) async throws -> Answers {
        let since = Contract.t0 - 4 * day
        var answers = Answers()
        for filter in [TraceFilter(since: since), TraceFilter(since: since, status: "error"),
                       TraceFilter(since: Contract.t0 - day, service: "shop", operation: "db")] {
            answers.traceLists.append(try await queries.traces.traceList(filter, limit: 50, offset: 0, countLimit: 1_000))
        }
        for id in [Contract.traceID("a"), Contract.traceID("b"), "2" + Contract.traceID("b").dropFirst(), Contract.traceID("99"), Contract.traceID("f")] {
            answers.traces.append(try await queries.traces.trace(id: id))
        }
        var summary = try await queries.traces.traceSummary(since: since, service: nil)
        summary.operations.sort { $0.name < $1.name } // in no particular order
        answers.summary = summary
        for filter in [LogFilter(since: since), LogFilter(since: since, search: "card"), LogFilter(since: Contract.t0 - day, level: "ERROR"),
                       LogFilter(since: since, traceID: Contract.traceID("b"))] {
            answers.logLists.append(try await queries.logs.logList(filter, limit: 100, offset: 0, countLimit: 1_000))
        }
        for selection in [LokiSelection(matchers: [LokiLabelMatch("service_name", .equal, "shop")]),
                          LokiSelection(matchers: [LokiLabelMatch("service_name", .notEqual, "")], lineFilters: [LokiLineMatch(.contains, "card")])] {
            answers.lokiLines.append(try await queries.loki.lines(selection, from: since, toExclusive: Contract.t0 + day, limit: 100, backward: true))
        }
        for source in ErrorSource.allCases {
            answers.errorTallies.append(try await queries.errors.errorTallies(source, since: since, limit: 20))
        }
        for table in ["traces", "trace_spans", "structured_logs", "span_operation_minutes", "log_level_minutes", "llm_call_metrics"] {
            answers.rowCounts.append(try await database.count(table))
        }
        return answers
    }

    @Test(.enabled(if: StoreKind.available.contains(.postgres)))
    func aStoreMigratedFromTheUnpartitionedTablesKeepsEveryRowAndAnswer() async throws {
        try await withTestDatabase(.postgres) { database in
            // Today's schema: every migration but 017, marked as applied before the first start.
            try await database.execute("CREATE SCHEMA enterprise")
            try await database.execute("""
                CREATE TABLE enterprise.schema_migrations (version TEXT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """)
            try await database.execute("INSERT INTO enterprise.schema_migrations (version, name) VALUES ('017', 'time_partitions')")
            let before = try await withTestStore(.postgres, database: database) { store, database in
                #expect(try await database.rows("SELECT relkind::text AS k FROM pg_class WHERE oid = 'enterprise.trace_spans'::regclass").first?.string("k") == "r")
                // This version's writer names the span key with its start time (ON CONFLICT): the
                // old table gets that index beside its own, which the migration drops with it.
                try await database.execute("CREATE UNIQUE INDEX test_span_key ON enterprise.trace_spans (trace_id, span_id, start_time)")
                for batch in Self.batches { try await store.write(batch) }
                return try await Self.answers(store.queries, database)
            }
            #expect(before.rowCounts[1] == 33 && before.rowCounts[2] == 29, "\(before.rowCounts)")
            #expect(before.traces[0]?.spans.count == 3)

            try await database.execute("DELETE FROM enterprise.schema_migrations WHERE version = '017'")
            try await withTestStore(.postgres, database: database) { store, database in
                for table in [PartitionedTable.traceSpans, .structuredLogs] {
                    #expect(try await database.rows("SELECT relkind::text AS k FROM pg_class WHERE oid = 'enterprise.\(table.rawValue)'::regclass").first?.string("k") == "p")
                    let counts = try await PostgresPartitionTests.partitionCounts(database, table.rawValue)
                    #expect(counts.count == 5, "four days and the default: \(counts)")
                    #expect(counts[table.defaultPartition] == 1)
                }
                let after = try await Self.answers(store.queries, database)
                #expect(after.rowCounts == before.rowCounts)
                #expect(after.traceLists == before.traceLists)
                #expect(after.traces == before.traces)
                #expect(after.summary == before.summary)
                #expect(after.logLists == before.logLists)
                #expect(after.lokiLines == before.lokiLines)
                #expect(after.errorTallies == before.errorTallies)
                // A span re-sent after the migration adds nothing; a new one lands.
                let again = try await store.commit(Contract.traceBatch)
                #expect(again.spans.isEmpty)
                #expect(try await database.count("trace_spans") == 33)
            }
        }
    }
}

/// A store that reads through PostgreSQL and keeps, for each statement that reads a
/// partitioned table, the partitions its plan reads.
final class PlanRecordingStore: TelemetryStore {
    let inner: any TelemetryStore
    let plans = Mutex<[(sql: String, partitions: Set<String>)]>([])

    init(_ inner: any TelemetryStore) { self.inner = inner }

    var dialect: SQLDialect { inner.dialect }
    func migrate() async throws -> [String] { [] }
    func write(_ batch: WriteBatch) async throws { try await inner.write(batch) }
    func commit(_ batch: WriteBatch) async throws -> WriteBatch { try await inner.commit(batch) }
    func ping() async throws {}
    func ruleQueryRunner(maxConcurrent: Int) async -> any RuleQueryRunner { await inner.ruleQueryRunner(maxConcurrent: maxConcurrent) }
    func close() async throws {}

    func read(_ query: ReadQuery) async throws -> [ResultRow] {
        if query.sql.contains("trace_spans") || query.sql.contains("structured_logs") || query.sql.contains("metric_points") {
            let plan = try await inner.read(ReadQuery(sql: "EXPLAIN " + query.sql, binds: query.binds))
            let text = plan.compactMap { $0.values.first?.text }.joined(separator: "\n")
            let partitions = Set(text.matches(of: /(trace_spans|structured_logs|metric_points)_(p\d{8}|default)/).map { String($0.output.0) })
            plans.withLock { $0.append((query.sql, partitions)) }
        }
        return try await inner.read(query)
    }
}

@Suite struct PostgresPartitionPruningTests {
    static let day = DayPartitionTests.day

    /// Seven days of spans and records, an hour apart; the 24-hour queries read today's and
    /// yesterday's partitions and the (empty) days ahead, never an older day; the default
    /// partition too, which an open-ended window includes.
    @Test(.enabled(if: StoreKind.available.contains(.postgres)))
    func aDayQueryReadsOnlyThePartitionsOfItsWindow() async throws {
        try await withTestStore(.postgres) { store, database in
            let now = PostgresPartitionTests.now
            let today = DayPartition(table: .traceSpans, containing: now).day
            try await #require(store.timePartitions).ensurePartitions(around: now - 5 * Self.day)
            let times = stride(from: now - 7 * Self.day, to: now, by: Int(Self.day / 24)).map { $0 }
            try await store.write(PostgresPartitionTests.batch(at: times, tag: "f"))
            try await store.write(PostgresPartitionTests.metricBatch(at: times))
            try await database.execute("ANALYZE enterprise.trace_spans")
            try await database.execute("ANALYZE enterprise.structured_logs")
            try await database.execute("ANALYZE enterprise.metric_points")

            let recording = PlanRecordingStore(store)
            let queries = StoreQueries(
                traces: SQLTraceQueries(reads: StoreReads(recording)), logs: SQLLogQueries(reads: StoreReads(recording)),
                errors: SQLErrorQueries(reads: StoreReads(recording)), logFeed: UnsupportedQueries(),
                tempo: SQLTempoQueries(reader: DialectReader(dialect: .postgres) { try await recording.read($0) }),
                loki: SQLLokiQueries(reader: DialectReader(dialect: .postgres) { try await recording.read($0) }),
                alerts: UnsupportedQueries(), alertMetrics: UnsupportedQueries(),
                retention: UnsupportedQueries(), metrics: SQLMetricQueries(reads: StoreReads(recording), delete: { _ in 0 }))
            let since = now - Self.day
            _ = try await queries.traces.traceSummary(since: since, service: nil)
            _ = try await queries.logs.logList(LogFilter(since: since), limit: 100, offset: 0, countLimit: 1_000)
            _ = try await queries.logs.logList(LogFilter(since: since, search: "served"), limit: 100, offset: 0, countLimit: 1_000)
            _ = try await queries.logs.logList(LogFilter(since: since, level: "INFO"), limit: 100, offset: 0, countLimit: 1_000)
            _ = try await queries.loki.lines(LokiSelection(matchers: [LokiLabelMatch("service_name", .equal, "shop")]),
                                             from: since, toExclusive: now, limit: 100, backward: true)
            _ = try await queries.loki.lines(LokiSelection(matchers: [LokiLabelMatch("service_name", .equal, "shop")],
                                                           lineFilters: [LokiLineMatch(.contains, "served")]),
                                             from: since, toExclusive: now, limit: 100, backward: true)
            for source in ErrorSource.allCases { _ = try await queries.errors.errorTallies(source, since: since, limit: 20) }
            let points = MetricSeriesFilter(name: "queue.depth", sinceUnixNano: since, untilUnixNano: now)
            for aggregation in MetricAggregation.allCases { _ = try await queries.metrics.aggregate(aggregation, of: points) }
            _ = try await queries.metrics.series(points, stepNanoseconds: Self.day / 24, limit: 1_000)

            let oldest = today - 1 // the day the window starts in; later days (empty ones ahead) may be read
            let plans = recording.plans.withLock { $0 }
            #expect(plans.count >= 11, "\(plans.map(\.sql))")
            #expect(plans.contains { $0.partitions.contains { $0.hasPrefix("metric_points_p") } })
            for plan in plans {
                #expect(!plan.partitions.isEmpty, "reads a partition: \(plan.sql)")
                for name in plan.partitions where !name.hasSuffix("_default") {
                    let day = PartitionedTable.allCases.lazy.compactMap { DayPartition(table: $0, name: name) }.first
                    #expect(day.map { $0.day >= oldest } == true, "\(name) read by \(plan.sql)")
                }
            }
        }
    }
}
