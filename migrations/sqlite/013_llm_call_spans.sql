-- GenAI spans fill enterprise.llm_call_metrics (docs/metrics.md): one row per span, so a re-sent
-- span does not count its tokens and cost twice.
ALTER TABLE enterprise.llm_call_metrics ADD COLUMN span_id TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS enterprise.idx_llm_metrics_span ON llm_call_metrics(trace_id, span_id);
CREATE INDEX IF NOT EXISTS enterprise.idx_llm_metrics_provider_model ON llm_call_metrics(provider, model);
