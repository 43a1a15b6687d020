package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// addVariedCustomers adds n customers to the population's business whose
// consent, email, phone, contacts (reachable or not, per channel), cards and
// wallet devices are drawn from a fixed seed, so every combination the reach
// depends on occurs.
func addVariedCustomers(t *testing.T, s *sqlstore.Store, p *population, n int) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(13, 7))
	langs := []string{"en", "uk", "de"}
	write(t, s, func(tx hub.Tx) error {
		for i := range n {
			c := &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: p.w.biz.ID, Language: langs[rng.IntN(3)],
				Name: ptr(fmt.Sprintf("v%02d", i)), Consent: map[string]hub.Consent{},
				CreatedAt: audienceNow.Add(-days(float64(rng.IntN(60)))), UpdatedAt: t0}
			if rng.IntN(3) > 0 {
				c.Email = ptr(fmt.Sprintf("v%02d@example.com", i))
			}
			if rng.IntN(2) == 0 {
				c.Phone = ptr(fmt.Sprintf("+38050100%04d", i))
			}
			if rng.IntN(4) == 0 {
				c.Birthday = ptr(fmt.Sprintf("1990-%02d-10", 1+rng.IntN(12)))
			}
			for _, ch := range hub.Channels {
				switch rng.IntN(3) {
				case 0:
					c.Consent[ch] = hub.Consent{Granted: true, Source: "api", At: t0}
				case 1:
					c.Consent[ch] = hub.Consent{Granted: false, Source: "unsubscribe", At: t0}
				}
			}
			p.names[c.ID] = fmt.Sprintf("v%02d", i)
			if err := tx.CreateCustomer(ctx, c); err != nil {
				return err
			}
			for _, ch := range hub.Channels {
				if k := rng.IntN(3); k < 2 { // 0: reachable, 1: unreachable, 2: none
					err := tx.PutContact(ctx, &hub.Contact{BusinessID: p.w.biz.ID, CustomerID: c.ID, Channel: ch,
						Address: fmt.Sprintf("%s-%s", ch, c.ID), LinkedAt: t0, Reachable: k == 0})
					if err != nil {
						return err
					}
				}
			}
			if rng.IntN(4) == 0 {
				continue // no card, so no device
			}
			last := audienceNow.Add(-days(float64(rng.IntN(40))))
			card := &hub.Card{ID: hub.NewID(hub.PrefixCard), BusinessID: p.w.biz.ID, TemplateID: p.w.tpl.ID, CustomerID: c.ID,
				WalletPassID: "wp_" + c.ID, Stamps: rng.IntN(8), StampsTotal: rng.IntN(30), Status: hub.CardActive,
				PageToken: hub.NewPageToken(), CreatedAt: t0, UpdatedAt: t0, LastStampAt: &last}
			if err := tx.CreateCard(ctx, card); err != nil {
				return err
			}
			for d := range rng.IntN(3) {
				_, err := tx.RegisterPassDevice(ctx, &hub.PassRegistration{BusinessID: p.w.biz.ID, CardID: card.ID,
					PassTypeID: "pass.test", DeviceID: fmt.Sprintf("dev-%s-%d", c.ID, d), PushToken: "tok", CreatedAt: t0})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// reachCounts is the reference of AudienceReach: it walks AudienceMembers
// in small pages (as PreviewAudience did) and counts the members by their
// reach among channels (nil: all), keyed by the channels joined with ",",
// keeping only those of the sample buckets below q.Sample when it is set.
func reachCounts(t *testing.T, s *sqlstore.Store, q hub.AudienceQuery, channels []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	q.Limit = 7
	for {
		ms := members(t, s, q)
		for _, m := range ms {
			if q.Sample > 0 && hub.SampleBucket(m.Customer.ID) >= q.Sample {
				continue // AudienceMembers does not sample
			}
			var reach []string
			for _, ch := range m.Reach {
				if channels == nil || contains(channels, ch) {
					reach = append(reach, ch)
				}
			}
			out[strings.Join(reach, ",")]++
		}
		if len(ms) < q.Limit {
			return out
		}
		q.AfterID = ms[len(ms)-1].Customer.ID
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// audienceReach runs AudienceReach and keys its counts as reachCounts does.
func audienceReach(t *testing.T, s *sqlstore.Store, q hub.AudienceQuery) map[string]int {
	t.Helper()
	out := map[string]int{}
	read(t, s, func(tx hub.Tx) error {
		counts, err := tx.AudienceReach(context.Background(), q)
		for _, rc := range counts {
			key := strings.Join(rc.Reach, ",")
			if _, dup := out[key]; dup || rc.Count < 1 {
				t.Errorf("reach %q: count %d, or twice", key, rc.Count)
			}
			out[key] += rc.Count
		}
		return err
	})
	return out
}

// TestAudienceReachMatchesMembers checks that AudienceReach counts exactly
// what grouping AudienceMembers' reach member by member gives, for every
// kind of filter and several sets of channels, over the fixed population
// and 80 varied customers, in both businesses.
func TestAudienceReachMatchesMembers(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		p := newPopulation(t, s)
		addVariedCustomers(t, s, p, 80)
		tplA, tplB := p.w.tpl.ID, p.tplB.ID
		leaf := func(field, op string, value any) string {
			return fmt.Sprintf(`{"field": %q, "op": %q, "value": %s}`, field, op, value)
		}
		filters := []string{
			"", // no filter: everyone
			`{"all": []}`,
			`{"not": {"all": []}}`,
			leaf("language", "eq", `"en"`),
			leaf("language", "in", `["uk", "de"]`),
			leaf("card_template_id", "eq", `"`+tplA+`"`),
			leaf("card_template_id", "ne", `"`+tplB+`"`),
			leaf("stamps", "gte", "3"),
			leaf("stamps", "in", "[0, 5]"),
			leaf("stamps_total", "lt", "13"),
			leaf("days_since_last_stamp", "gte", "10"),
			leaf("days_since_last_stamp", "eq", "3"),
			leaf("days_since_joined", "gt", "20"),
			leaf("days_since_joined", "in", "[5, 30]"),
			leaf("birthday_month", "ne", "4"),
			leaf("birthday_month", "in", "[1, 12]"),
			leaf("has_channel", "eq", `"whatsapp"`),
			leaf("has_channel", "in", `["push", "viber"]`),
			leaf("consent", "eq", `"email"`),
			leaf("consent", "ne", `"telegram"`),
			leaf("open_vouchers", "eq", "0"),
			leaf("open_vouchers", "gte", "2"),
			`{"all": [` + leaf("language", "eq", `"en"`) + `, ` + leaf("stamps", "gte", "3") + `]}`,
			`{"any": [` + leaf("language", "eq", `"de"`) + `, {"not": ` + leaf("consent", "eq", `"push"`) + `}]}`,
		}
		channelSets := [][]string{
			nil,
			{},
			{"email"},
			{"push"},
			{"telegram"},
			{"whatsapp"},
			{"viber"},
			{"whatsapp", "email"},
			{"viber", "push", "telegram"},
			{"email", "push", "telegram", "whatsapp", "viber"},
		}
		for _, filter := range filters {
			var f *hub.Audience
			if filter != "" {
				var err error
				if f, err = hub.ParseAudience([]byte(filter), "audience"); err != nil {
					t.Fatalf("ParseAudience(%s): %v %v", filter, err, hub.ErrorFields(err))
				}
			}
			for _, chans := range channelSets {
				for _, biz := range []string{p.w.biz.ID, p.other.biz.ID} {
					t.Run(fmt.Sprintf("%s/%v/%s", filter, chans, biz), func(t *testing.T) {
						q := hub.AudienceQuery{BusinessID: biz, Filter: f, Now: audienceNow, Channels: chans}
						diff(t, "counts by reach", reachCounts(t, s, q, chans), audienceReach(t, s, q))
					})
				}
			}
		}
	})
}

// TestAudienceReachCursorAndCustomer checks that AudienceReach keeps to
// AfterID and CustomerID as AudienceMembers does.
func TestAudienceReachCursorAndCustomer(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		p := newPopulation(t, s)
		cat, dan := p.byName["cat"].ID, p.byName["dan"].ID
		tests := []struct {
			name string
			q    hub.AudienceQuery
			want map[string]int
		}{
			{"one customer", hub.AudienceQuery{CustomerID: cat}, map[string]int{"telegram": 1}},
			{"one customer, no channel", hub.AudienceQuery{CustomerID: cat, Channels: []string{"email"}}, map[string]int{"": 1}},
			{"after the last", hub.AudienceQuery{AfterID: p.inIDOrder("wes", "ann", "bob", "cat", "dan", "eve")[5]}, map[string]int{}},
			{"another business's customer", hub.AudienceQuery{CustomerID: p.other.customer.ID}, map[string]int{}},
			{"after dan", hub.AudienceQuery{AfterID: dan}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.q.BusinessID, tc.q.Now = p.w.biz.ID, audienceNow
				want := tc.want
				if want == nil {
					want = reachCounts(t, s, tc.q, tc.q.Channels)
				}
				diff(t, "counts by reach", want, audienceReach(t, s, tc.q))
			})
		}
	})
}

