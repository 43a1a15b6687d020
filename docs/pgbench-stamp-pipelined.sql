-- The stamp transaction as the hub sends it since session 2: BEGIN with the
-- locking read, then the writes with COMMIT (two round trips; pgbench pipeline
-- mode). Setup and command as in pgbench-setup.sql, with this file.
\set c random(1, 2000)
\startpipeline
BEGIN;
SELECT id, stamps, total FROM cards WHERE id = 'card_' || :c FOR UPDATE;
\endpipeline
\startpipeline
UPDATE cards SET stamps = stamps + 1, total = total + 1, updated_at = now() WHERE id = 'card_' || :c;
INSERT INTO events (business_id, type, customer_id, card_id, created_at, payload) VALUES ('b_1', 'stamp_added', 'c_' || :c, 'card_' || :c, now(), repeat('x', 420));
COMMIT;
\endpipeline
