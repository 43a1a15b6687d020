-- A campaign counts the recipients its audience walk has written, in the
-- transaction that writes them: its live and final stats read the count
-- here instead of counting every recipient (a million index entries for a
-- campaign to a million customers, on each view while it sends and inside
-- the write that ends it).

ALTER TABLE campaigns ADD COLUMN recipients INTEGER NOT NULL DEFAULT 0;

UPDATE campaigns SET recipients = (SELECT COUNT(*) FROM campaign_recipients r WHERE r.campaign_id = campaigns.id);
