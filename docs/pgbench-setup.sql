-- Setup for the PostgreSQL reference in BENCHMARKS.md:
--   psql -h 127.0.0.1 -U postgres -c 'create database pgb' test
--   psql -h 127.0.0.1 -U postgres -f docs/pgbench-setup.sql pgb
--   pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 16 -j 2 -T 15 -f docs/pgbench-stamp.sql pgb
-- The same shape as the hub's stamp transaction: lock and update one of
-- 2,000 cards, insert one event into a table with the hub's five indexes.
CREATE TABLE cards (id text PRIMARY KEY, stamps int, total int, updated_at timestamptz);
INSERT INTO cards SELECT 'card_' || g, 0, 0, now() FROM generate_series(1, 2000) g;
CREATE TABLE events (id bigserial PRIMARY KEY, business_id text, type text, customer_id text, card_id text,
                     created_at timestamptz, dispatched_at timestamptz, payload text);
CREATE INDEX ON events (business_id, id);
CREATE INDEX ON events (business_id, type, id);
CREATE INDEX ON events (business_id, customer_id, id);
CREATE INDEX ON events (business_id, card_id, id);
CREATE INDEX ON events (created_at) WHERE dispatched_at IS NULL;
