-- 011: keep everything an OpenTelemetry SDK sends (docs/architecture.md).
-- Typed OTLP/JSON forms sit beside the original flat `tags`/`extra` objects; nanosecond
-- timestamps keep the exact times; `(trace_id, span_id)` is unique so a re-sent batch
-- adds nothing. SQLite does not truncate TEXT, so no column needs widening here.

ALTER TABLE enterprise.traces ADD COLUMN start_time_unix_nano INTEGER;
ALTER TABLE enterprise.traces ADD COLUMN end_time_unix_nano INTEGER;
ALTER TABLE enterprise.traces ADD COLUMN service_name TEXT;
ALTER TABLE enterprise.traces ADD COLUMN root_span_name TEXT;
ALTER TABLE enterprise.traces ADD COLUMN context_from_root INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.traces ADD COLUMN context_start_unix_nano INTEGER;
ALTER TABLE enterprise.traces ADD COLUMN updated_at TEXT;
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_start_nano ON traces(start_time_unix_nano DESC);
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_service ON traces(service_name);

ALTER TABLE enterprise.trace_spans ADD COLUMN span_kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.trace_spans ADD COLUMN trace_state TEXT;
ALTER TABLE enterprise.trace_spans ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.trace_spans ADD COLUMN status_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.trace_spans ADD COLUMN start_time_unix_nano INTEGER;
ALTER TABLE enterprise.trace_spans ADD COLUMN end_time_unix_nano INTEGER;
ALTER TABLE enterprise.trace_spans ADD COLUMN attributes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE enterprise.trace_spans ADD COLUMN events TEXT NOT NULL DEFAULT '[]';
ALTER TABLE enterprise.trace_spans ADD COLUMN links TEXT NOT NULL DEFAULT '[]';
ALTER TABLE enterprise.trace_spans ADD COLUMN resource TEXT NOT NULL DEFAULT '{}';
ALTER TABLE enterprise.trace_spans ADD COLUMN scope TEXT NOT NULL DEFAULT '{}';
ALTER TABLE enterprise.trace_spans ADD COLUMN dropped_attributes_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.trace_spans ADD COLUMN dropped_events_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.trace_spans ADD COLUMN dropped_links_count INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX IF NOT EXISTS enterprise.idx_spans_trace_span ON trace_spans(trace_id, span_id);
CREATE INDEX IF NOT EXISTS enterprise.idx_spans_service ON trace_spans(service_name);

ALTER TABLE enterprise.structured_logs ADD COLUMN time_unix_nano INTEGER;
ALTER TABLE enterprise.structured_logs ADD COLUMN observed_time_unix_nano INTEGER;
ALTER TABLE enterprise.structured_logs ADD COLUMN observed_timestamp TEXT;
ALTER TABLE enterprise.structured_logs ADD COLUMN severity_number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.structured_logs ADD COLUMN severity_text TEXT;
ALTER TABLE enterprise.structured_logs ADD COLUMN body TEXT;
ALTER TABLE enterprise.structured_logs ADD COLUMN attributes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE enterprise.structured_logs ADD COLUMN resource TEXT NOT NULL DEFAULT '{}';
ALTER TABLE enterprise.structured_logs ADD COLUMN scope TEXT NOT NULL DEFAULT '{}';
ALTER TABLE enterprise.structured_logs ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.structured_logs ADD COLUMN event_name TEXT;
ALTER TABLE enterprise.structured_logs ADD COLUMN dropped_attributes_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.structured_logs ADD COLUMN service_name TEXT;
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_service ON structured_logs(service_name);
