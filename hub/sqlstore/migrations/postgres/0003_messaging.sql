-- Channels for PostgreSQL: provider configurations (secrets sealed), customer
-- contacts on messengers, one-time link tokens, the delivery ledger, and the
-- wallet-pass web service's device registrations and offers.

CREATE TABLE channel_configs (
    business_id TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    provider    TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL,
    settings    JSONB NOT NULL,
    sealed      BYTEA NOT NULL,
    created_at  TIMESTAMPTZ(3) NOT NULL,
    updated_at  TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (business_id, provider)
);

CREATE TABLE customer_contacts (
    business_id        TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    customer_id        TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    channel            TEXT NOT NULL,
    address            TEXT NOT NULL,
    linked_at          TIMESTAMPTZ(3) NOT NULL,
    reachable          BOOLEAN NOT NULL,
    unreachable_reason TEXT NOT NULL,
    unreachable_at     TIMESTAMPTZ(3),
    last_inbound_at    TIMESTAMPTZ(3),
    PRIMARY KEY (customer_id, channel)
);
CREATE UNIQUE INDEX customer_contacts_address_key ON customer_contacts (business_id, channel, address);

CREATE TABLE link_tokens (
    hash        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    customer_id TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    channel     TEXT NOT NULL,
    created_at  TIMESTAMPTZ(3) NOT NULL,
    expires_at  TIMESTAMPTZ(3) NOT NULL,
    used_at     TIMESTAMPTZ(3)
);

CREATE TABLE deliveries (
    id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    business_id         TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    source              TEXT NOT NULL,
    customer_id         TEXT COLLATE "C" NOT NULL REFERENCES customers (id),
    channel             TEXT NOT NULL,
    provider            TEXT NOT NULL,
    status              TEXT NOT NULL,
    content             JSONB NOT NULL,
    attempts            INTEGER NOT NULL,
    provider_message_id TEXT NOT NULL,
    provider_status     TEXT NOT NULL,
    error               TEXT NOT NULL,
    created_at          TIMESTAMPTZ(3) NOT NULL,
    updated_at          TIMESTAMPTZ(3) NOT NULL,
    sent_at             TIMESTAMPTZ(3)
);
CREATE UNIQUE INDEX deliveries_source_key ON deliveries (business_id, source, customer_id, channel);
CREATE INDEX deliveries_business_idx ON deliveries (business_id, id);
CREATE INDEX deliveries_customer_idx ON deliveries (business_id, customer_id, id);
CREATE INDEX deliveries_provider_message_idx ON deliveries (business_id, provider_message_id) WHERE provider_message_id <> '';
CREATE INDEX deliveries_pending_idx ON deliveries (updated_at) WHERE status = 'pending';

CREATE TABLE pass_registrations (
    business_id  TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    card_id      TEXT COLLATE "C" NOT NULL REFERENCES cards (id),
    pass_type_id TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    push_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY (card_id, device_id)
);
CREATE INDEX pass_registrations_device_idx ON pass_registrations (device_id, pass_type_id);

CREATE TABLE pass_offers (
    card_id     TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES cards (id),
    business_id TEXT COLLATE "C" NOT NULL REFERENCES businesses (id),
    text        TEXT NOT NULL,
    updated_at  TIMESTAMPTZ(3) NOT NULL
);
