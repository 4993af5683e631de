-- Migration 008 of the original schema (distributed tracing), SQLite dialect.

CREATE TABLE IF NOT EXISTS enterprise.traces (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    trace_id TEXT NOT NULL UNIQUE,
    entry_point TEXT NOT NULL,
    endpoint TEXT,
    method TEXT,
    session_id TEXT,
    user_email TEXT,
    department TEXT,
    start_time TEXT NOT NULL,
    end_time TEXT,
    duration_ms REAL,
    status TEXT DEFAULT 'in_progress',
    error_message TEXT,
    tags TEXT DEFAULT '{}',
    created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_trace_id ON traces(trace_id);
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_start_time ON traces(start_time DESC);
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_user ON traces(user_email);
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_status ON traces(status);
CREATE INDEX IF NOT EXISTS enterprise.idx_traces_session ON traces(session_id);

CREATE TABLE IF NOT EXISTS enterprise.trace_spans (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    operation_name TEXT NOT NULL,
    service_name TEXT DEFAULT 'enterprise_bot',
    start_time TEXT NOT NULL,
    end_time TEXT,
    duration_ms REAL,
    status TEXT DEFAULT 'in_progress',
    error_message TEXT,
    tags TEXT DEFAULT '{}',
    logs TEXT DEFAULT '[]',
    CONSTRAINT fk_trace FOREIGN KEY (trace_id) REFERENCES traces(trace_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS enterprise.idx_spans_trace_id ON trace_spans(trace_id);
CREATE INDEX IF NOT EXISTS enterprise.idx_spans_operation ON trace_spans(operation_name);
CREATE INDEX IF NOT EXISTS enterprise.idx_spans_start_time ON trace_spans(start_time DESC);
CREATE INDEX IF NOT EXISTS enterprise.idx_spans_parent ON trace_spans(parent_span_id);
