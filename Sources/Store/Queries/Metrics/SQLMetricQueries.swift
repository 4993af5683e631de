import Foundation
import SQLiteNIO

/// `MetricQueries` on either store: series are found by name (`idx_metric_series_name`), their
/// points by series and time (the points' primary key). Deletes run on the store's writer
/// (`delete`), since reads are read-only.
struct SQLMetricQueries: MetricQueries {
    let reads: StoreReads
    /// Runs one DELETE statement on the writer and returns the rows it deleted.
    let delete: @Sendable (ReadQuery) async throws -> Int

    /// Rows an aggregate that is computed here (rate, histogram percentiles) reads at most.
    static let aggregateRowLimit = 50_000

    func metricNames(sinceUnixNano: Int64, limit: Int) async throws(StoreError) -> [MetricNameRecord] {
        var sql = SQLBuilder(reads.dialect)
        let since = sql.bind(sinceUnixNano)
        let text = """
            SELECT name, max(type) AS type, max(unit) AS unit, max(description) AS description, count(*) AS series_count
            FROM enterprise.metric_series WHERE last_seen_unix_nano > \(since)
            GROUP BY name ORDER BY name LIMIT \(max(1, limit))
            """
        return try await reads.rows(sql.query(text)).map { row throws(StoreError) in
            MetricNameRecord(name: try row.text("name") ?? "", type: try row.text("type") ?? "", unit: try row.text("unit") ?? "",
                             description: try row.text("description") ?? "", seriesCount: try row.int("series_count") ?? 0)
        }
    }

    func series(_ filter: MetricSeriesFilter, stepNanoseconds: Int64, limit: Int) async throws(StoreError) -> [MetricStepRecord] {
        var sql = SQLBuilder(reads.dialect)
        let step = sql.bind(max(1, stepNanoseconds))
        let conditions = self.conditions(&sql, filter)
        let statement = """
            SELECT s.series_id, \(text("s.attributes")) AS attributes, s.service_name, (p.time_unix_nano / \(step)) * \(step) AS step,
                   count(*) AS points, avg(p.value) AS average, min(p.value) AS minimum, max(p.value) AS maximum,
                   CAST(CASE WHEN max(s.temporality) = 'cumulative' THEN max(p.count) ELSE sum(p.count) END AS DOUBLE PRECISION) AS count,
                   CAST(CASE WHEN max(s.temporality) = 'cumulative' THEN max(p.sum) ELSE sum(p.sum) END AS DOUBLE PRECISION) AS sum
            FROM enterprise.metric_series s JOIN enterprise.metric_points p ON p.series_id = s.series_id
            WHERE \(conditions)
            GROUP BY s.series_id, \(text("s.attributes")), s.service_name, (p.time_unix_nano / \(step)) * \(step)
            ORDER BY s.series_id, step LIMIT \(max(1, limit))
            """
        return try await reads.rows(sql.query(statement)).map { row throws(StoreError) in
            MetricStepRecord(
                seriesID: try row.text("series_id") ?? "", attributes: try row.text("attributes") ?? "{}",
                serviceName: try row.text("service_name") ?? "", stepUnixNano: try row.int("step") ?? 0, points: try row.int("points") ?? 0,
                average: try row.double("average"), minimum: try row.double("minimum"), maximum: try row.double("maximum"),
                count: try row.double("count"), sum: try row.double("sum"))
        }
    }

