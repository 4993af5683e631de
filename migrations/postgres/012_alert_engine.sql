-- Alert engine state (docs/alerting.md): rule scoping and damping, instance fingerprints and
-- notification bookkeeping, and one row per notification attempt.

ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS service_name TEXT;
ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS operation_name TEXT;
ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS for_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS repeat_interval_minutes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS notification_config JSONB NOT NULL DEFAULT '{}';
ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS last_value FLOAT;
ALTER TABLE enterprise.alert_rules ADD COLUMN IF NOT EXISTS last_error TEXT;

ALTER TABLE enterprise.alert_instances ADD COLUMN IF NOT EXISTS fingerprint TEXT;
ALTER TABLE enterprise.alert_instances ADD COLUMN IF NOT EXISTS labels JSONB NOT NULL DEFAULT '{}';
ALTER TABLE enterprise.alert_instances ADD COLUMN IF NOT EXISTS pending_since TIMESTAMPTZ;
ALTER TABLE enterprise.alert_instances ADD COLUMN IF NOT EXISTS fired_at TIMESTAMPTZ;
ALTER TABLE enterprise.alert_instances ADD COLUMN IF NOT EXISTS last_notified_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS idx_alert_instances_fingerprint ON enterprise.alert_instances(fingerprint);

CREATE TABLE IF NOT EXISTS enterprise.notifications_sent (
    id BIGSERIAL PRIMARY KEY,
    instance_id UUID NOT NULL REFERENCES enterprise.alert_instances(id) ON DELETE CASCADE,
    rule_id UUID NOT NULL,
    channel VARCHAR(32) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    attempt INTEGER NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    success BOOLEAN NOT NULL,
    status_code INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS idx_notifications_sent_instance ON enterprise.notifications_sent(instance_id);
CREATE INDEX IF NOT EXISTS idx_notifications_sent_time ON enterprise.notifications_sent(sent_at DESC);
