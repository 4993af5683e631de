-- OTLP metrics. A series is one metric's identity (name, unit, type, temporality, resource
-- and point attributes), kept once under a hash of that identity (`series_id`, 16 hex
-- digits); its data points are rows of their own, keyed by series and time, so a re-sent
-- point is stored once. Histogram buckets, exponential buckets and summary quantiles are
-- JSON in `buckets`; exemplars JSON in `exemplars`. Retention deletes points by time
-- (`time_unix_nano`) and then series no longer seen (`last_seen_unix_nano`).
CREATE TABLE IF NOT EXISTS enterprise.metric_series (
    series_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    unit TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL,
    temporality TEXT NOT NULL DEFAULT '',
    monotonic BOOLEAN NOT NULL DEFAULT false,
    service_name TEXT NOT NULL DEFAULT '',
    resource JSONB NOT NULL DEFAULT '{}',
    scope TEXT NOT NULL DEFAULT '',
    attributes JSONB NOT NULL DEFAULT '{}',
    first_seen_unix_nano BIGINT NOT NULL,
    last_seen_unix_nano BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_metric_series_name ON enterprise.metric_series(name);
CREATE INDEX IF NOT EXISTS idx_metric_series_last_seen ON enterprise.metric_series(last_seen_unix_nano);

CREATE TABLE IF NOT EXISTS enterprise.metric_points (
    series_id TEXT NOT NULL,
    time_unix_nano BIGINT NOT NULL,
    start_time_unix_nano BIGINT NOT NULL DEFAULT 0,
    value DOUBLE PRECISION,
    count BIGINT,
    sum DOUBLE PRECISION,
    min DOUBLE PRECISION,
    max DOUBLE PRECISION,
    buckets JSONB,
    exemplars JSONB,
    flags INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (series_id, time_unix_nano)
);
CREATE INDEX IF NOT EXISTS idx_metric_points_time ON enterprise.metric_points(time_unix_nano);
