-- 017: `enterprise.trace_spans` and `enterprise.structured_logs` become tables partitioned by
-- day (RANGE on the span's `start_time`, the record's `timestamp`, UTC days), under the same
-- names, columns and index names, so every query, the seeds' SQL and users' own keep working.
-- Retention then drops a whole day (a file unlinked) instead of deleting its rows one by one,
-- and a query over a window reads only the days the window touches (docs/partitioning.md).
--
-- A unique index of a partitioned table must hold the partition key, so:
-- - the primary keys become (id, start_time) and (id, timestamp);
-- - a span's identity becomes (trace_id, span_id, start_time): a re-sent span carries the
--   same start time, so the writer's ON CONFLICT (trace_id, span_id, start_time) DO NOTHING
--   still adds nothing for a retried batch.
-- `enterprise.traces` stays one table: its row is merged by trace id from every batch that
-- holds one of its spans (ON CONFLICT (trace_id)), and its start time moves as earlier spans
-- arrive; it holds one row per trace, and the retention deletes its old rows. The spans keep
-- their foreign key to it (ON DELETE CASCADE): deleting a trace deletes its spans in every day.
--
-- Each day is a partition named `<table>_pYYYYMMDD`; a DEFAULT partition (`<table>_default`)
-- takes any row no day holds (a sender's clock years off), so a write never fails for lack of
-- a partition. Sightline creates the coming days at start-up and then periodically
-- (`PostgresStore.ensurePartitions`), moving rows out of the default partition when it creates
-- the day they belong to. Here: a partition for every day that holds data within a year of
-- now (found with one index probe per day), and yesterday to the day after tomorrow.
--
-- Rows move in this transaction (all or nothing): 64 s for 1.2 M spans and 1 M records on the
-- busy 2-core build machine, then 17 s of VACUUM (ANALYZE) (docs/partitioning.md). The indexes are built after the copy, one
-- bulk build per partition, which is faster than maintaining them row by row.

-- The days that hold data, while the old tables still have their time indexes.
CREATE TEMP TABLE partition_days_017 ON COMMIT DROP AS
WITH RECURSIVE
    bounds AS (SELECT now() - interval '1 year' AS low, now() + interval '1 year' AS high),
    span_days(day) AS (
        SELECT date_trunc('day', (SELECT min(start_time) FROM enterprise.trace_spans, bounds
                                  WHERE start_time >= bounds.low AND start_time < bounds.high) AT TIME ZONE 'UTC')
        UNION ALL
        SELECT date_trunc('day', (SELECT min(s.start_time) FROM enterprise.trace_spans s, bounds
                                  WHERE s.start_time >= (span_days.day + interval '1 day') AT TIME ZONE 'UTC'
                                    AND s.start_time < bounds.high) AT TIME ZONE 'UTC')
        FROM span_days WHERE span_days.day IS NOT NULL
    ),
    log_days(day) AS (
        SELECT date_trunc('day', (SELECT min(timestamp) FROM enterprise.structured_logs, bounds
                                  WHERE timestamp >= bounds.low AND timestamp < bounds.high) AT TIME ZONE 'UTC')
        UNION ALL
        SELECT date_trunc('day', (SELECT min(l.timestamp) FROM enterprise.structured_logs l, bounds
                                  WHERE l.timestamp >= (log_days.day + interval '1 day') AT TIME ZONE 'UTC'
                                    AND l.timestamp < bounds.high) AT TIME ZONE 'UTC')
        FROM log_days WHERE log_days.day IS NOT NULL
    )
SELECT 'trace_spans' AS table_name, day::date AS day FROM span_days WHERE day IS NOT NULL
UNION
SELECT 'structured_logs', day::date FROM log_days WHERE day IS NOT NULL
UNION
SELECT t.name, d::date
FROM (VALUES ('trace_spans'), ('structured_logs')) AS t(name),
     generate_series((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 2, interval '1 day') AS d;

-- The old tables step aside, their index and constraint names freed for the new ones.
ALTER TABLE enterprise.trace_spans RENAME TO trace_spans_before_017;
ALTER TABLE enterprise.trace_spans_before_017 RENAME CONSTRAINT trace_spans_pkey TO trace_spans_before_017_pkey;
DROP INDEX enterprise.idx_spans_start_time;
DROP INDEX enterprise.idx_spans_trace_span;
DROP INDEX enterprise.idx_spans_operation_time_duration;
DROP INDEX enterprise.idx_spans_service_time_duration;
DROP INDEX enterprise.idx_spans_errors_time;

ALTER TABLE enterprise.structured_logs RENAME TO structured_logs_before_017;
ALTER TABLE enterprise.structured_logs_before_017 RENAME CONSTRAINT structured_logs_pkey TO structured_logs_before_017_pkey;
DROP INDEX enterprise.idx_logs_timestamp;
DROP INDEX enterprise.idx_logs_trace_id;
DROP INDEX enterprise.idx_logs_logger;
DROP INDEX enterprise.idx_logs_level_time;
DROP INDEX enterprise.idx_logs_service_time;
DROP INDEX enterprise.idx_logs_user_time;
DROP INDEX enterprise.idx_logs_errors_time;
DROP INDEX enterprise.idx_logs_message_search;

-- The same columns in the same order, defaults and the stored search vector included.
CREATE TABLE enterprise.trace_spans (LIKE enterprise.trace_spans_before_017 INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMMENTS)
    PARTITION BY RANGE (start_time);
CREATE TABLE enterprise.structured_logs (LIKE enterprise.structured_logs_before_017
    INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)
    PARTITION BY RANGE (timestamp);
CREATE TABLE enterprise.trace_spans_default PARTITION OF enterprise.trace_spans DEFAULT;
CREATE TABLE enterprise.structured_logs_default PARTITION OF enterprise.structured_logs DEFAULT;

DO $$
DECLARE
    planned RECORD;
BEGIN
    FOR planned IN SELECT table_name, day FROM partition_days_017 ORDER BY table_name, day LOOP
        EXECUTE format('CREATE TABLE enterprise.%I PARTITION OF enterprise.%I FOR VALUES FROM (%L) TO (%L)',
                       planned.table_name || '_p' || to_char(planned.day, 'YYYYMMDD'), planned.table_name,
                       planned.day::timestamp AT TIME ZONE 'UTC', (planned.day + 1)::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END
$$;

-- Every row moves, each to its day (or the default partition). Columns by name, the
-- generated search vector left out (it is computed again).
DO $$
DECLARE
    moving RECORD;
    columns TEXT;
BEGIN
    FOR moving IN SELECT * FROM (VALUES ('trace_spans'), ('structured_logs')) AS t(name) LOOP
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO columns
        FROM pg_attribute
        WHERE attrelid = format('enterprise.%I', moving.name || '_before_017')::regclass
          AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
        EXECUTE format('INSERT INTO enterprise.%I (%s) SELECT %s FROM enterprise.%I',
                       moving.name, columns, columns, moving.name || '_before_017');
    END LOOP;
END
$$;
DROP TABLE enterprise.trace_spans_before_017;
DROP TABLE enterprise.structured_logs_before_017;

-- Keys and indexes (migrations 008-015), built on each partition and on every partition
-- created later. Unique ones hold the partition key.
ALTER TABLE enterprise.trace_spans ADD CONSTRAINT trace_spans_pkey PRIMARY KEY (id, start_time);
CREATE UNIQUE INDEX idx_spans_trace_span ON enterprise.trace_spans (trace_id, span_id, start_time);
ALTER TABLE enterprise.trace_spans ADD CONSTRAINT fk_trace
    FOREIGN KEY (trace_id) REFERENCES enterprise.traces(trace_id) ON DELETE CASCADE;
CREATE INDEX idx_spans_start_time ON enterprise.trace_spans (start_time DESC);
CREATE INDEX idx_spans_operation_time_duration ON enterprise.trace_spans (operation_name, start_time, duration_ms);
CREATE INDEX idx_spans_service_time_duration ON enterprise.trace_spans (service_name, start_time, duration_ms);
CREATE INDEX idx_spans_errors_time ON enterprise.trace_spans (start_time) WHERE status = 'error';

ALTER TABLE enterprise.structured_logs ADD CONSTRAINT structured_logs_pkey PRIMARY KEY (id, timestamp);
CREATE INDEX idx_logs_timestamp ON enterprise.structured_logs (timestamp DESC);
CREATE INDEX idx_logs_trace_id ON enterprise.structured_logs (trace_id);
CREATE INDEX idx_logs_logger ON enterprise.structured_logs (logger_name);
CREATE INDEX idx_logs_level_time ON enterprise.structured_logs (level, timestamp);
CREATE INDEX idx_logs_service_time ON enterprise.structured_logs (service_name, timestamp);
CREATE INDEX idx_logs_user_time ON enterprise.structured_logs (user_email, timestamp);
CREATE INDEX idx_logs_errors_time ON enterprise.structured_logs (timestamp)
    WHERE (level IN ('ERROR', 'CRITICAL') OR exception_type IS NOT NULL);
CREATE INDEX idx_logs_message_search ON enterprise.structured_logs USING gin (message_search);

-- The live tail's notice, once per INSERT statement on the parent (migration 011's function).
CREATE TRIGGER logs_inserted
    AFTER INSERT ON enterprise.structured_logs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enterprise.notify_new_logs();