// TestAudienceReachSample checks that AudienceReach with a Sample counts
// exactly the members whose hub.SampleBucket is below it, so the store
// keeps each customer's bucket as hub.SampleBucket computes it (a customer
// left in the column's default bucket 0 would be in every sample).
func TestAudienceReachSample(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		p := newPopulation(t, s)
		addVariedCustomers(t, s, p, 200)
		filters := []string{"", `{"field": "language", "op": "eq", "value": "en"}`, `{"field": "stamps", "op": "gte", "value": 3}`}
		for _, filter := range filters {
			var f *hub.Audience
			if filter != "" {
				var err error
				if f, err = hub.ParseAudience([]byte(filter), "audience"); err != nil {
					t.Fatal(err)
				}
			}
			for _, sample := range []int{1, 100, 512, 1023} {
				for _, chans := range [][]string{{}, {"email", "whatsapp"}, {"viber", "push", "telegram"},
					{"email", "push", "telegram", "whatsapp", "viber"}} {
					t.Run(fmt.Sprintf("%s/%d/%v", filter, sample, chans), func(t *testing.T) {
						q := hub.AudienceQuery{BusinessID: p.w.biz.ID, Filter: f, Now: audienceNow, Channels: chans, Sample: sample}
						want := reachCounts(t, s, q, chans)
						if filter == "" && sample == 512 && len(want) == 0 {
							t.Fatal("no customer in buckets 0-511: the reference is empty")
						}
						diff(t, "counts by reach", want, audienceReach(t, s, q))
					})
				}
			}
		}
	})
}