    func aggregate(_ aggregation: MetricAggregation, of filter: MetricSeriesFilter) async throws(StoreError) -> Double? {
        switch aggregation {
        case .avg, .max:
            var sql = SQLBuilder(reads.dialect)
            let conditions = self.conditions(&sql, filter)
            let text = """
                SELECT avg(p.value) AS average, max(p.value) AS maximum, max(p.max) AS histogram_max,
                       CAST(sum(p.count) AS DOUBLE PRECISION) AS count, CAST(sum(p.sum) AS DOUBLE PRECISION) AS sum
                FROM enterprise.metric_series s JOIN enterprise.metric_points p ON p.series_id = s.series_id
                WHERE \(conditions)
                """
            guard let row = try await reads.rows(sql.query(text)).first else { return nil }
            if aggregation == .max {
                if let maximum = try row.double("maximum") { return maximum }
                return try row.double("histogram_max")
            }
            if let average = try row.double("average") { return average }
            guard let count = try row.double("count"), count > 0, let sum = try row.double("sum") else { return nil }
            return sum / count
        case .rate, .p95:
            var sql = SQLBuilder(reads.dialect)
            let conditions = self.conditions(&sql, filter)
            let text = """
                SELECT s.series_id, s.temporality, p.time_unix_nano, p.start_time_unix_nano, p.value, \(text("p.buckets")) AS buckets
                FROM enterprise.metric_series s JOIN enterprise.metric_points p ON p.series_id = s.series_id
                WHERE \(conditions)
                ORDER BY s.series_id, p.time_unix_nano LIMIT \(Self.aggregateRowLimit)
                """
            var points: [MetricWindowPoint] = []
            for row in try await reads.rows(sql.query(text)) {
                points.append(MetricWindowPoint(
                    seriesID: try row.text("series_id") ?? "", cumulative: try row.text("temporality") == "cumulative",
                    startedInWindow: try row.int("start_time_unix_nano").map { $0 > filter.sinceUnixNano } ?? false,
                    value: try row.double("value"), buckets: try row.text("buckets").flatMap(ExplicitBuckets.init(json:))))
            }
            let seconds = Double(filter.untilUnixNano - filter.sinceUnixNano) / 1e9
            return aggregation == .rate ? MetricWindowPoint.rate(points, seconds: seconds) : MetricWindowPoint.p95(points)
        }
    }

    func exposition(seenSinceUnixNano: Int64, limit: Int) async throws(StoreError) -> [MetricExpositionRecord] {
        var latest = SQLBuilder(reads.dialect)
        let since = latest.bind(seenSinceUnixNano)
        let statement = """
            SELECT s.series_id, s.name, s.description, s.unit, s.type, s.temporality, s.monotonic, \(text("s.resource")) AS resource,
                   \(text("s.attributes")) AS attributes, p.time_unix_nano, p.value, CAST(p.count AS DOUBLE PRECISION) AS count, p.sum,
                   \(text("p.buckets")) AS buckets
            FROM enterprise.metric_series s
            JOIN enterprise.metric_points p ON p.series_id = s.series_id AND p.time_unix_nano = s.last_seen_unix_nano
            WHERE s.last_seen_unix_nano > \(since)
            ORDER BY s.name, s.series_id LIMIT \(max(1, limit))
            """
        var records: [(id: String, record: MetricExpositionRecord)] = []
        for row in try await reads.rows(latest.query(statement)) {
            records.append((try row.text("series_id") ?? "", MetricExpositionRecord(
                name: try row.text("name") ?? "", description: try row.text("description") ?? "", unit: try row.text("unit") ?? "",
                type: try row.text("type") ?? "", temporality: try row.text("temporality") ?? "", monotonic: try row.bool("monotonic") ?? false,
                resource: try row.text("resource") ?? "{}", attributes: try row.text("attributes") ?? "{}",
                timeUnixNano: try row.int("time_unix_nano") ?? 0, value: try row.double("value"), count: try row.double("count"),
                sum: try row.double("sum"), buckets: try row.text("buckets"))))
        }
        guard records.contains(where: { $0.record.temporality == "delta" }) else { return records.map(\.record) }

        // Delta series: their points added up (delta → cumulative).
        var totals = SQLBuilder(reads.dialect)
        let deltaSince = totals.bind(seenSinceUnixNano)
        let deltaText = """
            SELECT p.series_id, sum(p.value) AS value, CAST(sum(p.count) AS DOUBLE PRECISION) AS count, sum(p.sum) AS sum
            FROM enterprise.metric_series s JOIN enterprise.metric_points p ON p.series_id = s.series_id
            WHERE s.temporality = 'delta' AND s.last_seen_unix_nano > \(deltaSince)
            GROUP BY p.series_id
            """
        var sums: [String: (Double?, Double?, Double?)] = [:]
        for row in try await reads.rows(totals.query(deltaText)) {
            sums[try row.text("series_id") ?? ""] = (try row.double("value"), try row.double("count"), try row.double("sum"))
        }
        var buckets = SQLBuilder(reads.dialect)
        let bucketSince = buckets.bind(seenSinceUnixNano)
        let bucketText = """
            SELECT p.series_id, \(text("p.buckets")) AS buckets
            FROM enterprise.metric_series s JOIN enterprise.metric_points p ON p.series_id = s.series_id
            WHERE s.temporality = 'delta' AND s.type IN ('histogram', 'exponential_histogram') AND s.last_seen_unix_nano > \(bucketSince)
            ORDER BY p.series_id, p.time_unix_nano LIMIT \(Self.aggregateRowLimit)
            """
        var bucketLists: [String: [String]] = [:]
        for row in try await reads.rows(buckets.query(bucketText)) {
            if let json = try row.text("buckets") { bucketLists[try row.text("series_id") ?? "", default: []].append(json) }
        }
        return records.map { id, record in
            var record = record
            if let (value, count, sum) = sums[id] {
                (record.deltaValue, record.deltaCount, record.deltaSum) = (value, count, sum)
                record.deltaBuckets = bucketLists[id] ?? []
            }
            return record
        }
    }

