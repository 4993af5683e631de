import Foundation
@testable import Store
import StoreTestSupport
import Testing

extension PostgresPartitionTests {
    /// One gauge series (`queue.depth`) with a point at each time, the value its index.
    static func metricBatch(at times: [Int64]) -> WriteBatch {
        var batch = WriteBatch()
        batch.metricSeries = [MetricSeriesRow(
            seriesID: "e000000000000001", name: "queue.depth", description: "", unit: "1", type: "gauge", temporality: "",
            monotonic: false, serviceName: "shop", resource: #"{"service.name":"shop"}"#, scope: "test", attributes: "{}",
            lastSeenUnixNano: times.max() ?? 0)]
        batch.metricPoints = times.enumerated().map { index, time in
            MetricPointRow(seriesID: "e000000000000001", timeUnixNano: time, startTimeUnixNano: 0, value: Double(index))
        }
        return batch
    }
}

/// `enterprise.metric_points` by day on PostgreSQL (migration 022): a populated store keeps
/// every point through the migration, and retention drops whole days of points.
@Suite struct PostgresMetricPartitionTests {
    static let day = DayPartitionTests.day

    static func relkind(_ database: TestDatabase) async throws -> String? {
        try await database.rows("SELECT relkind::text AS k FROM pg_class WHERE oid = 'enterprise.metric_points'::regclass").first?.string("k")
    }

    @Test(.enabled(if: StoreKind.available.contains(.postgres)))
    func aStoreMigratedFromTheUnpartitionedPointsKeepsEveryPointAndAnswer() async throws {
        try await withTestDatabase(.postgres) { database in
            // Every migration but 022, marked as applied before the first start.
            try await database.execute("CREATE SCHEMA enterprise")
            try await database.execute("""
                CREATE TABLE enterprise.schema_migrations (version TEXT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """)
            try await database.execute("INSERT INTO enterprise.schema_migrations (version, name) VALUES ('022', 'metric_alerts_and_partitions')")
            let now = Date.now.unixNano
            let today = DayPartition(table: .metricPoints, containing: now).day
            // Four days of points, six hours apart, and one from 1999.
            let times = stride(from: now - 4 * Self.day + Self.day / 8, to: now, by: Int(Self.day / 4)).map { $0 } + [946_684_800_000_000_000]
            let filter = MetricSeriesFilter(name: "queue.depth", sinceUnixNano: 0, untilUnixNano: now)
            @Sendable func answers(_ store: any TelemetryStore) async throws -> [Double?] {
                var values: [Double?] = []
                for aggregation in MetricAggregation.allCases { values.append(try await store.queries.metrics.aggregate(aggregation, of: filter)) }
                let steps = try await store.queries.metrics.series(filter, stepNanoseconds: Self.day, limit: 100)
                return values + steps.map(\.average) + steps.map { Double($0.points) }
            }
            let before = try await withTestStore(.postgres, database: database) { store, database in
                #expect(try await Self.relkind(database) == "r")
                try await store.write(PostgresPartitionTests.metricBatch(at: times))
                return try await answers(store)
            }
            #expect(before.count > 4 && before[0] != nil)

            try await database.execute("DELETE FROM enterprise.schema_migrations WHERE version = '022'")
            try await withTestStore(.postgres, database: database) { store, database in
                #expect(try await Self.relkind(database) == "p")
                let counts = try await PostgresPartitionTests.partitionCounts(database, "metric_points")
                #expect(counts.values.reduce(0, +) == times.count)
                #expect(counts["metric_points_default"] == 1, "the 1999 point: \(counts)")
                // Every day that holds a point (four or five of them, by the time of day the
                // test runs at) has its partition with that day's points.
                for day in Set(times.dropLast().map { DayPartition(table: .metricPoints, containing: $0).day }) {
                    let expected = times.dropLast().filter { DayPartition(table: .metricPoints, containing: $0).day == day }.count
                    #expect(counts[DayPartition(table: .metricPoints, day: day).name] == expected, "\(counts)")
                }
                let names = try await PostgresPartitionTests.partitionNames(database, "metric_points")
                #expect(names.contains(DayPartition(table: .metricPoints, day: today + 2).name))
                #expect(try await answers(store) == before)
                // The key still stores a re-sent point once.
                try await store.write(PostgresPartitionTests.metricBatch(at: times))
                #expect(try await database.count("metric_points") == times.count)
            }
        }
    }

    /// As the worker calls it: the days wholly before the cutoff go as partitions, the points
    /// of the cutoff's day and of the default partition before it by rows, then the series no
    /// longer seen.
    @Test(.enabled(if: StoreKind.available.contains(.postgres)))
    func retentionDropsWholeDaysOfPoints() async throws {
        try await withTestStore(.postgres) { store, database in
            let partitions = try #require(store.timePartitions)
            let today = DayPartition(table: .metricPoints, containing: PostgresPartitionTests.now)
            try await partitions.ensurePartitions(around: today.lowerUnixNano - 4 * Self.day)
            // Noon of the five days before today and of today, and a point from 1999.
            let times = (-5...0).map { today.lowerUnixNano + Int64($0) * Self.day + Self.day / 2 } + [946_684_800_000_000_000]
            try await store.write(PostgresPartitionTests.metricBatch(at: times))
            #expect(try await PostgresPartitionTests.partitionCounts(database, "metric_points")["metric_points_default"] == 1)

            let retention = store.queries.retention
            #expect(await retention.acquireLeadership())
            let cutoff = today.lowerUnixNano - 2 * Self.day - Self.day / 4
            var deleted = DeletedRows()
            for _ in 0..<100 {
                let slice = try await retention.deleteExpired(.metrics, before: cutoff, limit: 500)
                if slice.isEmpty { break }
                deleted.add(slice)
            }
            await retention.releaseLeadership()
            let names = try await PostgresPartitionTests.partitionNames(database, "metric_points")
            for day in -5 ... -4 { #expect(!names.contains(DayPartition(table: .metricPoints, day: today.day + Int64(day)).name), "\(names)") }
            #expect(names.contains(DayPartition(table: .metricPoints, day: today.day - 3).name))
            // Kept: the noons of days -2, -1 and 0; day -3's and 1999's went by rows.
            let kept = try await database.rows("SELECT time_unix_nano FROM enterprise.metric_points ORDER BY 1").compactMap { $0.int("time_unix_nano") }
            #expect(kept == times[3...5].map { Int($0) })
            #expect(deleted.byTable["metric_points"] ?? 0 >= 2, "\(deleted)")
            #expect(try await database.count("metric_series") == 1, "the series is still seen")
        }
    }
}
