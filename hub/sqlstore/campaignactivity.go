package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// activityKind names campaign_activity in errors.
const activityKind = "campaign activity"

// CampaignActivity implements hub.CampaignActivityTx: one GROUP BY over the
// campaign's counters (a row per second in which messages ended, by the
// primary key), keyed by the bucket's index.
func (t *tx) CampaignActivity(ctx context.Context, businessID, campaignID string, start time.Time, step time.Duration) ([]hub.ActivityCount, error) {
	rows, err := t.query(ctx, "SELECT (at_second - ?) / ? AS b, SUM(sent), SUM(failed) FROM campaign_activity"+
		" WHERE business_id = ? AND campaign_id = ? GROUP BY b HAVING SUM(sent) <> 0 OR SUM(failed) <> 0 ORDER BY b",
		start.Unix(), int64(max(step/time.Second, 1)), businessID, campaignID)
	if err != nil {
		return nil, mapErr(err, activityKind)
	}
	defer rows.Close()
	var out []hub.ActivityCount
	for rows.Next() {
		var c hub.ActivityCount
		if err := rows.Scan(&c.Bucket, &c.Sent, &c.Failed); err != nil {
			return nil, mapErr(err, activityKind)
		}
		out = append(out, c)
	}
	return out, mapErr(rows.Err(), activityKind)
}

// AddCampaignActivity implements hub.CampaignActivityTx: one multi-row
// upsert (per rowsPerInsert deltas) that adds to the counters.
func (t *tx) AddCampaignActivity(ctx context.Context, ds []hub.ActivityDelta) error {
	for lo := 0; lo < len(ds); lo += rowsPerInsert {
		chunk := ds[lo:min(lo+rowsPerInsert, len(ds))]
		args := make([]any, 0, 5*len(chunk))
		for _, d := range chunk {
			args = append(args, d.BusinessID, d.CampaignID, d.Second, d.Sent, d.Failed)
		}
		var b strings.Builder
		b.WriteString("INSERT INTO campaign_activity (business_id, campaign_id, at_second, sent, failed) VALUES ")
		b.WriteString(placeholders(len(chunk), 5))
		b.WriteString(" ON CONFLICT (business_id, campaign_id, at_second) DO UPDATE" +
			" SET sent = campaign_activity.sent + excluded.sent, failed = campaign_activity.failed + excluded.failed")
		if _, err := t.exec(ctx, b.String(), args...); err != nil {
			return mapErr(err, activityKind)
		}
	}
	return nil
}
