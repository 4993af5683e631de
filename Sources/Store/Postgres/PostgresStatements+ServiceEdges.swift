import Foundation
import Logging
import PostgresNIO

extension PostgresStatements {
    /// Adds calls to their minutes' edge rows (`ServiceEdgeMinute`), one statement for the commit.
    static func upsertServiceEdgeMinutes(_ rows: [ServiceEdgeMinute]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 8)
        binds.append(rows.map(\.minuteUnixNano))
        binds.append(rows.map(\.client))
        binds.append(rows.map(\.server))
        binds.append(rows.map { Int64($0.bucket) })
        binds.append(rows.map(\.calls))
        binds.append(rows.map(\.errors))
        binds.append(rows.map(\.totalMs))
        binds.append(rows.map(\.maxMs))
        return PostgresQuery(unsafeSQL: """
            INSERT INTO enterprise.service_edge_minutes AS e (minute, client_service, server_service, bucket, calls, errors, total_ms, max_ms)
            SELECT (timestamptz 'epoch' + (r.minute_ns / 1000) * interval '1 microsecond'), r.client_service, r.server_service,
                   r.bucket, r.calls, r.errors, r.total_ms, r.max_ms
            FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::float8[], $8::float8[])
                AS r(minute_ns, client_service, server_service, bucket, calls, errors, total_ms, max_ms)
            ON CONFLICT (minute, client_service, server_service, bucket) DO UPDATE SET
                calls = e.calls + excluded.calls, errors = e.errors + excluded.errors,
                total_ms = e.total_ms + excluded.total_ms, max_ms = GREATEST(e.max_ms, excluded.max_ms)
            """, binds: binds)
    }

    /// The stored spans of some traces as the edge rollups pair them (`ServiceCallSpan`), by
    /// the `(trace_id, span_id, start_time)` index.
    static func traceCallSpans(_ traceIDs: [String]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 1)
        binds.append(traceIDs)
        return PostgresQuery(unsafeSQL: """
            SELECT trace_id, span_id, parent_span_id, COALESCE(service_name, ''), COALESCE(status, ''),
                   (extract(epoch FROM start_time) * 1000000)::int8, COALESCE(duration_ms, 0)::float8
            FROM enterprise.trace_spans WHERE trace_id = ANY($1::text[])
            """, binds: binds)
    }

    /// Locks the rows of stored traces (sorted ids) as `upsertTraces` locks the rows it
    /// merges into, for spans that come without their trace's row (`TraceEdgeReads`).
    static func lockTraces(_ traceIDs: [String]) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 1)
        binds.append(traceIDs)
        return PostgresQuery(unsafeSQL: """
            SELECT t.trace_id FROM unnest($1::text[]) WITH ORDINALITY AS r(trace_id, position)
            JOIN enterprise.traces t ON t.trace_id = r.trace_id
            ORDER BY r.position FOR NO KEY UPDATE OF t
            """, binds: binds)
    }
}

extension PostgresStore {
    /// Counts the calls among `added` (the commit's inserted spans) and the stored spans of
    /// their traces, inside the commit's transaction (`ServiceCallSpan.calls`). Only the
    /// traces `reads` names are read back: the others' spans are all in the commit.
    static func upsertServiceEdges(added: [SpanRow], reads: TraceEdgeReads, on connection: PostgresConnection,
                                   logger: Logger) async throws {
        guard !added.isEmpty else { return }
        var stored: [ServiceCallSpan] = []
        let traceIDs = reads.tracesToRead(added: added)
        if !traceIDs.isEmpty {
            guard !connection.isClosed else { throw ConnectionClosed() }
            let rows = try await connection.query(PostgresStatements.traceCallSpans(traceIDs), logger: logger)
            for try await (traceID, spanID, parentID, service, status, startMicros, duration)
                in rows.decode((String, String, String?, String, String, Int64, Double).self) {
                stored.append(ServiceCallSpan(traceID: traceID, spanID: spanID, parentSpanID: parentID, service: service,
                                              failed: status == "error", startUnixNano: startMicros * 1_000, durationMs: duration))
            }
        }
        let edges = ServiceEdgeMinute.aggregate(ServiceCallSpan.calls(added: added.map(ServiceCallSpan.init), stored: stored))
        if !edges.isEmpty { try await run(PostgresStatements.upsertServiceEdgeMinutes(edges), on: connection, logger: logger) }
    }

    /// Merges `traces` (sorted by id) into their rows; returns the ids of the rows it inserted
    /// (`xmax = 0`: a row merged into carries the commit's lock in `xmax`).
    static func upsertTraces(_ traces: [TraceRow], on connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        guard !traces.isEmpty else { return [] }
        guard !connection.isClosed else { throw ConnectionClosed() }
        var inserted: Set<String> = []
        let rows = try await connection.query(PostgresStatements.upsertTraces(traces, returningNew: true), logger: logger)
        for try await (traceID, isNew) in rows.decode((String, Bool).self) where isNew {
            inserted.insert(traceID)
        }
        return inserted
    }
}
