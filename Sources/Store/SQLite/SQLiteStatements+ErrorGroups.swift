import SQLiteNIO

extension SQLiteStatements {
    static let errorGroupMinuteColumns = [
        "minute", "group_id", "source", "error_type", "message", "service_name", "count", "first_seen", "last_seen",
        "sample_message", "sample_trace_id", "sample_trace_seen",
    ]

    private static let newerTrace = """
        excluded.sample_trace_seen IS NOT NULL AND (sample_trace_seen IS NULL \
        OR (excluded.sample_trace_seen, excluded.sample_trace_id) > (sample_trace_seen, sample_trace_id))
        """

    /// Adds errors to their minutes' group rows (`ErrorGroupMinute`); merged as
    /// `ErrorGroupMinute.add` merges.
    static let upsertErrorGroupMinute = """
        INSERT INTO enterprise.error_group_minutes (\(errorGroupMinuteColumns.joined(separator: ", ")))
        VALUES \(values(columns: errorGroupMinuteColumns.count, rows: 1))
        ON CONFLICT(minute, group_id, source) DO UPDATE SET
            count = count + excluded.count,
            first_seen = min(first_seen, excluded.first_seen),
            last_seen = max(last_seen, excluded.last_seen),
            sample_message = CASE WHEN (excluded.last_seen, excluded.sample_message) > (last_seen, sample_message)
                                  THEN excluded.sample_message ELSE sample_message END,
            sample_trace_id = CASE WHEN \(newerTrace) THEN excluded.sample_trace_id ELSE sample_trace_id END,
            sample_trace_seen = CASE WHEN \(newerTrace) THEN excluded.sample_trace_seen ELSE sample_trace_seen END
        """
}

extension ErrorGroupMinute {
    var sqliteBinds: [SQLiteData] {
        [SQLiteData(Timestamp.iso8601(unixNano: minuteUnixNano)), SQLiteData(groupID), SQLiteData(source.column), SQLiteData(type),
         SQLiteData(message), SQLiteData(service), .integer(Int(count)), SQLiteData(Timestamp.iso8601(unixNano: firstSeenUnixNano)),
         SQLiteData(Timestamp.iso8601(unixNano: lastSeenUnixNano)), SQLiteData(sampleMessage), SQLiteData(sampleTraceID),
         SQLiteData(sampleTraceSeenUnixNano.map { Timestamp.iso8601(unixNano: $0) })]
    }
}
