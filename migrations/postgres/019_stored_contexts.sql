-- 019: each distinct resource and instrumentation scope is stored once, in `enterprise.resources`
-- and `enterprise.scopes`; spans and log records hold its id (`resource_id`, `scope_id`) instead
-- of repeating its JSON on every row (docs/partitioning.md, "Resources and scopes"). The key is
-- the hash of the JSON (a unique index on md5 of its text: a JSON longer than a b-tree entry
-- allows still has one); the writer keeps the ids it has committed in memory. Rows are never
-- deleted from either table (retention leaves them: they are few), so an id stays valid.
-- The columns are added and dropped on the partitioned parents, so every day's partition
-- follows. The stored rows move over here: one row per distinct JSON, then each span and record
-- points at its own (the old JSON set to NULL in the same update, so the rewritten rows are
-- small), then the repeated columns go.

CREATE TABLE IF NOT EXISTS enterprise.resources (
    id BIGSERIAL PRIMARY KEY,
    resource JSONB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_resources_hash ON enterprise.resources (md5(resource::text));
CREATE TABLE IF NOT EXISTS enterprise.scopes (
    id BIGSERIAL PRIMARY KEY,
    scope JSONB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_scopes_hash ON enterprise.scopes (md5(scope::text));

INSERT INTO enterprise.resources (resource)
SELECT resource FROM enterprise.trace_spans UNION SELECT resource FROM enterprise.structured_logs
ON CONFLICT DO NOTHING;
INSERT INTO enterprise.scopes (scope)
SELECT scope FROM enterprise.trace_spans UNION SELECT scope FROM enterprise.structured_logs
ON CONFLICT DO NOTHING;

ALTER TABLE enterprise.trace_spans ADD COLUMN resource_id BIGINT, ADD COLUMN scope_id BIGINT,
    ALTER COLUMN resource DROP NOT NULL, ALTER COLUMN scope DROP NOT NULL;
UPDATE enterprise.trace_spans s SET resource_id = r.id, scope_id = c.id, resource = NULL, scope = NULL
FROM enterprise.resources r, enterprise.scopes c
WHERE md5(r.resource::text) = md5(s.resource::text) AND md5(c.scope::text) = md5(s.scope::text);
ALTER TABLE enterprise.trace_spans DROP COLUMN resource, DROP COLUMN scope;

ALTER TABLE enterprise.structured_logs ADD COLUMN resource_id BIGINT, ADD COLUMN scope_id BIGINT,
    ALTER COLUMN resource DROP NOT NULL, ALTER COLUMN scope DROP NOT NULL;
UPDATE enterprise.structured_logs l SET resource_id = r.id, scope_id = c.id, resource = NULL, scope = NULL
FROM enterprise.resources r, enterprise.scopes c
WHERE md5(r.resource::text) = md5(l.resource::text) AND md5(c.scope::text) = md5(l.scope::text);
ALTER TABLE enterprise.structured_logs DROP COLUMN resource, DROP COLUMN scope;

