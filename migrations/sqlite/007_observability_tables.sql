-- Migration 007 of the original schema (observability tables), SQLite dialect.
-- Tables live in the attached database `enterprise`; UUIDs are generated as text,
-- TIMESTAMPTZ is ISO-8601 text in UTC, JSONB is JSON text.

CREATE TABLE IF NOT EXISTS enterprise.request_metrics (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    timestamp TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    endpoint TEXT NOT NULL,
    method TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response_time_ms REAL NOT NULL,
    user_email TEXT,
    department TEXT,
    request_size_bytes INTEGER,
    response_size_bytes INTEGER,
    trace_id TEXT
);
CREATE INDEX IF NOT EXISTS enterprise.idx_request_metrics_ts ON request_metrics(timestamp DESC);
CREATE INDEX IF NOT EXISTS enterprise.idx_request_metrics_endpoint ON request_metrics(endpoint);
CREATE INDEX IF NOT EXISTS enterprise.idx_request_metrics_status ON request_metrics(status_code);

CREATE TABLE IF NOT EXISTS enterprise.system_metrics (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    timestamp TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    metric_type TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT,
    tags TEXT DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS enterprise.idx_system_metrics_ts ON system_metrics(timestamp DESC);
CREATE INDEX IF NOT EXISTS enterprise.idx_system_metrics_type ON system_metrics(metric_type, metric_name);

CREATE TABLE IF NOT EXISTS enterprise.llm_call_metrics (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    timestamp TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    elapsed_ms REAL NOT NULL,
    first_token_ms REAL,
    user_email TEXT,
    department TEXT,
    query_category TEXT,
    trace_id TEXT,
    cost_usd NUMERIC,
    success INTEGER DEFAULT 1,
    error_message TEXT
);
CREATE INDEX IF NOT EXISTS enterprise.idx_llm_metrics_ts ON llm_call_metrics(timestamp DESC);
CREATE INDEX IF NOT EXISTS enterprise.idx_llm_metrics_model ON llm_call_metrics(model);
CREATE INDEX IF NOT EXISTS enterprise.idx_llm_metrics_user ON llm_call_metrics(user_email);
CREATE INDEX IF NOT EXISTS enterprise.idx_llm_metrics_dept ON llm_call_metrics(department);

CREATE TABLE IF NOT EXISTS enterprise.rag_metrics (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    timestamp TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    trace_id TEXT,
    user_email TEXT,
    department TEXT,
    query_hash TEXT,
    total_ms REAL NOT NULL,
    embedding_ms REAL,
    vector_search_ms REAL,
    rerank_ms REAL,
    chunks_retrieved INTEGER,
    chunks_used INTEGER,
    cache_hit INTEGER DEFAULT 0,
    embedding_cache_hit INTEGER DEFAULT 0,
    top_score REAL,
    avg_score REAL,
    threshold_used REAL
);
CREATE INDEX IF NOT EXISTS enterprise.idx_rag_metrics_ts ON rag_metrics(timestamp DESC);
CREATE INDEX IF NOT EXISTS enterprise.idx_rag_metrics_dept ON rag_metrics(department);
CREATE INDEX IF NOT EXISTS enterprise.idx_rag_metrics_cache ON rag_metrics(cache_hit);

CREATE TABLE IF NOT EXISTS enterprise.cache_metrics (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    timestamp TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    cache_type TEXT NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0,
    hit_rate REAL,
    memory_used_bytes INTEGER,
    keys_count INTEGER
);
CREATE INDEX IF NOT EXISTS enterprise.idx_cache_metrics_ts ON cache_metrics(timestamp DESC);
CREATE INDEX IF NOT EXISTS enterprise.idx_cache_metrics_type ON cache_metrics(cache_type);
