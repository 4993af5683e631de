-- 011: keep everything an OpenTelemetry SDK sends (docs/architecture.md), PostgreSQL dialect.
-- Widens the original schema's VARCHAR columns that real telemetry overflows (span names, service
-- names, routes, logger names, e-mail addresses, exception types) to TEXT; adds typed
-- OTLP/JSON forms beside the flat `tags`/`extra` objects, nanosecond timestamps, and a
-- unique `(trace_id, span_id)` so a re-sent batch adds nothing.

ALTER TABLE enterprise.traces
    ALTER COLUMN entry_point TYPE TEXT,
    ALTER COLUMN endpoint TYPE TEXT,
    ALTER COLUMN method TYPE TEXT,
    ALTER COLUMN session_id TYPE TEXT,
    ALTER COLUMN user_email TYPE TEXT,
    ALTER COLUMN department TYPE TEXT,
    ADD COLUMN start_time_unix_nano BIGINT,
    ADD COLUMN end_time_unix_nano BIGINT,
    ADD COLUMN service_name TEXT,
    ADD COLUMN root_span_name TEXT,
    ADD COLUMN context_from_root BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN context_start_unix_nano BIGINT,
    ADD COLUMN updated_at TIMESTAMPTZ;
CREATE INDEX idx_traces_service ON enterprise.traces(service_name);

ALTER TABLE enterprise.trace_spans
    ALTER COLUMN operation_name TYPE TEXT,
    ALTER COLUMN service_name TYPE TEXT,
    ADD COLUMN span_kind SMALLINT NOT NULL DEFAULT 0,
    ADD COLUMN trace_state TEXT,
    ADD COLUMN flags BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN status_code SMALLINT NOT NULL DEFAULT 0,
    ADD COLUMN start_time_unix_nano BIGINT,
    ADD COLUMN end_time_unix_nano BIGINT,
    ADD COLUMN attributes JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN events JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN links JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN resource JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN scope JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN dropped_attributes_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN dropped_events_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN dropped_links_count BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX idx_spans_trace_span ON enterprise.trace_spans(trace_id, span_id);
CREATE INDEX idx_spans_service ON enterprise.trace_spans(service_name);

ALTER TABLE enterprise.structured_logs
    ALTER COLUMN logger_name TYPE TEXT,
    ALTER COLUMN user_email TYPE TEXT,
    ALTER COLUMN department TYPE TEXT,
    ALTER COLUMN session_id TYPE TEXT,
    ALTER COLUMN endpoint TYPE TEXT,
    ALTER COLUMN exception_type TYPE TEXT,
    ADD COLUMN time_unix_nano BIGINT,
    ADD COLUMN observed_time_unix_nano BIGINT,
    ADD COLUMN observed_timestamp TIMESTAMPTZ,
    ADD COLUMN severity_number SMALLINT NOT NULL DEFAULT 0,
    ADD COLUMN severity_text TEXT,
    ADD COLUMN body JSONB,
    ADD COLUMN attributes JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN resource JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN scope JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN flags BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN event_name TEXT,
    ADD COLUMN dropped_attributes_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN service_name TEXT;
CREATE INDEX idx_logs_service ON enterprise.structured_logs(service_name);

-- The original trigger sends one pg_notify per inserted row: at thousands of log records per
-- second that is one queued notification (and its JSON) per row. Notify once per INSERT
-- statement instead, with the new rows' ids when they fit in a notification (pg_notify
-- payloads stop at 8000 bytes) and their count and time range otherwise; listeners read
-- the rows by id or by time.
DROP TRIGGER IF EXISTS log_inserted ON enterprise.structured_logs;

CREATE OR REPLACE FUNCTION enterprise.notify_new_logs() RETURNS trigger AS $$
DECLARE
    new_count INTEGER;
    payload TEXT;
BEGIN
    SELECT count(*) INTO new_count FROM new_rows;
    IF new_count = 0 THEN
        RETURN NULL;
    END IF;
    IF new_count <= 150 THEN
        SELECT json_build_object('count', new_count, 'ids', json_agg(id))::text INTO payload FROM new_rows;
    ELSE
        SELECT json_build_object('count', new_count, 'from', min(timestamp), 'to', max(timestamp))::text
            INTO payload FROM new_rows;
    END IF;
    PERFORM pg_notify('new_log', payload);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER logs_inserted
    AFTER INSERT ON enterprise.structured_logs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enterprise.notify_new_logs();
