import SQLiteNIO

extension SQLiteStatements {
    /// A series keeps its first sighting; its description and last sighting follow the newest point.
    static let upsertMetricSeries = """
        INSERT INTO enterprise.metric_series (series_id, name, description, unit, type, temporality, monotonic,
            service_name, resource, scope, attributes, first_seen_unix_nano, last_seen_unix_nano)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(series_id) DO UPDATE SET
            description = CASE WHEN excluded.last_seen_unix_nano >= last_seen_unix_nano THEN excluded.description ELSE description END,
            last_seen_unix_nano = max(last_seen_unix_nano, excluded.last_seen_unix_nano)
        """

    /// A point already stored (same series and time) is not inserted again.
    static let insertMetricPoint = """
        INSERT INTO enterprise.metric_points (series_id, time_unix_nano, start_time_unix_nano, value, count, sum, min, max,
            buckets, exemplars, flags)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(series_id, time_unix_nano) DO NOTHING
        """

    static let insertSystemMetric = """
        INSERT INTO enterprise.system_metrics (timestamp, metric_type, metric_name, value, unit, tags) VALUES (?, ?, ?, ?, ?, ?)
        """
}

extension MetricSeriesRow {
    var sqliteBinds: [SQLiteData] {
        [
            SQLiteData(seriesID), SQLiteData(name), SQLiteData(description), SQLiteData(unit), SQLiteData(type),
            SQLiteData(temporality), .integer(monotonic ? 1 : 0), SQLiteData(serviceName), SQLiteData(resource),
            SQLiteData(scope), SQLiteData(attributes), SQLiteData(lastSeenUnixNano), SQLiteData(lastSeenUnixNano),
        ]
    }
}

extension MetricPointRow {
    var sqliteBinds: [SQLiteData] {
        [
            SQLiteData(seriesID), SQLiteData(timeUnixNano), SQLiteData(startTimeUnixNano), SQLiteData(real: value),
            count.map(SQLiteData.init) ?? .null, SQLiteData(real: sum), SQLiteData(real: min), SQLiteData(real: max),
            SQLiteData(buckets), SQLiteData(exemplars), SQLiteData(flags),
        ]
    }
}

extension SystemMetricRow {
    var sqliteBinds: [SQLiteData] {
        [
            SQLiteData(Timestamp.iso8601(unixNano: timestampUnixNano)), SQLiteData(metricType), SQLiteData(metricName),
            .float(value), SQLiteData(unit), SQLiteData(tags),
        ]
    }
}

extension SQLiteData {
    /// A REAL, or NULL. NaN is stored as NULL (SQLite has no NaN).
    init(real: Double?) {
        guard let real, !real.isNaN else { self = .null; return }
        self = .float(real)
    }
}
