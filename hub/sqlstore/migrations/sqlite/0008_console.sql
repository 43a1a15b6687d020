-- The business console for SQLite: owner accounts, their invitation links
-- and their sessions. Only hashes of invitation and session tokens are
-- stored (hex SHA-256); passwords only as argon2id hashes.

CREATE TABLE owners (
    id            TEXT NOT NULL PRIMARY KEY,
    business_id   TEXT NOT NULL REFERENCES businesses (id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    language      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX owners_email_key ON owners (email);
CREATE INDEX owners_business_idx ON owners (business_id, id);

CREATE TABLE owner_invitations (
    id          TEXT NOT NULL PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    owner_id    TEXT NOT NULL REFERENCES owners (id),
    token_hash  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX owner_invitations_hash_key ON owner_invitations (token_hash);

CREATE TABLE owner_sessions (
    id           TEXT NOT NULL PRIMARY KEY,
    business_id  TEXT NOT NULL REFERENCES businesses (id),
    owner_id     TEXT NOT NULL REFERENCES owners (id),
    token_hash   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE UNIQUE INDEX owner_sessions_hash_key ON owner_sessions (token_hash);
CREATE INDEX owner_sessions_owner_idx ON owner_sessions (owner_id);
