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
    monotonic INTEGER NOT NULL DEFAULT 0,
    service_name TEXT NOT NULL DEFAULT '',
    resource TEXT NOT NULL DEFAULT '{}',
    scope TEXT NOT NULL DEFAULT '',
    attributes TEXT NOT NULL DEFAULT '{}',
    first_seen_unix_nano INTEGER NOT NULL,
    last_seen_unix_nano INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS enterprise.idx_metric_series_name ON metric_series(name);
CREATE INDEX IF NOT EXISTS enterprise.idx_metric_series_last_seen ON metric_series(last_seen_unix_nano);

CREATE TABLE IF NOT EXISTS enterprise.metric_points (
    series_id TEXT NOT NULL,
    time_unix_nano INTEGER NOT NULL,
    start_time_unix_nano INTEGER NOT NULL DEFAULT 0,
    value REAL,
    count INTEGER,
    sum REAL,
    min REAL,
    max REAL,
    buckets TEXT,
    exemplars TEXT,
    flags INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (series_id, time_unix_nano)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS enterprise.idx_metric_points_time ON metric_points(time_unix_nano);
