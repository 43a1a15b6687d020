-- Issue 11, items 2 and 3.
--
-- The polling feed needs nothing on SQLite: its one writer runs the write
-- transactions one after the other, each draws its event ids while it holds
-- the writer, and they commit in that order, so ids grow in commit order and
-- "id > since_id" never skips (see Events in events.go). PostgreSQL orders
-- its feed by the writing transaction's id instead (0009 for postgres).
--
-- Idempotency: claim is a random token of the request that holds the key;
-- committed records that a transaction with an effect of that request
-- committed (in the same transaction as the effect, with the response when
-- the use case computes it there). A committed key is never released nor
-- taken over before it expires.
ALTER TABLE idempotency_keys ADD COLUMN claim TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN committed BOOLEAN NOT NULL DEFAULT 0;
