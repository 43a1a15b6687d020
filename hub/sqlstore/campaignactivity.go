package sqlstore

import (
	"context"
	"math/rand/v2"
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

// activitySlots is how many counter rows a campaign's second has. Each
// transaction adds to one of them, at random, so that workers ending
// messages of one campaign in the same second do not wait for each other's
// commits on one row (PostgreSQL); readers sum them.
const activitySlots = 16

// activitySlot picks the counter row a transaction adds to.
func (s *Store) activitySlot() int {
	if s.pinSlot != nil {
		return s.pinSlot()
	}
	return rand.IntN(activitySlots)
}

// AddCampaignActivity implements hub.CampaignActivityTx: one multi-row
// upsert (per rowsPerInsert deltas) that adds to the counters of one slot.
func (t *tx) AddCampaignActivity(ctx context.Context, ds []hub.ActivityDelta) error {
	slot := t.s.activitySlot()
	for lo := 0; lo < len(ds); lo += rowsPerInsert {
		chunk := ds[lo:min(lo+rowsPerInsert, len(ds))]
		args := make([]any, 0, 6*len(chunk))
		for _, d := range chunk {
			args = append(args, d.BusinessID, d.CampaignID, d.Second, slot, d.Sent, d.Failed)
		}
		var b strings.Builder
		b.WriteString("INSERT INTO campaign_activity (business_id, campaign_id, at_second, slot, sent, failed) VALUES ")
		b.WriteString(placeholders(len(chunk), 6))
		b.WriteString(" ON CONFLICT (business_id, campaign_id, at_second, slot) DO UPDATE" +
			" SET sent = campaign_activity.sent + excluded.sent, failed = campaign_activity.failed + excluded.failed")
		if _, err := t.exec(ctx, b.String(), args...); err != nil {
			return mapErr(err, activityKind)
		}
	}
	return nil
}
