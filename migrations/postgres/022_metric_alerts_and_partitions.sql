-- The `metric` alert rule type (docs/alerting.md): the OTLP metric a rule watches, how its
-- window's points are reduced to one value (avg, max, rate, p95), and the attributes each of
-- its series must carry (a flat JSON object of strings, empty for every other rule type,
-- whose name and aggregation are NULL).
ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS metric_name TEXT;
ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS metric_aggregation TEXT;
ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS metric_attributes JSONB NOT NULL DEFAULT '{}';

-- `enterprise.metric_points` becomes a table partitioned by UTC day on `time_unix_nano` (Unix
-- nanoseconds: each day is [day × 86400 × 10^9, (day + 1) × 86400 × 10^9)), under the same name,
-- columns, primary key and index names, as migration 017 did for spans and log records
-- (docs/partitioning.md): retention drops a whole day of points instead of deleting them row by
-- row, and a query over a window reads only the days it touches. The primary key
-- (series_id, time_unix_nano) already holds the partition key, so a re-sent point is still
-- stored once. `enterprise.metric_series` stays one table (one row per series).
--
-- Days are `metric_points_pYYYYMMDD`, a DEFAULT partition (`metric_points_default`) takes a
-- point no day holds; Sightline creates the coming days at start-up and then periodically
-- (`PostgresStore.ensurePartitions`). Here: a partition for every day within 366 days of now
-- that holds points (one index probe per day), and yesterday to the day after tomorrow.
CREATE TEMP TABLE partition_days_022 ON COMMIT DROP AS
WITH RECURSIVE
    bounds AS (
        SELECT ((floor(extract(epoch FROM now()) / 86400) - 366) * 86400000000000)::int8 AS low,
               ((floor(extract(epoch FROM now()) / 86400) + 367) * 86400000000000)::int8 AS high
    ),
    point_days(day) AS (
        SELECT (SELECT min(time_unix_nano) FROM enterprise.metric_points, bounds
                WHERE time_unix_nano >= bounds.low AND time_unix_nano < bounds.high) / 86400000000000
        UNION ALL
        SELECT (SELECT min(p.time_unix_nano) FROM enterprise.metric_points p, bounds
                WHERE p.time_unix_nano >= (point_days.day + 1) * 86400000000000 AND p.time_unix_nano < bounds.high) / 86400000000000
        FROM point_days WHERE point_days.day IS NOT NULL
    )
SELECT day FROM point_days WHERE day IS NOT NULL
UNION
SELECT d FROM generate_series(floor(extract(epoch FROM now()) / 86400)::int8 - 1, floor(extract(epoch FROM now()) / 86400)::int8 + 2) AS d;

ALTER TABLE enterprise.metric_points RENAME TO metric_points_before_022;
ALTER TABLE enterprise.metric_points_before_022 RENAME CONSTRAINT metric_points_pkey TO metric_points_before_022_pkey;
DROP INDEX enterprise.idx_metric_points_time;

CREATE TABLE enterprise.metric_points (LIKE enterprise.metric_points_before_022 INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMMENTS)
    PARTITION BY RANGE (time_unix_nano);
CREATE TABLE enterprise.metric_points_default PARTITION OF enterprise.metric_points DEFAULT;

DO $$
DECLARE
    planned RECORD;
BEGIN
    FOR planned IN SELECT day FROM partition_days_022 ORDER BY day LOOP
        EXECUTE format('CREATE TABLE enterprise.%I PARTITION OF enterprise.metric_points FOR VALUES FROM (%s) TO (%s)',
                       'metric_points_p' || to_char(date '1970-01-01' + planned.day::int, 'YYYYMMDD'),
                       planned.day * 86400000000000, (planned.day + 1) * 86400000000000);
    END LOOP;
END
$$;

INSERT INTO enterprise.metric_points SELECT * FROM enterprise.metric_points_before_022;
DROP TABLE enterprise.metric_points_before_022;

ALTER TABLE enterprise.metric_points ADD CONSTRAINT metric_points_pkey PRIMARY KEY (series_id, time_unix_nano);
CREATE INDEX idx_metric_points_time ON enterprise.metric_points (time_unix_nano);
