-- Log records by hour, then rowid: the smallest rowid of the records of one hour is one seek.
-- A full-text search over a window reads the full-text index's matches only from the smallest
-- rowid of the window's hours (`SQLLogQueries+SQLiteSearch.swift`), so its cost follows the
-- window, not the history the file holds (docs/retention.md, docs/performance.md).
CREATE INDEX IF NOT EXISTS enterprise.idx_logs_hour ON structured_logs(substr(timestamp, 1, 13));