    func deleteMetrics(beforeUnixNano: Int64, limit: Int) async throws(StoreError) -> Int {
        // Retention's own slice (`RetentionSignal.metrics`): points first, then the series
        // last seen before the cutoff once no such point is left.
        let slice = RetentionStatements(dialect: reads.dialect).slice(.metrics, before: beforeUnixNano, limit: max(1, limit))
        var deleted = 0
        for step in slice.main { deleted += try await run(step.query) }
        if deleted > 0 { return deleted }
        for step in slice.then { deleted += try await run(step.query) }
        return deleted
    }

    private func run(_ query: ReadQuery) async throws(StoreError) -> Int {
        do {
            return try await delete(query)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(operation: "delete", reason: "\(error)")
        }
    }

    /// A JSON column as text.
    private func text(_ column: String) -> String {
        reads.dialect == .postgres ? "\(column)::text" : column
    }

    /// The series of `filter.name` that carry its attributes, and their points in its window.
    private func conditions(_ sql: inout SQLBuilder, _ filter: MetricSeriesFilter) -> String {
        var conditions = [
            "s.name = \(sql.bind(filter.name))",
            "p.time_unix_nano > \(sql.bind(filter.sinceUnixNano))",
            "p.time_unix_nano <= \(sql.bind(filter.untilUnixNano))",
        ]
        if let service = filter.serviceName { conditions.append("s.service_name = \(sql.bind(service))") }
        for (key, value) in filter.attributes.sorted(by: { $0.key < $1.key }) {
            let wanted = sql.bind(value)
            switch reads.dialect {
            case .postgres:
                let name = sql.bind(key)
                conditions.append("coalesce(s.attributes->>\(name), s.resource->>\(name)) = \(wanted)")
            case .sqlite:
                let path = sql.bind("$.\"" + key.replacingOccurrences(of: "\"", with: "") + "\"")
                conditions.append("""
                    CAST(coalesce(json_extract(s.attributes, \(path)), json_extract(s.resource, \(path))) AS TEXT) = \(wanted)
                    """)
            }
        }
        return conditions.joined(separator: " AND ")
    }
}

/// A point as the computed aggregates read it.
struct MetricWindowPoint {
    var seriesID: String
    var cumulative: Bool
    /// A cumulative point whose start time lies inside the window: everything it counts
    /// happened in the window (a series that began there, or restarted).
    var startedInWindow: Bool = false
    var value: Double?
    var buckets: ExplicitBuckets?

