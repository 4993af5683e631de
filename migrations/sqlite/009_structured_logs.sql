-- Migration 009 of the original schema (structured logs), SQLite dialect.
-- Full-text search is an FTS5 index over `message` (PostgreSQL: a GIN index on
-- to_tsvector('english', message)); the porter tokenizer gives the same English stemming.
-- The original NOTIFY trigger has no SQLite counterpart: the writer publishes new logs itself.

CREATE TABLE IF NOT EXISTS enterprise.structured_logs (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    timestamp TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    level TEXT NOT NULL,
    logger_name TEXT NOT NULL,
    message TEXT NOT NULL,
    trace_id TEXT,
    span_id TEXT,
    user_email TEXT,
    department TEXT,
    session_id TEXT,
    endpoint TEXT,
    extra TEXT DEFAULT '{}',
    exception_type TEXT,
    exception_message TEXT,
    exception_traceback TEXT
);
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_timestamp ON structured_logs(timestamp DESC);
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_level ON structured_logs(level);
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_trace_id ON structured_logs(trace_id);
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_logger ON structured_logs(logger_name);
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_user ON structured_logs(user_email);

CREATE VIRTUAL TABLE IF NOT EXISTS enterprise.structured_logs_fts USING fts5(
    message, content='structured_logs', content_rowid='rowid', tokenize='porter unicode61'
);

CREATE TRIGGER IF NOT EXISTS enterprise.structured_logs_fts_insert AFTER INSERT ON structured_logs BEGIN
    INSERT INTO structured_logs_fts(rowid, message) VALUES (new.rowid, new.message);
END;

CREATE TRIGGER IF NOT EXISTS enterprise.structured_logs_fts_delete AFTER DELETE ON structured_logs BEGIN
    INSERT INTO structured_logs_fts(structured_logs_fts, rowid, message) VALUES ('delete', old.rowid, old.message);
END;

CREATE TRIGGER IF NOT EXISTS enterprise.structured_logs_fts_update AFTER UPDATE OF message ON structured_logs BEGIN
    INSERT INTO structured_logs_fts(structured_logs_fts, rowid, message) VALUES ('delete', old.rowid, old.message);
    INSERT INTO structured_logs_fts(rowid, message) VALUES (new.rowid, new.message);
END;
