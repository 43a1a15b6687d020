-- A campaign's failed deliveries, which its recipients fall back from once
-- the walk is done: a campaign looks for them at each step after its walk,
-- in the write transaction of the step. Found through the campaign's
-- recipients, that read every recipient (on SQLite holding every
-- business's writes for seconds at a million recipients); found here, it
-- reads the few failed ones.

CREATE INDEX deliveries_failed_source_idx ON deliveries (business_id, source) WHERE status = 'failed';
