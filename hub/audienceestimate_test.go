package hub_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestPreviewAudienceEstimate checks the sampled audience count on 2,000
// customers with every mix of language, email and consent: with Estimate
// it reads exactly the customers of the sample buckets the business's
// size calls for (the member-by-member reference over those customers,
// scaled by SampleBuckets/buckets, equals it), the true count lies within
// twice the stated margin, and a business not more than twice the sample
// is counted exactly.
func TestPreviewAudienceEstimate(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		ctx := m.ctx
		rng := rand.New(rand.NewPCG(5, 17))
		buckets := make([]int, hub.SampleBuckets) // customers per sample bucket
		err := st.Write(ctx, func(tx hub.Tx) error {
			for i := range 2000 {
				now := m.clock()
				c := &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: m.biz, Language: []string{"en", "uk", "de"}[rng.IntN(3)],
					Consent: map[string]hub.Consent{}, CreatedAt: now, UpdatedAt: now}
				if rng.IntN(4) > 0 {
					c.Email = ptr(fmt.Sprintf("e%04d@example.com", i))
				}
				if rng.IntN(2) == 0 {
					c.Consent[hub.ChannelEmail] = hub.Consent{Granted: true, Source: "api", At: now}
				}
				buckets[hub.SampleBucket(c.ID)]++
				if err := tx.CreateCustomer(ctx, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		order := []string{"email"}
		configured := map[string]bool{"email": true, "telegram": true}
		for _, filter := range []string{
			`{"all": []}`,
			`{"field": "language", "op": "eq", "value": "en"}`,
			`{"field": "consent", "op": "eq", "value": "email"}`,
			`{"not": {"field": "language", "op": "in", "value": ["en", "de"]}}`,
		} {
			t.Run(filter, func(t *testing.T) {
				a, err := hub.ParseAudience([]byte(filter), "audience")
				if err != nil {
					t.Fatal(err)
				}
				exact := previewByMembers(t, st, m.biz, a, m.clock(), order, configured)
				in := hub.AudiencePreviewInput{Audience: json.RawMessage(filter), Channels: order}

				got, err := m.svc.PreviewAudience(ctx, m.biz, in)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(exact, got); diff != "" {
					t.Errorf("without Estimate (-exact +got):\n%s", diff)
				}

				in.Estimate = 2000 // 2,000 customers are not more than twice that
				if got, err = m.svc.PreviewAudience(ctx, m.biz, in); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(exact, got); diff != "" {
					t.Errorf("Estimate 2,000 of 2,000 (-exact +got):\n%s", diff)
				}

				in.Estimate = 150
				if got, err = m.svc.PreviewAudience(ctx, m.biz, in); err != nil {
					t.Fatal(err)
				}
				probed := 0 // the customers of the 16 buckets PreviewAudience counts to size its sample
				for _, n := range buckets[:16] {
					probed += n
				}
				k := (150*16 + probed - 1) / probed // the buckets for 150 customers
				want := sampleReference(t, st, m.biz, a, m.clock(), order, configured, k)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Estimate 150, %d buckets (-reference over the sample +got):\n%s", k, diff)
				}
				if !got.Estimated || got.Margin <= 0 {
					t.Errorf("estimated %v, margin %d: want an estimate with a margin", got.Estimated, got.Margin)
				}
				if d := got.Total - exact.Total; d > 2*got.Margin || -d > 2*got.Margin {
					t.Errorf("estimate %d ± %d, true count %d: off by more than twice the margin", got.Total, got.Margin, exact.Total)
				}
			})
		}
	})
}

// sampleReference is previewByMembers over the customers whose sample
// bucket is below k, scaled up as an estimate of the whole.
func sampleReference(t *testing.T, st *sqlstore.Store, businessID string, a *hub.Audience, now time.Time, order []string,
	configured map[string]bool, k int) *hub.AudiencePreview {
	t.Helper()
	all := previewByMembersWhere(t, st, businessID, a, now, order, configured, func(id string) bool { return hub.SampleBucket(id) < k })
	s := float64(hub.SampleBuckets) / float64(k)
	up := func(n int) int { return int(math.Round(float64(n) * s)) }
	out := &hub.AudiencePreview{Total: up(all.Total), Unreachable: up(all.Unreachable), ByChannel: map[string]int{},
		Estimated: true, Margin: int(math.Ceil(1.96 * math.Sqrt(float64(max(all.Total, 1))*s*(s-1))))}
	for ch, n := range all.ByChannel {
		out.ByChannel[ch] = up(n)
	}
	return out
}
