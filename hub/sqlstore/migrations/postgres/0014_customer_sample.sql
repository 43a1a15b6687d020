-- Every customer falls in one of 1,024 sample buckets (hub.SampleBuckets), a
-- hash of their id set at insert (hub.SampleBucket). The console's live
-- audience count reads the customers of a few buckets through this index
-- and scales the counts up: an estimate from about 10,000 customers instead
-- of a pass over all of them. Customers from before this migration get a
-- random bucket, which serves as well: a bucket says nothing about anything
-- a filter can select on.

ALTER TABLE customers ADD COLUMN sample_bucket SMALLINT NOT NULL DEFAULT 0;
UPDATE customers SET sample_bucket = floor(random() * 1024)::int;
CREATE INDEX customers_sample_idx ON customers (business_id, sample_bucket);
