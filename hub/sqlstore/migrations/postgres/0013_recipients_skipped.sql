-- A campaign's live stats count its skipped recipients by reason from this
-- index (few rows), its recipients from the primary key and its sent and
-- failed messages from campaign_activity: no pass over every recipient
-- joined to its delivery at each view of a campaign that is sending.

CREATE INDEX campaign_recipients_skipped_idx ON campaign_recipients (campaign_id, reason) WHERE status = 'skipped';
