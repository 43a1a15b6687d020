package hub

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// ActivityCount counts the recipients of a campaign whose message ended
// (sent or failed) in one bucket of time; Bucket is the bucket's index.
type ActivityCount struct {
	Bucket       int
	Sent, Failed int
}

// ActivityBucket is one span of time of a campaign's activity.
type ActivityBucket struct {
	Start        time.Time
	Sent, Failed int
}

// CampaignActivity is a campaign's messages over time: from when it
// started to when it finished (or now, while it runs), cut into buckets of
// equal length. A campaign that has not started has no buckets.
type CampaignActivity struct {
	Start, End time.Time
	// Step is the length of a bucket: 1, 2, 5, 10, 15 or 30 seconds or
	// minutes, 1, 2, 3, 6 or 12 hours, or a multiple of a day.
	Step    time.Duration
	Buckets []ActivityBucket
}

// Max is the largest bucket's sent plus failed, at least 1 (the height of
// a chart).
func (a *CampaignActivity) Max() int {
	m := 1
	for _, b := range a.Buckets {
		m = max(m, b.Sent+b.Failed)
	}
	return m
}

// CampaignActivityTx is the store access of CampaignActivity: counters of
// a campaign's ended messages per second, kept up to date by the
// transactions that end them.
type CampaignActivityTx interface {
	// CampaignActivity sums a campaign's counters per bucket of step since
	// start: the index is floor((second - start) / step), in whole seconds
	// (truncated towards zero before start). Buckets whose sums are zero
	// are left out.
	CampaignActivity(ctx context.Context, businessID, campaignID string, start time.Time, step time.Duration) ([]ActivityCount, error)
	// AddCampaignActivity adds each delta to its counters (created at
	// zero), in one statement; the deltas name distinct counters.
	AddCampaignActivity(ctx context.Context, ds []ActivityDelta) error
}

// ActivityDelta is a change to the counters of one campaign's second.
type ActivityDelta struct {
	BusinessID, CampaignID string
	// Second is the counters' second, in Unix time.
	Second       int64
	Sent, Failed int
}

// A campaign's activity counts each recipient's current delivery once it
// ended (sent, failed or unknown, which counts as failed, as in
// CampaignStats) in the second it ended: a sent message's sent_at, else its
// updated_at. Skipped recipients have no delivery and are not counted;
// a failed delivery replaced by a fallback is uncounted when replaced.
//
// Every transaction that changes a campaign delivery's status or time
// tracks the change in an activityTally and flushes it before it commits,
// so the counters move with the deliveries: a delivery is counted once
// whatever the replays, and never lost to a crash.

// activityKey names one counter row.
type activityKey struct {
	businessID, campaignID string
	second                 int64
}

// activityTally collects one transaction's changes to activity counters.
type activityTally map[activityKey][2]int

// activityOf is what a delivery adds to its campaign's counters: ok is
// false for a delivery of no campaign, or one that has not ended.
func activityOf(d *Delivery) (k activityKey, failed int, ok bool) {
	id, isCampaign := campaignOfSource(d.Source)
	if !isCampaign {
		return k, 0, false
	}
	at := d.UpdatedAt
	switch d.Status {
	case DeliverySent:
		if d.SentAt != nil {
			at = *d.SentAt
		}
	case DeliveryFailed, DeliveryUnknown:
		failed = 1
	default:
		return k, 0, false
	}
	return activityKey{d.BusinessID, id, at.Unix()}, failed, true
}

// track records a delivery's change from prev (a copy taken when it was
// read) to d.
func (t activityTally) track(prev, d *Delivery) {
	t.add(prev, -1)
	t.add(d, 1)
}

// add counts (n = 1) or uncounts (n = -1) a delivery.
func (t activityTally) add(d *Delivery, n int) {
	k, failed, ok := activityOf(d)
	if !ok {
		return
	}
	v := t[k]
	v[failed] += n
	t[k] = v
}

// addFailed counts n deliveries of a campaign that failed at once (a
// cancel).
func (t activityTally) addFailed(businessID, campaignID string, at time.Time, n int) {
	k := activityKey{businessID, campaignID, at.Unix()}
	v := t[k]
	v[1] += n
	t[k] = v
}

// flush writes the tally in one statement (none when nothing changed), in
// key order, so that two transactions lock shared counters in one order.
// It belongs last in its transaction: counters of a busy second are shared
// by every batch that ends messages in it, and their row locks are then
// held only until the commit.
func (t activityTally) flush(ctx context.Context, tx Tx) error {
	var ds []ActivityDelta
	for k, v := range t {
		if v != [2]int{} {
			ds = append(ds, ActivityDelta{BusinessID: k.businessID, CampaignID: k.campaignID, Second: k.second, Sent: v[0], Failed: v[1]})
		}
	}
	if len(ds) == 0 {
		return nil
	}
	slices.SortFunc(ds, func(a, b ActivityDelta) int {
		return cmp.Or(cmp.Compare(a.BusinessID, b.BusinessID), cmp.Compare(a.CampaignID, b.CampaignID), cmp.Compare(a.Second, b.Second))
	})
	return tx.AddCampaignActivity(ctx, ds)
}

// activitySteps are the bucket lengths a chart uses, shortest first.
var activitySteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// activityStep is the shortest bucket length that cuts span into at most n
// buckets.
func activityStep(span time.Duration, n int) time.Duration {
	for _, s := range activitySteps {
		if span <= s*time.Duration(n) {
			return s
		}
	}
	day := 24 * time.Hour
	return day * ((span/time.Duration(n) + day - 1) / day)
}

// MaxActivityBuckets bounds the buckets CampaignActivity cuts.
const MaxActivityBuckets = 120

// CampaignActivity returns a campaign's sent and failed messages over time
// in at most buckets (1..MaxActivityBuckets) buckets, for a chart that
// updates while the campaign sends. It reads the campaign's counters (one
// row per second with messages), not its recipients.
func (s *Service) CampaignActivity(ctx context.Context, businessID, id string, buckets int) (*CampaignActivity, error) {
	if buckets < 1 || buckets > MaxActivityBuckets {
		return nil, Problems{"buckets": "must be between 1 and 120"}.Err()
	}
	out := &CampaignActivity{}
	err := s.read(ctx, func(tx Tx) error {
		c, err := tx.Campaign(ctx, businessID, id, false)
		if err != nil {
			return err
		}
		if c.StartedAt == nil {
			return nil
		}
		out.Start, out.End = c.StartedAt.UTC().Truncate(time.Second), s.clock().UTC()
		if c.FinishedAt != nil {
			out.End = c.FinishedAt.UTC()
		}
		span := max(out.End.Sub(out.Start), time.Second)
		out.Step = activityStep(span, buckets)
		n := int((span + out.Step - 1) / out.Step)
		counts, err := tx.CampaignActivity(ctx, businessID, id, out.Start, out.Step)
		if err != nil {
			return err
		}
		// A message that ended just after the end (a clock step, or a
		// worker finishing after a cancel) widens the chart.
		for _, k := range counts {
			n = max(n, min(k.Bucket+1, buckets))
		}
		out.Buckets = make([]ActivityBucket, n)
		for i := range out.Buckets {
			out.Buckets[i].Start = out.Start.Add(time.Duration(i) * out.Step)
		}
		for _, k := range counts {
			i := min(max(k.Bucket, 0), n-1)
			out.Buckets[i].Sent += k.Sent
			out.Buckets[i].Failed += k.Failed
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
