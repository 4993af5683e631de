-- The `metric` alert rule type (docs/alerting.md): the OTLP metric a rule watches, how its
-- window's points are reduced to one value (avg, max, rate, p95), and the attributes each of
-- its series must carry (a flat JSON object of strings, empty for every other rule type,
-- whose name and aggregation are NULL).
ALTER TABLE enterprise.alert_rules ADD COLUMN metric_name TEXT;
ALTER TABLE enterprise.alert_rules ADD COLUMN metric_aggregation TEXT;
ALTER TABLE enterprise.alert_rules ADD COLUMN metric_attributes TEXT NOT NULL DEFAULT '{}';

-- PostgreSQL also partitions `enterprise.metric_points` by day here; SQLite's retention deletes
-- points in bounded slices through `idx_metric_points_time` (docs/partitioning.md).
