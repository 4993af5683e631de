import PostgresNIO

extension PostgresStatements {
    /// Adds errors to their minutes' group rows (`ErrorGroupMinute`), one statement for the
    /// commit; merged as `ErrorGroupMinute.add` merges.
    static func upsertErrorGroupMinutes(_ rows: [ErrorGroupMinute]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 12)
        binds.append(rows.map { Timestamp.iso8601(unixNano: $0.minuteUnixNano) })
        binds.append(rows.map(\.groupID))
        binds.append(rows.map(\.source.column))
        binds.append(rows.map(\.type))
        binds.append(rows.map(\.message))
        binds.append(rows.map(\.service))
        binds.append(rows.map(\.count))
        binds.append(rows.map { Timestamp.iso8601(unixNano: $0.firstSeenUnixNano) })
        binds.append(rows.map { Timestamp.iso8601(unixNano: $0.lastSeenUnixNano) })
        binds.append(rows.map(\.sampleMessage))
        binds.append(NullableTextArray(elements: rows.map(\.sampleTraceID)))
        binds.append(NullableTextArray(elements: rows.map { $0.sampleTraceSeenUnixNano.map { Timestamp.iso8601(unixNano: $0) } }))
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.error_group_minutes AS g (minute, group_id, source, error_type, message, service_name, count,
                first_seen, last_seen, sample_message, sample_trace_id, sample_trace_seen)
            SELECT r.minute::timestamptz, r.group_id, r.source, r.error_type, r.message, r.service_name, r.count,
                   r.first_seen::timestamptz, r.last_seen::timestamptz, r.sample_message, r.sample_trace_id, r.sample_trace_seen::timestamptz
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[], $9::text[],
                        $10::text[], $11::text[], $12::text[])
                AS r(minute, group_id, source, error_type, message, service_name, count, first_seen, last_seen, sample_message,
                     sample_trace_id, sample_trace_seen)
            ON CONFLICT (minute, group_id, source) DO UPDATE SET
                count = g.count + excluded.count,
                first_seen = LEAST(g.first_seen, excluded.first_seen),
                last_seen = GREATEST(g.last_seen, excluded.last_seen),
                sample_message = CASE WHEN (excluded.last_seen, excluded.sample_message) > (g.last_seen, g.sample_message)
                                      THEN excluded.sample_message ELSE g.sample_message END,
                sample_trace_id = CASE WHEN \(newerTrace) THEN excluded.sample_trace_id ELSE g.sample_trace_id END,
                sample_trace_seen = CASE WHEN \(newerTrace) THEN excluded.sample_trace_seen ELSE g.sample_trace_seen END
            """, binds: binds)
    }

    private static let newerTrace = """
        excluded.sample_trace_seen IS NOT NULL AND (g.sample_trace_seen IS NULL \
        OR (excluded.sample_trace_seen, excluded.sample_trace_id) > (g.sample_trace_seen, g.sample_trace_id))
        """
}
