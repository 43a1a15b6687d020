-- Messaging for SQLite: business settings, message templates, campaigns
-- and their recipients, automations and their runs, and the sweeps' records
-- of what they fired. Deliveries learn whether they are transactional (quiet
-- hours and frequency caps skip those).

ALTER TABLE businesses ADD COLUMN settings TEXT;

ALTER TABLE deliveries ADD COLUMN transactional INTEGER NOT NULL DEFAULT 0;
-- Open deliveries of a source (a campaign's backlog) are counted often.
CREATE INDEX deliveries_open_source_idx ON deliveries (business_id, source) WHERE status IN ('pending', 'sending');
-- Frequency caps count a customer's recent deliveries.
CREATE INDEX deliveries_customer_created_idx ON deliveries (business_id, customer_id, created_at);

CREATE TABLE message_templates (
    id          TEXT NOT NULL PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    name        TEXT NOT NULL,
    variants    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX message_templates_business_idx ON message_templates (business_id, id);

CREATE TABLE campaigns (
    id           TEXT NOT NULL PRIMARY KEY,
    business_id  TEXT NOT NULL REFERENCES businesses (id),
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,
    audience     TEXT NOT NULL,
    channels     TEXT,
    template_id  TEXT,
    message      TEXT,
    send_at      TEXT,
    checkpoint   TEXT NOT NULL,
    walked       INTEGER NOT NULL,
    lease_owner  TEXT NOT NULL,
    lease_until  TEXT,
    stats        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX campaigns_business_idx ON campaigns (business_id, id);
CREATE INDEX campaigns_active_idx ON campaigns (status) WHERE status IN ('scheduled', 'sending');

CREATE TABLE campaign_recipients (
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id),
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    business_id   TEXT NOT NULL,
    channel       TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    delivery_id   TEXT,
    fallback_used INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
);

CREATE TABLE automations (
    id            TEXT NOT NULL PRIMARY KEY,
    business_id   TEXT NOT NULL REFERENCES businesses (id),
    name          TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    trigger_event TEXT NOT NULL,
    delay_seconds INTEGER NOT NULL,
    condition     TEXT NOT NULL,
    actions       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX automations_business_idx ON automations (business_id, id);
CREATE INDEX automations_trigger_idx ON automations (business_id, trigger_event) WHERE enabled = 1;

CREATE TABLE automation_runs (
    automation_id TEXT NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    trigger_key   TEXT NOT NULL,
    business_id   TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    voucher_id    TEXT,
    run_at        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (automation_id, trigger_key)
);
CREATE INDEX automation_runs_due_idx ON automation_runs (run_at) WHERE status = 'pending';

CREATE TABLE sweep_runs (
    business_id TEXT NOT NULL REFERENCES businesses (id),
    kind        TEXT NOT NULL,
    last_date   TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (business_id, kind)
);

CREATE TABLE sweep_fires (
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    period      TEXT NOT NULL,
    business_id TEXT NOT NULL,
    fired_at    TEXT NOT NULL,
    PRIMARY KEY (kind, subject_id, period)
);
