-- 019: each distinct resource and instrumentation scope is stored once, in `enterprise.resources`
-- and `enterprise.scopes`; spans and log records hold its id (`resource_id`, `scope_id`) instead
-- of repeating its JSON on every row (docs/partitioning.md, "Resources and scopes"). The JSON is
-- the key (a unique index); the writer keeps the ids it has committed in memory. Rows are never
-- deleted from either table (retention leaves them: they are few), so an id stays valid.
-- The stored rows move over here: one row per distinct text, then each span and record points
-- at its own, then the repeated columns go.

CREATE TABLE IF NOT EXISTS enterprise.resources (
    id INTEGER PRIMARY KEY,
    resource TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS enterprise.scopes (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL UNIQUE
);

INSERT OR IGNORE INTO enterprise.resources (resource)
SELECT resource FROM enterprise.trace_spans UNION SELECT resource FROM enterprise.structured_logs;
INSERT OR IGNORE INTO enterprise.scopes (scope)
SELECT scope FROM enterprise.trace_spans UNION SELECT scope FROM enterprise.structured_logs;

ALTER TABLE enterprise.trace_spans ADD COLUMN resource_id INTEGER;
ALTER TABLE enterprise.trace_spans ADD COLUMN scope_id INTEGER;
UPDATE enterprise.trace_spans SET
    resource_id = (SELECT r.id FROM enterprise.resources r WHERE r.resource = trace_spans.resource),
    scope_id = (SELECT c.id FROM enterprise.scopes c WHERE c.scope = trace_spans.scope);
ALTER TABLE enterprise.trace_spans DROP COLUMN resource;
ALTER TABLE enterprise.trace_spans DROP COLUMN scope;

ALTER TABLE enterprise.structured_logs ADD COLUMN resource_id INTEGER;
ALTER TABLE enterprise.structured_logs ADD COLUMN scope_id INTEGER;
UPDATE enterprise.structured_logs SET
    resource_id = (SELECT r.id FROM enterprise.resources r WHERE r.resource = structured_logs.resource),
    scope_id = (SELECT c.id FROM enterprise.scopes c WHERE c.scope = structured_logs.scope);
ALTER TABLE enterprise.structured_logs DROP COLUMN resource;
ALTER TABLE enterprise.structured_logs DROP COLUMN scope;

