package sqlstore

import (
	"context"
	"time"

	"github.com/7loc/hub/hub"
)

// CampaignActivity implements hub.CampaignActivityTx: one GROUP BY over
// the campaign's recipients joined to their deliveries (the pass that
// CampaignStats makes), keyed by the bucket's index. Times become whole
// seconds since 1970 in SQL: strftime('%s') on SQLite's text, EXTRACT(EPOCH)
// on PostgreSQL's timestamptz.
func (t *tx) CampaignActivity(ctx context.Context, businessID, campaignID string, start time.Time, step time.Duration) ([]hub.ActivityCount, error) {
	at := "CASE WHEN d.status = 'sent' THEN COALESCE(d.sent_at, d.updated_at) ELSE d.updated_at END"
	secs := "CAST(strftime('%s', " + at + ") AS INTEGER)"
	if t.s.pg {
		secs = "CAST(FLOOR(EXTRACT(EPOCH FROM " + at + ")) AS BIGINT)"
	}
	rows, err := t.query(ctx, "SELECT b, SUM(CASE WHEN st = 'sent' THEN 1 ELSE 0 END), SUM(CASE WHEN st = 'sent' THEN 0 ELSE 1 END)"+
		" FROM (SELECT ("+secs+" - ?) / ? AS b, d.status AS st"+
		" FROM campaign_recipients r JOIN deliveries d ON d.id = r.delivery_id"+
		" WHERE r.campaign_id = ? AND r.business_id = ? AND r.status <> 'skipped'"+
		" AND d.status NOT IN ('pending', 'sending')) a GROUP BY b ORDER BY b",
		start.Unix(), int64(max(step/time.Second, 1)), campaignID, businessID)
	if err != nil {
		return nil, mapErr(err, recipientKind)
	}
	defer rows.Close()
	var out []hub.ActivityCount
	for rows.Next() {
		var c hub.ActivityCount
		if err := rows.Scan(&c.Bucket, &c.Sent, &c.Failed); err != nil {
			return nil, mapErr(err, recipientKind)
		}
		out = append(out, c)
	}
	return out, mapErr(rows.Err(), recipientKind)
}
