package hub

import (
	"context"
	"strconv"
	"sync"
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

// CampaignActivityTx is the store access of CampaignActivity.
type CampaignActivityTx interface {
	// CampaignActivity counts a campaign's recipients whose delivery ended,
	// sent or failed, as CampaignStats counts them, per bucket of step
	// since start: the bucket of a sent message is its sent_at (else its
	// updated_at), of a failed one its updated_at; the index is
	// floor((time - start) / step), in whole seconds. Buckets without a
	// message are left out.
	CampaignActivity(ctx context.Context, businessID, campaignID string, start time.Time, step time.Duration) ([]ActivityCount, error)
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
// updates while the campaign sends. The activity of a campaign sent or
// cancelled activitySettle ago is final and kept in memory after it is
// counted once; the returned value must not be changed.
func (s *Service) CampaignActivity(ctx context.Context, businessID, id string, buckets int) (*CampaignActivity, error) {
	if buckets < 1 || buckets > MaxActivityBuckets {
		return nil, Problems{"buckets": "must be between 1 and 120"}.Err()
	}
	out := &CampaignActivity{}
	cacheKey := "" // set when the activity is settled and was counted
	err := s.read(ctx, func(tx Tx) error {
		c, err := tx.Campaign(ctx, businessID, id, false)
		if err != nil {
			return err
		}
		if c.StartedAt == nil {
			return nil
		}
		settled := c.FinishedAt != nil && (c.Status == CampaignStatusSent || c.Status == CampaignStatusCancelled) &&
			s.clock().Sub(*c.FinishedAt) >= activitySettle
		key := c.ID + "/" + strconv.Itoa(buckets)
		if settled {
			if a := s.activity.get(key); a != nil {
				out = a
				return nil
			}
			cacheKey = key
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
	if cacheKey != "" {
		s.activity.put(cacheKey, out)
	}
	return out, nil
}

// activitySettle is how long after a campaign finished its activity is
// taken as final (a message that was sending at a cancel ends within it).
const activitySettle = 5 * time.Minute

// activityCache keeps the activity of settled campaigns, which no longer
// changes: counting it walks every recipient (hundreds of milliseconds for
// 100,000), which the campaign's page would pay at every view (issue 13's
// console benchmark). It holds at most maxCachedActivities and starts over
// when full.
type activityCache struct {
	mu sync.Mutex
	m  map[string]*CampaignActivity
}

const maxCachedActivities = 1000

func (c *activityCache) get(key string) *CampaignActivity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *activityCache) put(key string, a *CampaignActivity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedActivities {
		c.m = map[string]*CampaignActivity{}
	}
	c.m[key] = a
}
