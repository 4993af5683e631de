import PostgresNIO

extension PostgresStatements {
    /// `rows` must hold each series once (`MetricSeriesRow.merging`).
    static func upsertMetricSeries(_ rows: [MetricSeriesRow]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 12)
        binds.append(rows.map(\.seriesID))
        binds.append(rows.map { StoreText.safe($0.name) })
        binds.append(rows.map { StoreText.safe($0.description) })
        binds.append(rows.map { StoreText.safe($0.unit) })
        binds.append(rows.map(\.type))
        binds.append(rows.map(\.temporality))
        binds.append(rows.map(\.monotonic))
        binds.append(rows.map { StoreText.safe($0.serviceName) })
        binds.append(rows.map { StoreText.safeJSON($0.resource) })
        binds.append(rows.map { StoreText.safe($0.scope) })
        binds.append(rows.map { StoreText.safeJSON($0.attributes) })
        binds.append(rows.map(\.lastSeenUnixNano))
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.metric_series AS s (series_id, name, description, unit, type, temporality, monotonic,
                service_name, resource, scope, attributes, first_seen_unix_nano, last_seen_unix_nano)
            SELECT r.series_id, r.name, r.description, r.unit, r.type, r.temporality, r.monotonic, r.service_name,
                r.resource::jsonb, r.scope, r.attributes::jsonb, r.seen, r.seen
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[],
                        $9::text[], $10::text[], $11::text[], $12::int8[])
                AS r(series_id, name, description, unit, type, temporality, monotonic, service_name, resource, scope,
                     attributes, seen)
            ON CONFLICT (series_id) DO UPDATE SET
                description = CASE WHEN excluded.last_seen_unix_nano >= s.last_seen_unix_nano THEN excluded.description ELSE s.description END,
                last_seen_unix_nano = GREATEST(s.last_seen_unix_nano, excluded.last_seen_unix_nano)
            """, binds: binds)
    }

    /// A point already stored (same series and time) is not inserted again.
    static func insertMetricPoints(_ rows: [MetricPointRow]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 11)
        binds.append(rows.map(\.seriesID))
        binds.append(rows.map(\.timeUnixNano))
        binds.append(rows.map(\.startTimeUnixNano))
        binds.append(NullableTextArray(elements: rows.map { float8Text($0.value) }))
        binds.append(NullableTextArray(elements: rows.map { $0.count.map(String.init) }))
        binds.append(NullableTextArray(elements: rows.map { float8Text($0.sum) }))
        binds.append(NullableTextArray(elements: rows.map { float8Text($0.min) }))
        binds.append(NullableTextArray(elements: rows.map { float8Text($0.max) }))
        binds.append(NullableTextArray(elements: rows.map { $0.buckets.map(StoreText.safeJSON) }))
        binds.append(NullableTextArray(elements: rows.map { $0.exemplars.map(StoreText.safeJSON) }))
        binds.append(rows.map(\.flags))
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.metric_points (series_id, time_unix_nano, start_time_unix_nano, value, count, sum, min, max,
                buckets, exemplars, flags)
            SELECT r.series_id, r.ts, r.start_ts, r.value::float8, r.count::int8, r.sum::float8, r.min::float8, r.max::float8,
                r.buckets::jsonb, r.exemplars::jsonb, r.flags
            FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                        $9::text[], $10::text[], $11::int8[])
                AS r(series_id, ts, start_ts, value, count, sum, min, max, buckets, exemplars, flags)
            ON CONFLICT (series_id, time_unix_nano) DO NOTHING
            """, binds: binds)
    }

    static func insertSystemMetrics(_ rows: [SystemMetricRow]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 6)
        binds.append(rows.map(\.timestampUnixNano))
        binds.append(rows.map(\.metricType))
        binds.append(rows.map(\.metricName))
        binds.append(rows.map(\.value))
        binds.append(rows.map(\.unit))
        binds.append(rows.map { StoreText.safeJSON($0.tags) })
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.system_metrics (timestamp, metric_type, metric_name, value, unit, tags)
            SELECT (timestamptz 'epoch' + (r.ts_ns / 1000) * interval '1 microsecond'), r.metric_type, r.metric_name,
                r.value, r.unit, r.tags::jsonb
            FROM unnest($1::int8[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::text[])
                AS r(ts_ns, metric_type, metric_name, value, unit, tags)
            """, binds: binds)
    }

    /// PostgreSQL's text for a float8 (`NaN`, `Infinity`), or NULL.
    private static func float8Text(_ value: Double?) -> String? {
        guard let value else { return nil }
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return "\(value)"
    }
}
