-- A campaign's counters in slots (see the PostgreSQL migration: there,
-- workers ending messages in the same second waited for each other on one
-- row). SQLite has one writer and no such wait; the table has the same key
-- on both databases so that one statement serves both. SQLite cannot change
-- a primary key in place: the table is copied.
CREATE TABLE campaign_activity_slots (
    business_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    at_second   INTEGER NOT NULL,
    slot        INTEGER NOT NULL DEFAULT 0,
    sent        INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, campaign_id, at_second, slot)
) WITHOUT ROWID;

INSERT INTO campaign_activity_slots (business_id, campaign_id, at_second, slot, sent, failed)
SELECT business_id, campaign_id, at_second, 0, sent, failed FROM campaign_activity;

DROP TABLE campaign_activity;

ALTER TABLE campaign_activity_slots RENAME TO campaign_activity;
