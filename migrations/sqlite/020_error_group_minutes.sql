-- Error groups per minute (`ErrorGroupMinute`, docs/api.md `/errors`): the errors of one group
-- (exception type, normalised message, service) from one source (`log` or `span`) whose time
-- falls in one minute, with their first and last time, the newest occurrence's raw message and
-- the trace of the newest occurrence that has one. The writer adds each commit's new error
-- records and failed spans in the same transaction, so `/errors` reads a few rows per group and
-- minute instead of every error in the window. `minute` and the times are the stores' ISO 8601
-- text. Rows of the errors already stored are added by the store right after this migration
-- (the message is normalised in Swift).
CREATE TABLE IF NOT EXISTS enterprise.error_group_minutes (
    minute TEXT NOT NULL,
    group_id TEXT NOT NULL,
    source TEXT NOT NULL,
    error_type TEXT NOT NULL,
    message TEXT NOT NULL,
    service_name TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    sample_message TEXT NOT NULL,
    sample_trace_id TEXT,
    sample_trace_seen TEXT,
    PRIMARY KEY (minute, group_id, source)
) WITHOUT ROWID;
