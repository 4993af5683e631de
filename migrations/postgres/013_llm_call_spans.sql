-- GenAI spans fill enterprise.llm_call_metrics (docs/metrics.md): one row per span, so a re-sent
-- span does not count its tokens and cost twice. Columns that would truncate what an SDK
-- sends are widened (model names, providers, e-mails and departments of any length; the
-- cost with full precision, since /metrics sums it).
ALTER TABLE enterprise.llm_call_metrics
    ADD COLUMN IF NOT EXISTS span_id TEXT,
    ALTER COLUMN model TYPE TEXT,
    ALTER COLUMN provider TYPE TEXT,
    ALTER COLUMN user_email TYPE TEXT,
    ALTER COLUMN department TYPE TEXT,
    ALTER COLUMN query_category TYPE TEXT,
    ALTER COLUMN trace_id TYPE TEXT,
    ALTER COLUMN cost_usd TYPE NUMERIC;
CREATE UNIQUE INDEX IF NOT EXISTS idx_llm_metrics_span ON enterprise.llm_call_metrics(trace_id, span_id);
CREATE INDEX IF NOT EXISTS idx_llm_metrics_provider_model ON enterprise.llm_call_metrics(provider, model);
