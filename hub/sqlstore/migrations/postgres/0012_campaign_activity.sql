-- A campaign's chart counters: messages that ended per second (Unix time),
-- sent or failed (unknown counts as failed), each recipient's current
-- delivery counted once, in the transaction that ends it. The console's
-- chart sums them per bucket instead of grouping every recipient.
CREATE TABLE campaign_activity (
    business_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    at_second   BIGINT NOT NULL,
    sent        INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, campaign_id, at_second)
);

-- The counters of the campaigns sent so far, as the chart counted them: a
-- sent message in the second of its sent_at (else updated_at), another
-- ended one in that of its updated_at.
INSERT INTO campaign_activity (business_id, campaign_id, at_second, sent, failed)
SELECT business_id, campaign_id, at_second, SUM(s), SUM(1 - s) FROM (
    SELECT r.business_id AS business_id, r.campaign_id AS campaign_id,
        CAST(FLOOR(EXTRACT(EPOCH FROM CASE WHEN d.status = 'sent' THEN COALESCE(d.sent_at, d.updated_at) ELSE d.updated_at END)) AS BIGINT) AS at_second,
        CASE WHEN d.status = 'sent' THEN 1 ELSE 0 END AS s
    FROM campaign_recipients r JOIN deliveries d ON d.id = r.delivery_id
    WHERE r.status <> 'skipped' AND d.status NOT IN ('pending', 'sending')
) a GROUP BY business_id, campaign_id, at_second;
