-- Webhooks for PostgreSQL: REST hook subscriptions and the log of their
-- delivery attempts. Same conventions as 0001 (ids are COLLATE "C", times
-- are timestamptz(3)).

CREATE TABLE hooks (
    id                    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id           TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    event                 TEXT NOT NULL,
    target_url            TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until TIMESTAMPTZ(3),
    status                TEXT NOT NULL,
    failing_since         TIMESTAMPTZ(3),
    active_since          TIMESTAMPTZ(3) NOT NULL,
    created_at            TIMESTAMPTZ(3) NOT NULL
);
-- Its prefix (business_id, event) also serves the hooks of an event.
CREATE UNIQUE INDEX hooks_business_event_target_key ON hooks (business_id, event, target_url);
CREATE INDEX hooks_business_idx ON hooks (business_id, id);

-- A log kept for a while (30 days) after the hook it names is gone: neither
-- hook_id nor business_id is a foreign key.
CREATE TABLE delivery_attempts (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id   TEXT COLLATE "C" NOT NULL,
    hook_id       TEXT COLLATE "C" NOT NULL,
    event_id      TEXT COLLATE "C" NOT NULL,
    attempt       INTEGER NOT NULL,
    status_code   INTEGER,
    duration_ms   BIGINT NOT NULL,
    error         TEXT,
    response_body TEXT NOT NULL,
    delivered     BOOLEAN NOT NULL,
    at            TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX delivery_attempts_hook_idx ON delivery_attempts (hook_id, id);
CREATE INDEX delivery_attempts_delivered_idx ON delivery_attempts (hook_id, event_id) WHERE delivered;
CREATE INDEX delivery_attempts_at_idx ON delivery_attempts (at);
