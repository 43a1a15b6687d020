-- Issue 11: the outbox moves out of the events table, as on PostgreSQL
-- (0015 for postgres says why): an event is written once and never updated,
-- the events still to dispatch are rows of event_outbox, deleted when they
-- are dispatched. The events' foreign key to businesses stays on SQLite
-- (dropping it means rebuilding the table, and it costs little here).
CREATE TABLE event_outbox (
    created_at TEXT NOT NULL,
    id         TEXT NOT NULL,
    PRIMARY KEY (created_at, id)
) WITHOUT ROWID;
INSERT INTO event_outbox (created_at, id) SELECT created_at, id FROM events WHERE dispatched_at IS NULL;
DROP INDEX events_undispatched_idx;
ALTER TABLE events DROP COLUMN dispatched_at;
