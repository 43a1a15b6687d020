-- The hub's schema for PostgreSQL. Times are timestamptz(3) (the store writes
-- millisecond precision); JSON-valued settings are jsonb; event payloads are
-- text so the envelope keeps the exact bytes it was written with.
-- No business rules here: the domain decides, the store stores and finds.

CREATE TABLE businesses (
    id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name             TEXT NOT NULL,
    timezone         TEXT NOT NULL,
    default_language TEXT NOT NULL,
    created_at       TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX businesses_name_idx ON businesses (name, id);

CREATE TABLE locations (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX locations_business_idx ON locations (business_id, id);

CREATE TABLE staff (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    login       TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ(3) NOT NULL
);
CREATE UNIQUE INDEX staff_business_login_key ON staff (business_id, login);

CREATE TABLE api_keys (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id  TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    staff_id     TEXT COLLATE "C" NOT NULL REFERENCES staff (id),
    name         TEXT NOT NULL,
    masked_key   TEXT NOT NULL,
    status       TEXT NOT NULL,
    hash         TEXT NOT NULL,
    created_at   TIMESTAMPTZ(3) NOT NULL,
    last_used_at TIMESTAMPTZ(3)
);
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (hash);
CREATE UNIQUE INDEX api_keys_staff_active_key ON api_keys (staff_id) WHERE status = 'active';
CREATE INDEX api_keys_business_idx ON api_keys (business_id, id);

CREATE TABLE card_templates (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    name        TEXT NOT NULL,
    goals       JSONB,
    lottery     JSONB,
    created_at  TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX card_templates_business_idx ON card_templates (business_id, id);

CREATE TABLE voucher_templates (
    id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id         TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    title               TEXT NOT NULL,
    description         TEXT,
    redeem_code_formats JSONB,
    valid_days          INTEGER,
    created_at          TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX voucher_templates_business_idx ON voucher_templates (business_id, id);

CREATE TABLE customers (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id    TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    email          TEXT,
    phone          TEXT,
    name           TEXT,
    language       TEXT NOT NULL,
    birthday       TEXT,
    wallet_pass_id TEXT,
    consent        JSONB,
    created_at     TIMESTAMPTZ(3) NOT NULL,
    updated_at     TIMESTAMPTZ(3) NOT NULL
);
CREATE UNIQUE INDEX customers_business_email_key ON customers (business_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX customers_business_phone_key ON customers (business_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX customers_business_idx ON customers (business_id, id);

CREATE TABLE cards (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id    TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    template_id    TEXT COLLATE "C" NOT NULL REFERENCES card_templates (id),
    customer_id    TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    wallet_pass_id TEXT NOT NULL,
    stamps         INTEGER NOT NULL,
    stamps_total   INTEGER NOT NULL,
    goal_index     INTEGER NOT NULL,
    cycle          INTEGER NOT NULL,
    status         TEXT NOT NULL,
    page_token     TEXT NOT NULL,
    created_at     TIMESTAMPTZ(3) NOT NULL,
    updated_at     TIMESTAMPTZ(3) NOT NULL,
    last_stamp_at  TIMESTAMPTZ(3),
    last_opened_at TIMESTAMPTZ(3)
) WITH (fillfactor = 85); -- room for HOT updates: a stamp changes no indexed column
CREATE UNIQUE INDEX cards_customer_template_key ON cards (customer_id, template_id);
CREATE INDEX cards_business_idx ON cards (business_id, id);
CREATE INDEX cards_business_template_idx ON cards (business_id, template_id, id);

CREATE TABLE vouchers (
    id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id         TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    type                TEXT NOT NULL,
    template_id         TEXT COLLATE "C" REFERENCES voucher_templates (id),
    title               TEXT NOT NULL,
    description         TEXT,
    redeem_code         TEXT NOT NULL,
    redeem_code_formats JSONB,
    status              TEXT NOT NULL,
    customer_id         TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    card_id             TEXT COLLATE "C" REFERENCES cards (id),
    goal_index          INTEGER,
    expires_at          TIMESTAMPTZ(3),
    redeemed_at         TIMESTAMPTZ(3),
    redeemed_via        TEXT,
    location_id         TEXT COLLATE "C" REFERENCES locations (id),
    created_at          TIMESTAMPTZ(3) NOT NULL
);
CREATE UNIQUE INDEX vouchers_business_code_key ON vouchers (business_id, redeem_code);
CREATE INDEX vouchers_business_idx ON vouchers (business_id, id);
CREATE INDEX vouchers_business_customer_idx ON vouchers (business_id, customer_id, id);
CREATE INDEX vouchers_due_idx ON vouchers (expires_at, id) WHERE status = 'issued';

CREATE TABLE events (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id   TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    type          TEXT NOT NULL,
    customer_id   TEXT COLLATE "C",
    card_id       TEXT COLLATE "C",
    voucher_id    TEXT COLLATE "C",
    created_at    TIMESTAMPTZ(3) NOT NULL,
    dispatched_at TIMESTAMPTZ(3),
    payload       TEXT NOT NULL
);
CREATE INDEX events_business_idx ON events (business_id, id);
CREATE INDEX events_business_type_idx ON events (business_id, type, id);
CREATE INDEX events_business_customer_idx ON events (business_id, customer_id, id);
CREATE INDEX events_business_card_idx ON events (business_id, card_id, id);
CREATE INDEX events_undispatched_idx ON events (created_at, id) WHERE dispatched_at IS NULL;

-- A response cache of the HTTP layer, keyed by business but not tied to it.
CREATE TABLE idempotency_keys (
    business_id  TEXT COLLATE "C" NOT NULL,
    key          TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    body_hash    TEXT NOT NULL,
    done         BOOLEAN NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body         BYTEA,
    created_at   TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (business_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

