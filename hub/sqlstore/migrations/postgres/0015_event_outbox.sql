-- Issue 11: less PostgreSQL work per event.
--
-- The outbox moves out of the events table. An event used to be inserted
-- with dispatched_at NULL (an entry in the partial index of undispatched
-- events) and then updated once dispatched. That update could never be HOT
-- (dispatched_at is named by the partial index's predicate), so it wrote a
-- second heap tuple and a new entry in each of the table's six indexes, and
-- left a dead tuple for vacuum: per event, about what its insert cost. Now
-- an event is written once and never updated; the events still to dispatch
-- are rows of event_outbox, a narrow table with one index, deleted when they
-- are dispatched (a delete touches no index). The dispatch time is no longer
-- recorded: nothing read it.
--
-- The foreign key from events to businesses goes too: every event is
-- written by a use case that has just read a row of that business in the
-- same transaction (its card, customer, key or template), and businesses are
-- never deleted; the key cost a lookup in businesses' primary key and a
-- share lock on the business row per insert.
CREATE TABLE event_outbox (
    created_at TIMESTAMPTZ(3) NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (created_at, id)
);
INSERT INTO event_outbox (created_at, id) SELECT created_at, id FROM events WHERE dispatched_at IS NULL;
DROP INDEX events_undispatched_idx;
ALTER TABLE events DROP COLUMN dispatched_at;
ALTER TABLE events DROP CONSTRAINT events_business_id_fkey;