    /// Per series: a cumulative sum's growth (latest minus earliest; after a reset, or when
    /// the earliest point started inside the window, the latest), a delta sum's values added
    /// up; summed over the series, per second.
    static func rate(_ points: [MetricWindowPoint], seconds: Double) -> Double? {
        guard seconds > 0 else { return nil }
        var total = 0.0
        var any = false
        for series in Dictionary(grouping: points, by: \.seriesID).values {
            let values = series.compactMap(\.value)
            guard let first = values.first, let last = values.last else { continue }
            any = true
            if series[0].cumulative {
                total += last >= first && !series[0].startedInWindow ? last - first : last
            } else {
                total += values.reduce(0, +)
            }
        }
        return any ? total / seconds : nil
    }

    /// The 95th percentile of the values (interpolated between the nearest ranks), or, for
    /// histograms, of the observations the window's buckets hold (a cumulative histogram's
    /// latest buckets minus its earliest, unless the earliest started inside the window),
    /// interpolated inside the bucket.
    static func p95(_ points: [MetricWindowPoint]) -> Double? {
        let histograms = points.filter { $0.buckets != nil }
        guard !histograms.isEmpty else {
            let values = points.compactMap(\.value).filter { !$0.isNaN }.sorted()
            guard !values.isEmpty else { return nil }
            let rank = 0.95 * Double(values.count - 1)
            let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
            return values[low] + (values[high] - values[low]) * (rank - Double(low))
        }
        var merged: ExplicitBuckets?
        for series in Dictionary(grouping: histograms, by: \.seriesID).values {
            let buckets = series.compactMap(\.buckets)
            guard var window = buckets.last else { continue }
            if series[0].cumulative, !series[0].startedInWindow, buckets.count > 1, let first = buckets.first, first.bounds == window.bounds,
               zip(window.counts, first.counts).allSatisfy({ $0 >= $1 }) {
                window.counts = zip(window.counts, first.counts).map { $0 - $1 }
            } else if !series[0].cumulative {
                window = buckets.dropLast().reduce(window) { $0.adding($1) }
            }
            merged = merged.map { $0.adding(window) } ?? window
        }
        return merged?.quantile(0.95)
    }
}

/// Explicit histogram buckets as stored: `{"bounds":[…],"counts":[…]}`.
struct ExplicitBuckets: Equatable {
    var bounds: [Double]
    var counts: [Double]

    init?(json: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let bounds = object["bounds"] as? [Any], let counts = object["counts"] as? [Any] else { return nil }
        self.bounds = bounds.compactMap { ($0 as? NSNumber)?.doubleValue }
        self.counts = counts.compactMap { ($0 as? NSNumber)?.doubleValue }
        guard self.counts.count == self.bounds.count + 1 else { return nil }
    }

    /// These counts plus `other`'s, when both have the same bounds (else these).
    func adding(_ other: ExplicitBuckets) -> ExplicitBuckets {
        guard other.bounds == bounds else { return self }
        var sum = self
        sum.counts = zip(counts, other.counts).map { $0 + $1 }
        return sum
    }

    /// The `q` quantile, interpolated linearly inside its bucket (as Prometheus's
    /// `histogram_quantile`); the open-ended last bucket answers with the last bound.
    func quantile(_ q: Double) -> Double? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = q * total
        var seen = 0.0
        for (index, count) in counts.enumerated() {
            if seen + count >= rank, count > 0 {
                if index == bounds.count { return bounds.last }
                let upper = bounds[index]
                let lower = index == 0 ? min(0, upper) : bounds[index - 1]
                return lower + (upper - lower) * (rank - seen) / count
            }
            seen += count
        }
        return bounds.last
    }
}

extension SQLiteStore {
    /// The SQLite implementation (`StoreQueries` collects it); deletes on the writer connection.
    var metricQueries: any MetricQueries {
        SQLMetricQueries(reads: StoreReads(self), delete: { [writer] query in
            let binds = query.binds.map({ SQLiteData($0) })
            return try await writer.transaction { session in try session.run(query.sql, binds) }
        })
    }
}

extension PostgresStore {
    /// The PostgreSQL implementation (`StoreQueries` collects it): reads on the read replica
    /// if any, deletes on the writer pool.
    var metricQueries: any MetricQueries {
        SQLMetricQueries(reads: StoreReads(replicaOf: self), delete: { [self] query in try await execute(query) })
    }
}
