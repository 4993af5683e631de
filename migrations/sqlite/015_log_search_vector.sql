-- 015: on PostgreSQL, a stored tsvector for full-text search over log messages. SQLite's
-- full-text index (structured_logs_fts, migration 009) already stores its terms: nothing to do.
SELECT 1;
