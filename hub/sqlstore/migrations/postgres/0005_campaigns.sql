-- Messaging for PostgreSQL: business settings, message templates, campaigns
-- and their recipients, automations and their runs, and the sweeps' records
-- of what they fired. Deliveries learn whether they are transactional (quiet
-- hours and frequency caps skip those).

ALTER TABLE businesses ADD COLUMN settings JSONB;

ALTER TABLE deliveries ADD COLUMN transactional BOOLEAN NOT NULL DEFAULT false;
-- Open deliveries of a source (a campaign's backlog) are counted often.
CREATE INDEX deliveries_open_source_idx ON deliveries (business_id, source) WHERE status IN ('pending', 'sending');
-- Frequency caps count a customer's recent deliveries.
CREATE INDEX deliveries_customer_created_idx ON deliveries (business_id, customer_id, created_at);

CREATE TABLE message_templates (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    name        TEXT NOT NULL,
    variants    JSONB NOT NULL,
    created_at  TIMESTAMPTZ(3) NOT NULL,
    updated_at  TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX message_templates_business_idx ON message_templates (business_id, id);

CREATE TABLE campaigns (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id  TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,
    audience     JSONB NOT NULL,
    channels     JSONB,
    template_id  TEXT COLLATE "C",
    message      JSONB,
    send_at      TIMESTAMPTZ(3),
    checkpoint   TEXT COLLATE "C" NOT NULL,
    walked       BOOLEAN NOT NULL,
    lease_owner  TEXT NOT NULL,
    lease_until  TIMESTAMPTZ(3),
    stats        JSONB,
    created_at   TIMESTAMPTZ(3) NOT NULL,
    updated_at   TIMESTAMPTZ(3) NOT NULL,
    started_at   TIMESTAMPTZ(3),
    finished_at  TIMESTAMPTZ(3)
);
CREATE INDEX campaigns_business_idx ON campaigns (business_id, id);
CREATE INDEX campaigns_active_idx ON campaigns (status) WHERE status IN ('scheduled', 'sending');

CREATE TABLE campaign_recipients (
    campaign_id   TEXT COLLATE "C" NOT NULL REFERENCES campaigns (id),
    customer_id   TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    business_id   TEXT COLLATE "C" NOT NULL,
    channel       TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    delivery_id   TEXT COLLATE "C",
    fallback_used BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
);

CREATE TABLE automations (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id   TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    name          TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    trigger_event TEXT NOT NULL,
    delay_seconds INTEGER NOT NULL,
    condition     JSONB NOT NULL,
    actions       JSONB NOT NULL,
    created_at    TIMESTAMPTZ(3) NOT NULL,
    updated_at    TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX automations_business_idx ON automations (business_id, id);
CREATE INDEX automations_trigger_idx ON automations (business_id, trigger_event) WHERE enabled;

CREATE TABLE automation_runs (
    automation_id TEXT COLLATE "C" NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    trigger_key   TEXT COLLATE "C" NOT NULL,
    business_id   TEXT COLLATE "C" NOT NULL,
    customer_id   TEXT COLLATE "C" NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    voucher_id    TEXT COLLATE "C",
    run_at        TIMESTAMPTZ(3) NOT NULL,
    created_at    TIMESTAMPTZ(3) NOT NULL,
    updated_at    TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (automation_id, trigger_key)
);
CREATE INDEX automation_runs_due_idx ON automation_runs (run_at) WHERE status = 'pending';

CREATE TABLE sweep_runs (
    business_id TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    kind        TEXT NOT NULL,
    last_date   TEXT NOT NULL,
    updated_at  TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (business_id, kind)
);

CREATE TABLE sweep_fires (
    kind        TEXT NOT NULL,
    subject_id  TEXT COLLATE "C" NOT NULL,
    period      TEXT NOT NULL,
    business_id TEXT COLLATE "C" NOT NULL,
    fired_at    TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (kind, subject_id, period)
);
