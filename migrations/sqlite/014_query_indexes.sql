-- 014: indexes shaped like the API's queries (docs/api.md), none that no query uses, and per-minute
-- totals for the summary's slowest operations and the log level counts (at the end).
-- Filters are equalities followed by a time range, so each composite index puts the filtered
-- column first and the time second: one index range answers both, in time order. The
-- single-column indexes they make redundant go, as do the original `trace_id` indexes (the
-- UNIQUE constraint on traces and the unique (trace_id, span_id) index on spans already serve
-- every lookup by trace id) and the parent-span index (no query looks spans up by parent):
-- every index costs every insert.

DROP INDEX IF EXISTS enterprise.idx_traces_trace_id;
DROP INDEX IF EXISTS enterprise.idx_spans_trace_id;
DROP INDEX IF EXISTS enterprise.idx_spans_parent;

-- Trace lists and the summary read (start_time, status, duration_ms) from the index alone.
DROP INDEX IF EXISTS enterprise.idx_traces_start_time;
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_time_status_duration ON traces(start_time, status, duration_ms);
DROP INDEX IF EXISTS enterprise.idx_traces_service;
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_service_time ON traces(service_name, start_time);
DROP INDEX IF EXISTS enterprise.idx_traces_status;
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_status_time ON traces(status, start_time);
DROP INDEX IF EXISTS enterprise.idx_traces_user;
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_user_time ON traces(user_email, start_time);

-- The slowest operations of the summary group spans by operation: walking this index in
-- operation order reads (operation_name, start_time, duration_ms) without touching the table
-- or sorting. It also serves lookups and distinct values of operation names.
DROP INDEX IF EXISTS enterprise.idx_spans_operation;
CREATE INDEX IF NOT EXISTS enterprise.idx_spans_operation_time_duration ON trace_spans(operation_name, start_time, duration_ms);

-- Alert latency rules scoped to a service read (service_name, start_time, duration_ms) alone.
DROP INDEX IF EXISTS enterprise.idx_spans_service;
CREATE INDEX IF NOT EXISTS enterprise.idx_spans_service_time_duration ON trace_spans(service_name, start_time, duration_ms);

DROP INDEX IF EXISTS enterprise.idx_logs_level;
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_level_time ON structured_logs(level, timestamp);
DROP INDEX IF EXISTS enterprise.idx_logs_service;
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_service_time ON structured_logs(service_name, timestamp);
DROP INDEX IF EXISTS enterprise.idx_logs_user;
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_user_time ON structured_logs(user_email, timestamp);

-- Error groups (`/errors`) read failed spans and error records only: partial indexes hold just
-- those rows, so they cost ingest little and spare the query every other row of the window.
-- The conditions are the queries' own, word for word.
CREATE INDEX IF NOT EXISTS enterprise.idx_spans_errors_time ON trace_spans(start_time) WHERE status = 'error';
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_errors_time ON structured_logs(timestamp)
    WHERE (level IN ('ERROR', 'CRITICAL') OR exception_type IS NOT NULL);

-- The summary's slowest operations per minute, service and operation (`SpanOperationMinute`):
-- the writer adds each commit's new spans in the same transaction. Filled here from the spans
-- already stored. `minute` is the minute's start as the stores' ISO 8601 text.
CREATE TABLE IF NOT EXISTS enterprise.span_operation_minutes (
    minute TEXT NOT NULL,
    service_name TEXT NOT NULL,
    operation_name TEXT NOT NULL,
    calls INTEGER NOT NULL,
    total_ms REAL NOT NULL,
    max_ms REAL NOT NULL,
    PRIMARY KEY (minute, service_name, operation_name)
) WITHOUT ROWID;
INSERT INTO enterprise.span_operation_minutes (minute, service_name, operation_name, calls, total_ms, max_ms)
SELECT substr(start_time, 1, 16) || ':00.000000Z', COALESCE(service_name, ''), operation_name,
       count(*), sum(duration_ms), max(duration_ms)
FROM enterprise.trace_spans WHERE duration_ms IS NOT NULL
GROUP BY 1, 2, 3;

-- Log records per minute and level (`LogLevelMinute`), for the level counts; kept and filled
-- the same way.
CREATE TABLE IF NOT EXISTS enterprise.log_level_minutes (
    minute TEXT NOT NULL,
    level TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (minute, level)
) WITHOUT ROWID;
INSERT INTO enterprise.log_level_minutes (minute, level, count)
SELECT substr(timestamp, 1, 16) || ':00.000000Z', level, count(*)
FROM enterprise.structured_logs GROUP BY 1, 2;
