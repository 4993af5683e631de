-- Calls between services per minute (`ServiceEdgeMinute`, docs/api.md `/services/graph`): a
-- parent span in `client_service` with a child span in another service, `server_service`,
-- counted in the minute the child started and in the latency bucket of its duration
-- (`ServiceEdgeMinute.bucketBoundsMs`), with the failed children, the durations' sum and the
-- largest. Trace roots are calls with an empty `client_service`. The writer adds each commit's
-- calls in the same transaction; the calls of the spans already stored are added by the store
-- right after this migration.
CREATE TABLE IF NOT EXISTS enterprise.service_edge_minutes (
    minute TEXT NOT NULL,
    client_service TEXT NOT NULL,
    server_service TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    total_ms REAL NOT NULL,
    max_ms REAL NOT NULL,
    PRIMARY KEY (minute, client_service, server_service, bucket)
) WITHOUT ROWID;
