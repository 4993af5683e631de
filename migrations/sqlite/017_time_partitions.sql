-- 017: PostgreSQL only (its `trace_spans` and `structured_logs` become partitioned by day,
-- docs/partitioning.md). SQLite has no table partitioning; its retention deletes rows through
-- the time indexes. Nothing to change here.
SELECT 1;
