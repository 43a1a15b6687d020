-- Sales from tills and the API (issue 12): one row per (business, source,
-- order), written in the same transaction as the stamps it adds.
ALTER TABLE card_templates ADD COLUMN earning TEXT;

CREATE TABLE sales (
    id             TEXT NOT NULL PRIMARY KEY,
    business_id    TEXT NOT NULL REFERENCES businesses (id),
    source         TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    location_id    TEXT,
    status         TEXT NOT NULL,
    customer       TEXT NOT NULL,
    customer_id    TEXT,
    card_id        TEXT,
    total          TEXT NOT NULL,
    currency       TEXT NOT NULL,
    items          TEXT NOT NULL,
    closed_at      TEXT,
    stamps_added   INTEGER NOT NULL,
    stamps_removed INTEGER,
    refunded_at    TEXT,
    rewards        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX sales_order_key ON sales (business_id, source, order_id);
CREATE INDEX sales_business_idx ON sales (business_id, id);
CREATE INDEX sales_status_idx ON sales (business_id, status, id);

CREATE INDEX cards_wallet_pass_idx ON cards (business_id, wallet_pass_id);

-- A business's connection to a till provider (poster, syrve, generic).
CREATE TABLE pos_connections (
    business_id        TEXT NOT NULL REFERENCES businesses (id),
    provider           TEXT NOT NULL,
    status             TEXT NOT NULL,
    settings           TEXT NOT NULL,
    account            TEXT,
    sealed             BLOB NOT NULL,
    last_webhook_at    TEXT,
    last_reconciled_at TEXT,
    last_error         TEXT,
    last_error_at      TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (business_id, provider)
);
-- Poster sends every account's webhooks to one URL: the account finds the business.
CREATE UNIQUE INDEX pos_connections_account_key ON pos_connections (provider, account);
