package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// ExecForTest runs statements outside Tx on the writer (in a transaction),
// for tests that set up what the Tx methods cannot.
func (s *Store) ExecForTest(ctx context.Context, q string) error {
	return s.inTx(ctx, func(qr querier) error {
		_, err := qr.ExecContext(ctx, q)
		return err
	})
}

// CampaignActivityByJoinForTest is the chart's count before its counters
// (the query CampaignActivity ran until migration 0012): every recipient of
// the campaign joined to its delivery, grouped by bucket. Tests hold the
// counters to it.
func (s *Store) CampaignActivityByJoinForTest(ctx context.Context, businessID, campaignID string, start time.Time, step time.Duration) ([]hub.ActivityCount, error) {
	var out []hub.ActivityCount
	err := s.Read(ctx, func(htx hub.Tx) error {
		t := htx.(*tx)
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
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c hub.ActivityCount
			if err := rows.Scan(&c.Bucket, &c.Sent, &c.Failed); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// BackfillActivityForTest empties campaign_activity and runs the backfill
// of migration 0012 (its statements after the CREATE TABLE) again.
func (s *Store) BackfillActivityForTest(ctx context.Context) error {
	dialect := "sqlite"
	if s.pg {
		dialect = "postgres"
	}
	b, err := migrationFS.ReadFile("migrations/" + dialect + "/0012_campaign_activity.sql")
	if err != nil {
		return err
	}
	_, backfill, ok := strings.Cut(string(b), "INSERT INTO campaign_activity")
	if !ok {
		return errors.New("no backfill in migration 0012")
	}
	if err := s.ExecForTest(ctx, "DELETE FROM campaign_activity"); err != nil {
		return err
	}
	return s.ExecForTest(ctx, "INSERT INTO campaign_activity"+backfill)
}

// CampaignStatsByJoinForTest is a campaign's live stats as CampaignStats
// counted them before the counters: one pass over every recipient joined to
// its delivery, and the skipped ones by reason. Tests hold CampaignStats to
// it.
func (s *Store) CampaignStatsByJoinForTest(ctx context.Context, businessID, campaignID string) (hub.CampaignStats, error) {
	st := hub.CampaignStats{Skipped: map[string]int{}}
	err := s.Read(ctx, func(htx hub.Tx) error {
		t := htx.(*tx)
		var queued, sent, failed, skipped int
		if err := t.queryRow(ctx, "SELECT"+
			" COALESCE(SUM(CASE WHEN r.status <> 'skipped' AND (d.status IS NULL OR d.status IN ('pending', 'sending')) THEN 1 ELSE 0 END), 0),"+
			" COALESCE(SUM(CASE WHEN r.status <> 'skipped' AND d.status = 'sent' THEN 1 ELSE 0 END), 0),"+
			" COALESCE(SUM(CASE WHEN r.status <> 'skipped' AND d.status NOT IN ('pending', 'sending', 'sent') THEN 1 ELSE 0 END), 0),"+
			" COALESCE(SUM(CASE WHEN r.status = 'skipped' THEN 1 ELSE 0 END), 0)"+
			" FROM campaign_recipients r LEFT JOIN deliveries d ON d.id = r.delivery_id"+
			" WHERE r.campaign_id = ? AND r.business_id = ?", campaignID, businessID).Scan(&queued, &sent, &failed, &skipped); err != nil {
			return err
		}
		st.Queued, st.Sent, st.Failed, st.Audience = queued, sent, failed, queued+sent+failed+skipped
		rows, err := t.query(ctx, "SELECT reason, COUNT(*) FROM campaign_recipients"+
			" WHERE campaign_id = ? AND business_id = ? AND status = 'skipped' GROUP BY reason", campaignID, businessID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var reason string
			var n int
			if err := rows.Scan(&reason, &n); err != nil {
				return err
			}
			st.Skipped[reason] += n
		}
		return rows.Err()
	})
	return st, err
}

// IndexedQueriesForTest are queries that must find their rows in an index
// (by its name), with arguments of the right types.
func (s *Store) IndexedQueriesForTest(businessID string) map[string]QueryForTest {
	return map[string]QueryForTest{
		"deliveries_failed_source_idx": {failedRecipientsQuery(s.pg),
			[]any{"cmp_x", businessID, hub.CampaignSource("cmp_x"), businessID, "", false, 500}},
	}
}

// QueryForTest is a query and its arguments.
type QueryForTest struct {
	SQL  string
	Args []any
}

// ExplainForTest returns the plan of q: SQLite's EXPLAIN QUERY PLAN, or
// PostgreSQL's EXPLAIN with sequential scans turned off (so that the plan
// shows whether an index can serve the query at all, whatever the size of
// the test's tables).
func (s *Store) ExplainForTest(ctx context.Context, q QueryForTest) (string, error) {
	var lines []string
	err := s.inTx(ctx, func(qr querier) error {
		args := make([]any, len(q.Args))
		for i, a := range q.Args {
			if tm, ok := a.(time.Time); ok && !s.pg {
				a = tm.UTC().Format(sqliteTime)
			}
			args[i] = a
		}
		query := "EXPLAIN QUERY PLAN " + q.SQL
		if s.pg {
			if _, err := qr.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
			query = "EXPLAIN " + rebind(q.SQL)
		}
		rows, err := qr.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
		}
		return rows.Err()
	})
	return strings.Join(lines, "\n"), err
}

// PinActivitySlotForTest makes each transaction add to the campaign
// counter slot pick returns.
func (s *Store) PinActivitySlotForTest(pick func() int) { s.pinSlot = pick }

// PlanCacheModeForTest is PostgreSQL's plan_cache_mode in the transaction
// of htx, as its next statement would see it.
func PlanCacheModeForTest(ctx context.Context, htx hub.Tx) (string, error) {
	var mode string
	err := htx.(*tx).queryRow(ctx, "SHOW plan_cache_mode").Scan(&mode)
	return mode, err
}
