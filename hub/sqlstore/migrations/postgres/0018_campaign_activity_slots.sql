-- A campaign's counters in slots: every worker that ends messages of a
-- campaign in the same second added them to one row, and on PostgreSQL each
-- waited for the previous one's commit to update it (a row lock held to the
-- commit's WAL flush), which put a campaign's sends in single file. Each
-- transaction now adds to one of a few rows of the second (the slot,
-- chosen at random); readers sum them as before.
ALTER TABLE campaign_activity ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE campaign_activity DROP CONSTRAINT campaign_activity_pkey;
ALTER TABLE campaign_activity ADD PRIMARY KEY (business_id, campaign_id, at_second, slot);
