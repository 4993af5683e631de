import PostgresNIO

/// The write path's SQL: one statement per table, every column bound as one array and
/// expanded with `unnest`, so a batch of any size is one round trip per table.
enum PostgresStatements {
    /// `returningNew`: returns each row's `trace_id` and whether the statement inserted it.
    static func upsertTraces(_ rows: [TraceRow], returningNew: Bool = false) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 16)
        binds.append(rows.map(\.traceID))
        binds.append(rows.map { StoreText.safe($0.context.entryPoint) })
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.context.endpoint) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.context.method) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.context.sessionID) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.context.userEmail) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.context.department) }))
        binds.append(rows.map(\.startTimeUnixNano))
        binds.append(rows.map(\.endTimeUnixNano))
        binds.append(rows.map(\.status))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.errorMessage) }))
        binds.append(rows.map { StoreText.safeJSON($0.context.tags) })
        binds.append(rows.map { StoreText.safe($0.context.serviceName) })
        binds.append(rows.map { StoreText.safe($0.context.rootSpanName) })
        binds.append(rows.map(\.context.fromRoot))
        binds.append(rows.map(\.context.sourceStartUnixNano))
        binds.append(rows.map { _ in TimeOrderedID.next() })
        let contextColumns = ["entry_point", "endpoint", "method", "session_id", "user_email", "department", "tags",
                              "service_name", "root_span_name", "context_from_root", "context_start_unix_nano"]
        let incomingWins = """
            (excluded.context_from_root AND NOT t.context_from_root) OR \
            (excluded.context_from_root = t.context_from_root AND excluded.context_start_unix_nano < t.context_start_unix_nano)
            """
        let contextUpdates = contextColumns.map { "\($0) = CASE WHEN \(incomingWins) THEN excluded.\($0) ELSE t.\($0) END" }
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.traces AS t (id, trace_id, entry_point, endpoint, method, session_id, user_email, department,
                start_time, end_time, duration_ms, status, error_message, tags, start_time_unix_nano, end_time_unix_nano,
                service_name, root_span_name, context_from_root, context_start_unix_nano, updated_at)
            SELECT r.id, r.trace_id, r.entry_point, r.endpoint, r.method, r.session_id, r.user_email, r.department,
                \(timestamp("r.start_ns")), \(timestamp("r.end_ns")), (r.end_ns - r.start_ns) / 1000000.0,
                r.status, r.error_message, r.tags::jsonb, r.start_ns, r.end_ns,
                r.service_name, r.root_span_name, r.from_root, r.context_start, now()
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[],
                        $9::int8[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::bool[], $16::int8[],
                        $17::uuid[])
                AS r(trace_id, entry_point, endpoint, method, session_id, user_email, department, start_ns, end_ns,
                     status, error_message, tags, service_name, root_span_name, from_root, context_start, id)
            ON CONFLICT (trace_id) DO UPDATE SET
                start_time = CASE WHEN excluded.start_time_unix_nano < t.start_time_unix_nano THEN excluded.start_time ELSE t.start_time END,
                end_time = CASE WHEN excluded.end_time_unix_nano > t.end_time_unix_nano THEN excluded.end_time ELSE t.end_time END,
                start_time_unix_nano = LEAST(t.start_time_unix_nano, excluded.start_time_unix_nano),
                end_time_unix_nano = GREATEST(t.end_time_unix_nano, excluded.end_time_unix_nano),
                duration_ms = (GREATEST(t.end_time_unix_nano, excluded.end_time_unix_nano)
                               - LEAST(t.start_time_unix_nano, excluded.start_time_unix_nano)) / 1000000.0,
                status = CASE WHEN t.status = 'error' OR excluded.status = 'error' THEN 'error' ELSE excluded.status END,
                error_message = COALESCE(t.error_message, excluded.error_message),
                updated_at = excluded.updated_at,
                \(contextUpdates.joined(separator: ",\n    "))
            \(returningNew ? "RETURNING t.trace_id, t.xmax = 0" : "")
            """, binds: binds)
    }

    static func insertSpans(_ rows: [SpanRow], contexts: ContextIDs) throws(StoreError) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 23)
        binds.append(rows.map(\.traceID))
        binds.append(rows.map(\.spanID))
        binds.append(NullableTextArray(elements: rows.map(\.parentSpanID)))
        binds.append(rows.map { StoreText.safe($0.operationName) })
        binds.append(rows.map { StoreText.safe($0.serviceName) })
        binds.append(rows.map(\.startTimeUnixNano))
        binds.append(rows.map(\.endTimeUnixNano))
        binds.append(rows.map(\.status))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.errorMessage) }))
        binds.append(rows.map { StoreText.safeJSON($0.tags) })
        binds.append(rows.map { StoreText.safeJSON($0.logs) })
        binds.append(rows.map { Int64($0.kind) })
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.traceState) }))
        binds.append(rows.map(\.flags))
        binds.append(rows.map { Int64($0.statusCode) })
        binds.append(NullableTextArray(elements: rows.map { StoreText.safeJSON($0.storedAttributes(.postgres)) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safeJSON($0.storedEvents(.postgres)) }))
        binds.append(rows.map { StoreText.safeJSON($0.links) })
        binds.append(try contexts.resourceIDs(rows.lazy.map(\.resource)))
        binds.append(try contexts.scopeIDs(rows.lazy.map(\.scope)))
        binds.append(rows.map(\.droppedAttributesCount))
        binds.append(rows.map(\.droppedEventsCount))
        binds.append(rows.map(\.droppedLinksCount))
        binds.append(rows.map { _ in TimeOrderedID.next() })
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.trace_spans (id, trace_id, span_id, parent_span_id, operation_name, service_name,
                start_time, end_time, duration_ms, status, error_message, tags, logs, span_kind, trace_state, flags,
                status_code, start_time_unix_nano, end_time_unix_nano, attributes, events, links, resource_id, scope_id,
                dropped_attributes_count, dropped_events_count, dropped_links_count)
            SELECT r.id, r.trace_id, r.span_id, r.parent_span_id, r.operation_name, r.service_name,
                \(timestamp("r.start_ns")), \(timestamp("r.end_ns")), (r.end_ns - r.start_ns) / 1000000.0,
                r.status, r.error_message, r.tags::jsonb, r.logs::jsonb, r.kind, r.trace_state, r.flags,
                r.status_code, r.start_ns, r.end_ns, r.attributes::jsonb, r.events::jsonb, r.links::jsonb,
                r.resource_id, r.scope_id, r.dropped_attributes, r.dropped_events, r.dropped_links
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::text[],
                        $9::text[], $10::text[], $11::text[], $12::int8[], $13::text[], $14::int8[], $15::int8[],
                        $16::text[], $17::text[], $18::text[], $19::int8[], $20::int8[], $21::int8[], $22::int8[], $23::int8[],
                        $24::uuid[])
                AS r(trace_id, span_id, parent_span_id, operation_name, service_name, start_ns, end_ns, status,
                     error_message, tags, logs, kind, trace_state, flags, status_code, attributes, events, links,
                     resource_id, scope_id, dropped_attributes, dropped_events, dropped_links, id)
            ON CONFLICT (trace_id, span_id, start_time) DO NOTHING
            RETURNING trace_id, span_id
            """, binds: binds)
    }

    static func insertLogs(_ rows: [LogRow], contexts: ContextIDs) throws(StoreError) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 26)
        binds.append(rows.map(\.timestampUnixNano))
        binds.append(rows.map(\.level))
        binds.append(rows.map { StoreText.safe($0.loggerName) })
        binds.append(rows.map { StoreText.safe($0.message) })
        binds.append(NullableTextArray(elements: rows.map(\.traceID)))
        binds.append(NullableTextArray(elements: rows.map(\.spanID)))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.userEmail) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.department) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.sessionID) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.endpoint) }))
        binds.append(rows.map { StoreText.safeJSON($0.extra) })
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.exceptionType) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.exceptionMessage) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.exceptionTraceback) }))
        binds.append(rows.map(\.timeUnixNano))
        binds.append(rows.map(\.observedTimeUnixNano))
        binds.append(rows.map { Int64($0.severityNumber) })
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.severityText) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safeJSON($0.body) }))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safeJSON($0.storedAttributes(.postgres)) }))
        binds.append(try contexts.resourceIDs(rows.lazy.map(\.resource)))
        binds.append(try contexts.scopeIDs(rows.lazy.map(\.scope)))
        binds.append(rows.map(\.flags))
        binds.append(NullableTextArray(elements: rows.map { StoreText.safe($0.eventName) }))
        binds.append(rows.map(\.droppedAttributesCount))
        binds.append(rows.map { StoreText.safe($0.serviceName) })
        binds.append(rows.map { _ in TimeOrderedID.next() })
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.structured_logs (id, timestamp, level, logger_name, message, trace_id, span_id,
                user_email, department, session_id, endpoint, extra, exception_type, exception_message,
                exception_traceback, time_unix_nano, observed_time_unix_nano, observed_timestamp, severity_number,
                severity_text, body, attributes, resource_id, scope_id, flags, event_name, dropped_attributes_count, service_name)
            SELECT r.id, \(timestamp("r.ts_ns")), r.level, r.logger_name, r.message, r.trace_id, r.span_id,
                r.user_email, r.department, r.session_id, r.endpoint, r.extra::jsonb, r.exception_type, r.exception_message,
                r.exception_traceback, r.time_ns, r.observed_ns,
                CASE WHEN r.observed_ns = 0 THEN NULL ELSE \(timestamp("r.observed_ns")) END, r.severity_number,
                r.severity_text, r.body::jsonb, r.attributes::jsonb, r.resource_id, r.scope_id, r.flags,
                r.event_name, r.dropped_attributes, r.service_name
            FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                        $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::int8[],
                        $16::int8[], $17::int8[], $18::text[], $19::text[], $20::text[], $21::int8[], $22::int8[],
                        $23::int8[], $24::text[], $25::int8[], $26::text[],
                        $27::uuid[])
                AS r(ts_ns, level, logger_name, message, trace_id, span_id, user_email, department, session_id,
                     endpoint, extra, exception_type, exception_message, exception_traceback, time_ns, observed_ns,
                     severity_number, severity_text, body, attributes, resource_id, scope_id, flags, event_name,
                     dropped_attributes, service_name, id)
            """, binds: binds)
    }

    /// Stores each of `texts` not stored yet in `enterprise.resources` (`scopes`: the same), keyed by
    /// the hash of its JSON. Sorted texts: two commits adding the same ones lock them in one order.
    static func insertContexts(_ texts: [String], table: ContextTable) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 1)
        binds.append(texts.map { StoreText.safeJSON($0) })
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.\(table.rawValue) (\(table.column)) SELECT t::jsonb FROM unnest($1::text[]) AS t
            ON CONFLICT DO NOTHING
            """, binds: binds)
    }

    /// The ids of `texts` (stored by `insertContexts`), as `(position in texts, from 1; id)`.
    static func contextIDs(_ texts: [String], table: ContextTable) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 1)
        binds.append(texts.map { StoreText.safeJSON($0) })
        return PostgresQuery(unsafeSQL: """
            SELECT i.position, c.id FROM unnest($1::text[]) WITH ORDINALITY AS i(t, position)
            JOIN enterprise.\(table.rawValue) c ON md5(c.\(table.column)::text) = md5(i.t::jsonb::text)
            """, binds: binds)
    }

    enum ContextTable: String {
        case resources, scopes
        var column: String { self == .resources ? "resource" : "scope" }
    }

    /// Exact conversion of Unix nanoseconds to `timestamptz` (microsecond precision).
    private static func timestamp(_ nanoseconds: String) -> String {
        "(timestamptz 'epoch' + (\(nanoseconds) / 1000) * interval '1 microsecond')"
    }
}
