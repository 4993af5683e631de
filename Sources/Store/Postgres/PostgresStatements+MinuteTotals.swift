import PostgresNIO

extension PostgresStatements {
    /// Adds spans to their minutes' rows (`SpanOperationMinute`), one statement for the commit.
    static func upsertOperationMinutes(_ rows: [SpanOperationMinute]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 6)
        binds.append(rows.map(\.minuteUnixNano))
        binds.append(rows.map { StoreText.safe($0.serviceName) })
        binds.append(rows.map { StoreText.safe($0.operationName) })
        binds.append(rows.map(\.calls))
        binds.append(rows.map(\.totalMs))
        binds.append(rows.map(\.maxMs))
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.span_operation_minutes (minute, service_name, operation_name, calls, total_ms, max_ms)
            SELECT (timestamptz 'epoch' + (r.minute_ns / 1000) * interval '1 microsecond'), r.service_name, r.operation_name,
                   r.calls, r.total_ms, r.max_ms
            FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::float8[], $6::float8[])
                AS r(minute_ns, service_name, operation_name, calls, total_ms, max_ms)
            ON CONFLICT (minute, service_name, operation_name) DO UPDATE SET
                calls = span_operation_minutes.calls + excluded.calls,
                total_ms = span_operation_minutes.total_ms + excluded.total_ms,
                max_ms = GREATEST(span_operation_minutes.max_ms, excluded.max_ms)
            """, binds: binds)
    }
}

extension PostgresStatements {
    /// Adds records to their minutes' level counts (`LogLevelMinute`), one statement for the commit.
    static func upsertLevelMinutes(_ rows: [LogLevelMinute]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 4)
        binds.append(rows.map(\.minuteUnixNano))
        binds.append(rows.map { StoreText.safe($0.serviceName) })
        binds.append(rows.map { StoreText.safe($0.level) })
        binds.append(rows.map(\.count))
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.log_level_minutes (minute, service_name, level, count)
            SELECT (timestamptz 'epoch' + (r.minute_ns / 1000) * interval '1 microsecond'), r.service_name, r.level, r.count
            FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[]) AS r(minute_ns, service_name, level, count)
            ON CONFLICT (minute, service_name, level) DO UPDATE SET count = log_level_minutes.count + excluded.count
            """, binds: binds)
    }
}
