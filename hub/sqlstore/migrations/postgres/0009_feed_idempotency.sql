-- Issue 11, items 2 and 3.
--
-- The polling feed must never skip an event. Event ids are drawn before
-- COMMIT, and transactions commit in any order, so "id > since_id" can let a
-- poller pass an event whose transaction commits later with a smaller id.
-- Each event now records the id of the transaction that wrote it
-- (pg_current_xact_id(), a 64-bit xid that never wraps). The feed is ordered
-- by (xid, id) and holds back every event with xid >= the xmin of the
-- reading statement's snapshot: all transactions below xmin have ended, so
-- the events returned are always a prefix of the final order and an event
-- that shows up later sorts after everything already returned.
--
-- Rows written before this migration get xid 0: they sort first, by id, as
-- before. A constant default adds the column without rewriting the table;
-- the default then becomes the writing transaction's id (a function call per
-- row, no extra statement). The two feed indexes change their order from
-- (…, id) to (…, xid, id); their count stays the same, so an insert costs
-- what it did plus eight bytes per index entry.
ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE events ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
DROP INDEX events_business_idx;
CREATE INDEX events_business_xid_idx ON events (business_id, xid, id);
DROP INDEX events_business_type_idx;
CREATE INDEX events_business_type_xid_idx ON events (business_id, type, xid, id);

-- Idempotency: claim is a random token of the request that holds the key;
-- committed records that a transaction with an effect of that request
-- committed (in the same transaction as the effect, with the response when
-- the use case computes it there). A committed key is never released nor
-- taken over before it expires.
ALTER TABLE idempotency_keys ADD COLUMN claim TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN committed BOOLEAN NOT NULL DEFAULT FALSE;
