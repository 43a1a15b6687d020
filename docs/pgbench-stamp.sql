\set c random(1, 2000)
BEGIN;
SELECT id, stamps, total FROM cards WHERE id = 'card_' || :c FOR UPDATE;
UPDATE cards SET stamps = stamps + 1, total = total + 1, updated_at = now() WHERE id = 'card_' || :c;
INSERT INTO events (business_id, type, customer_id, card_id, created_at, payload) VALUES ('b_1', 'stamp_added', 'c_' || :c, 'card_' || :c, now(), repeat('x', 420));
COMMIT;
