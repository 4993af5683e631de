-- Migration 010 of the original schema (alerting), SQLite dialect, with its five default rules.

CREATE TABLE IF NOT EXISTS enterprise.alert_rules (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    name TEXT NOT NULL,
    description TEXT,
    metric_type TEXT NOT NULL,
    condition TEXT NOT NULL,
    threshold REAL NOT NULL,
    window_minutes INTEGER DEFAULT 5,
    evaluation_interval_seconds INTEGER DEFAULT 60,
    custom_sql TEXT,
    severity TEXT DEFAULT 'warning',
    notification_channels TEXT DEFAULT '["slack"]',
    cooldown_minutes INTEGER DEFAULT 15,
    enabled INTEGER DEFAULT 1,
    last_evaluated_at TEXT,
    last_triggered_at TEXT,
    created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created_by TEXT,
    updated_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS enterprise.idx_alert_rules_enabled ON alert_rules(enabled);
CREATE INDEX IF NOT EXISTS enterprise.idx_alert_rules_metric ON alert_rules(metric_type);

CREATE TABLE IF NOT EXISTS enterprise.alert_instances (
    id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))),
    rule_id TEXT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
    triggered_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    resolved_at TEXT,
    status TEXT DEFAULT 'firing',
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    metric_value REAL,
    threshold_value REAL,
    message TEXT,
    context TEXT DEFAULT '{}',
    notifications_sent TEXT DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS enterprise.idx_alert_instances_rule ON alert_instances(rule_id);
CREATE INDEX IF NOT EXISTS enterprise.idx_alert_instances_status ON alert_instances(status);
CREATE INDEX IF NOT EXISTS enterprise.idx_alert_instances_triggered ON alert_instances(triggered_at DESC);

INSERT INTO enterprise.alert_rules (name, description, metric_type, condition, threshold, window_minutes, severity, notification_channels) VALUES
    ('High Error Rate', 'More than 10 errors in 5 minutes', 'error_count', 'gt', 10, 5, 'critical', '["slack"]'),
    ('Slow RAG Queries', 'RAG P95 latency above 3 seconds', 'rag_latency_p95', 'gt', 3000, 5, 'warning', '["slack"]'),
    ('LLM Cost Spike', 'LLM cost exceeds $10 in 1 hour', 'llm_cost_hourly', 'gt', 10, 60, 'warning', '["slack", "email"]'),
    ('Low Cache Hit Rate', 'Cache hit rate below 20%', 'cache_hit_rate', 'lt', 20, 15, 'info', '["slack"]'),
    ('High Memory Usage', 'Memory usage above 85%', 'memory_percent', 'gt', 85, 5, 'warning', '["slack"]')
ON CONFLICT DO NOTHING;
