-- Sales from tills and the API (issue 12): one row per (business, source,
-- order), written in the same transaction as the stamps it adds.
ALTER TABLE card_templates ADD COLUMN earning JSONB;

CREATE TABLE sales (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id    TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    source         TEXT COLLATE "C" NOT NULL,
    order_id       TEXT COLLATE "C" NOT NULL,
    location_id    TEXT COLLATE "C",
    status         TEXT NOT NULL,
    customer       JSONB NOT NULL,
    customer_id    TEXT COLLATE "C",
    card_id        TEXT COLLATE "C",
    total          TEXT NOT NULL,
    currency       TEXT NOT NULL,
    items          JSONB NOT NULL,
    closed_at      TIMESTAMPTZ(3),
    stamps_added   INTEGER NOT NULL,
    stamps_removed INTEGER,
    refunded_at    TIMESTAMPTZ(3),
    rewards        JSONB NOT NULL,
    created_at     TIMESTAMPTZ(3) NOT NULL,
    updated_at     TIMESTAMPTZ(3) NOT NULL
);
CREATE UNIQUE INDEX sales_order_key ON sales (business_id, source, order_id);
CREATE INDEX sales_business_idx ON sales (business_id, id);
CREATE INDEX sales_status_idx ON sales (business_id, status, id);

CREATE INDEX cards_wallet_pass_idx ON cards (business_id, wallet_pass_id);

-- A business's connection to a till provider (poster, syrve, generic).
CREATE TABLE pos_connections (
    business_id        TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    provider           TEXT COLLATE "C" NOT NULL,
    status             TEXT NOT NULL,
    settings           JSONB NOT NULL,
    account            TEXT,
    sealed             BYTEA NOT NULL,
    last_webhook_at    TIMESTAMPTZ(3),
    last_reconciled_at TIMESTAMPTZ(3),
    last_error         TEXT,
    last_error_at      TIMESTAMPTZ(3),
    created_at         TIMESTAMPTZ(3) NOT NULL,
    updated_at         TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (business_id, provider)
);
-- Poster sends every account's webhooks to one URL: the account finds the business.
CREATE UNIQUE INDEX pos_connections_account_key ON pos_connections (provider, account);
