-- Alert engine state (docs/alerting.md): rule scoping and damping, instance fingerprints and
-- notification bookkeeping, and one row per notification attempt.

ALTER TABLE enterprise.alert_rules ADD COLUMN service_name TEXT;
ALTER TABLE enterprise.alert_rules ADD COLUMN operation_name TEXT;
ALTER TABLE enterprise.alert_rules ADD COLUMN for_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.alert_rules ADD COLUMN repeat_interval_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.alert_rules ADD COLUMN notification_config TEXT NOT NULL DEFAULT '{}';
ALTER TABLE enterprise.alert_rules ADD COLUMN last_value REAL;
ALTER TABLE enterprise.alert_rules ADD COLUMN last_error TEXT;

ALTER TABLE enterprise.alert_instances ADD COLUMN fingerprint TEXT;
ALTER TABLE enterprise.alert_instances ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE enterprise.alert_instances ADD COLUMN pending_since TEXT;
ALTER TABLE enterprise.alert_instances ADD COLUMN fired_at TEXT;
ALTER TABLE enterprise.alert_instances ADD COLUMN last_notified_at TEXT;
CREATE INDEX IF NOT EXISTS enterprise.idx_alert_instances_fingerprint ON alert_instances(fingerprint);

CREATE TABLE IF NOT EXISTS enterprise.notifications_sent (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL REFERENCES alert_instances(id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    sent_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    success INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS enterprise.idx_notifications_sent_instance ON notifications_sent(instance_id);
CREATE INDEX IF NOT EXISTS enterprise.idx_notifications_sent_time ON notifications_sent(sent_at DESC);
