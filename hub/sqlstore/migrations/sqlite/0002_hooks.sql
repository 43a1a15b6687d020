-- Webhooks for SQLite: REST hook subscriptions and the log of their delivery
-- attempts. Same conventions as 0001 (times are TEXT in one sortable UTC
-- format); booleans are INTEGER 0 or 1.

CREATE TABLE hooks (
    id                    TEXT NOT NULL PRIMARY KEY,
    business_id           TEXT NOT NULL REFERENCES businesses (id),
    event                 TEXT NOT NULL,
    target_url            TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until TEXT,
    status                TEXT NOT NULL,
    failing_since         TEXT,
    active_since          TEXT NOT NULL,
    created_at            TEXT NOT NULL
);
-- Its prefix (business_id, event) also serves the hooks of an event.
CREATE UNIQUE INDEX hooks_business_event_target_key ON hooks (business_id, event, target_url);
CREATE INDEX hooks_business_idx ON hooks (business_id, id);

-- A log kept for a while (30 days) after the hook it names is gone: neither
-- hook_id nor business_id is a foreign key.
CREATE TABLE delivery_attempts (
    id            TEXT NOT NULL PRIMARY KEY,
    business_id   TEXT NOT NULL,
    hook_id       TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    status_code   INTEGER,
    duration_ms   INTEGER NOT NULL,
    error         TEXT,
    response_body TEXT NOT NULL,
    delivered     INTEGER NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX delivery_attempts_hook_idx ON delivery_attempts (hook_id, id);
CREATE INDEX delivery_attempts_delivered_idx ON delivery_attempts (hook_id, event_id) WHERE delivered;
CREATE INDEX delivery_attempts_at_idx ON delivery_attempts (at);
