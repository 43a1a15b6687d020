package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/7loc/hub/templates"
)

// TestCampaignActivity adds to the counters and sums them per bucket.
func TestCampaignActivity(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)
		start := t0.Truncate(time.Second)
		sec := func(d int) int64 { return start.Unix() + int64(d) }
		c, other := hub.NewID(hub.PrefixCampaign), hub.NewID(hub.PrefixCampaign)
		// Two transactions: the second adds to the first's counters, and
		// takes back the failure at second 20 (a fallback).
		write(t, s, func(tx hub.Tx) error {
			return tx.AddCampaignActivity(ctx, []hub.ActivityDelta{
				{BusinessID: w.biz.ID, CampaignID: c, Second: sec(-1), Sent: 1}, // ended before the start: bucket 0
				{BusinessID: w.biz.ID, CampaignID: c, Second: sec(1), Sent: 2},
				{BusinessID: w.biz.ID, CampaignID: c, Second: sec(12), Failed: 1},
				{BusinessID: w.biz.ID, CampaignID: c, Second: sec(20), Failed: 1},
				{BusinessID: w.biz.ID, CampaignID: other, Second: sec(1), Sent: 7},
			})
		})
		write(t, s, func(tx hub.Tx) error {
			return tx.AddCampaignActivity(ctx, []hub.ActivityDelta{
				{BusinessID: w.biz.ID, CampaignID: c, Second: sec(9), Sent: 1},
				{BusinessID: w.biz.ID, CampaignID: c, Second: sec(10), Sent: 1},
				{BusinessID: w.biz.ID, CampaignID: c, Second: sec(12), Sent: 1},
				{BusinessID: w.biz.ID, CampaignID: c, Second: sec(20), Failed: -1},
				{BusinessID: w.biz.ID, CampaignID: c, Second: sec(35), Failed: 1},
			})
		})
		tests := []struct {
			name     string
			business string
			step     time.Duration
			want     []hub.ActivityCount
		}{
			{"ten seconds", w.biz.ID, 10 * time.Second,
				[]hub.ActivityCount{{Bucket: 0, Sent: 4}, {Bucket: 1, Sent: 2, Failed: 1}, {Bucket: 3, Failed: 1}}},
			{"a minute", w.biz.ID, time.Minute, []hub.ActivityCount{{Bucket: 0, Sent: 6, Failed: 2}}},
			{"under a second counts seconds", w.biz.ID, time.Millisecond, []hub.ActivityCount{{Bucket: -1, Sent: 1},
				{Bucket: 1, Sent: 2}, {Bucket: 9, Sent: 1}, {Bucket: 10, Sent: 1}, {Bucket: 12, Sent: 1, Failed: 1}, {Bucket: 35, Failed: 1}}},
			{"another business", hub.NewID(hub.PrefixBusiness), time.Minute, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				read(t, s, func(tx hub.Tx) error {
					got, err := tx.CampaignActivity(ctx, tt.business, c, start, tt.step)
					diff(t, "activity", tt.want, got)
					return err
				})
			})
		}
	})
}

// activityWorld runs campaigns through hub.Service on a store, with a
// clock the test moves.
type activityWorld struct {
	t   *testing.T
	ctx context.Context
	s   *sqlstore.Store
	svc *hub.Service
	biz string

	mu  sync.Mutex
	now time.Time
}

func newActivityWorld(t *testing.T, s *sqlstore.Store) *activityWorld {
	t.Helper()
	a := &activityWorld{t: t, ctx: context.Background(), s: s, biz: newWorld(t, s).biz.ID,
		now: time.Date(2026, 5, 11, 12, 0, 0, 250_000_000, time.UTC)}
	svc, err := hub.NewService(hub.Config{Store: s, Now: a.clock, PublicURL: "https://hub.test",
		SecretKey: make([]byte, 32), Renderer: templates.New(templates.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	a.svc = svc
	for provider, cfg := range map[string]map[string]any{
		"email":    {"host": "smtp.test", "from": "cafe@example.com"},
		"telegram": {"bot_token": "123:abc", "bot_username": "cafe_bot"},
	} {
		if _, err := svc.PutChannelConfig(a.ctx, a.biz, provider, cfg); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func (a *activityWorld) clock() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now
}

func (a *activityWorld) advance(d time.Duration) {
	a.mu.Lock()
	a.now = a.now.Add(d)
	a.mu.Unlock()
}

// customer adds a customer with an email, consent on the channels, and a
// Telegram chat when telegram is set; name tells the test what happens
// to their message.
func (a *activityWorld) customer(name string, consent []string, telegram bool) *hub.Customer {
	a.t.Helper()
	c := &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: a.biz, Name: ptr(name),
		Email: ptr(name + "@example.com"), Language: "en", Consent: map[string]hub.Consent{},
		CreatedAt: a.clock(), UpdatedAt: a.clock()}
	for _, ch := range consent {
		c.Consent[ch] = hub.Consent{Granted: true, Source: "api", At: a.clock()}
	}
	write(a.t, a.s, func(tx hub.Tx) error {
		if err := tx.CreateCustomer(a.ctx, c); err != nil {
			return err
		}
		if !telegram {
			return nil
		}
		return tx.PutContact(a.ctx, &hub.Contact{BusinessID: a.biz, CustomerID: c.ID, Channel: hub.ChannelTelegram,
			Address: "chat-" + name, LinkedAt: a.clock(), Reachable: true})
	})
	return c
}

// campaign creates and starts a campaign to every customer, on Telegram
// then email.
func (a *activityWorld) campaign() *hub.Campaign {
	a.t.Helper()
	c, err := a.svc.CreateCampaign(a.ctx, a.biz, hub.CampaignInput{Name: ptr("Spring"), Audience: json.RawMessage(`{"all": []}`),
		Channels: []string{"telegram", "email"}, Message: &hub.CampaignMessage{Variants: []hub.MessageVariant{
			{Language: "en", Kind: hub.KindText, Text: "Hi {{ customer.name }}"},
			{Language: "en", Kind: hub.KindEmail, Subject: "Spring", HTML: "<p>Hi {{ customer.name }}</p>"},
		}}})
	if err != nil {
		a.t.Fatal(err)
	}
	if c, err = a.svc.SendCampaign(a.ctx, a.biz, c.ID); err != nil {
		a.t.Fatal(err)
	}
	return c
}

// checkCounters holds the counters to the old query at several steps,
// and the chart's totals to the old query's and to the campaign's stats.
func (a *activityWorld) checkCounters(what, id string) {
	a.t.Helper()
	c, err := a.svc.CampaignByID(a.ctx, a.biz, id)
	if err != nil {
		a.t.Fatal(err)
	}
	start := c.StartedAt.Truncate(time.Second)
	var total [2]int // sent and failed, by the old query
	for _, step := range []time.Duration{time.Second, 2 * time.Second, 10 * time.Second, time.Minute} {
		want, err := a.s.CampaignActivityByJoinForTest(a.ctx, a.biz, id, start, step)
		if err != nil {
			a.t.Fatal(err)
		}
		total = [2]int{}
		for _, k := range want {
			total[0], total[1] = total[0]+k.Sent, total[1]+k.Failed
		}
		var got []hub.ActivityCount
		read(a.t, a.s, func(tx hub.Tx) error {
			got, err = tx.CampaignActivity(a.ctx, a.biz, id, start, step)
			return err
		})
		diff(a.t, fmt.Sprintf("%s: counters per %s, against the old query", what, step), want, got)
	}
	act, err := a.svc.CampaignActivity(a.ctx, a.biz, id, hub.MaxActivityBuckets)
	if err != nil {
		a.t.Fatal(err)
	}
	sent, failed := 0, 0
	for _, b := range act.Buckets {
		sent, failed = sent+b.Sent, failed+b.Failed
	}
	diff(a.t, what+": the chart's totals against the old query's", total, [2]int{sent, failed})
	var live hub.CampaignStats
	read(a.t, a.s, func(tx hub.Tx) error {
		live, err = tx.CampaignStats(a.ctx, a.biz, id)
		return err
	})
	old, err := a.s.CampaignStatsByJoinForTest(a.ctx, a.biz, id)
	if err != nil {
		a.t.Fatal(err)
	}
	if c.FinalStats == nil || what == "sent" {
		// Until a late report changes the counters of a campaign whose
		// final stats are kept, the live stats count as the old pass did.
		diff(a.t, what+": the live stats against the old pass over the recipients", old, live)
	}
	if c.FinalStats == nil || what == "sent" {
		// The stats count the same until a late report changes the
		// chart of a campaign whose final stats are kept.
		diff(a.t, what+": the chart's totals against the stats", [2]int{c.Stats.Sent, c.Stats.Failed}, [2]int{sent, failed})
	}
}

// TestCampaignActivityCountsAsTheRecipients sends a campaign whose
// messages are sent, refused (falling back to email, or failed with no
// fallback), failed without a provider call, retried, lost in flight, of
// unknown fate, reported failed after sent, and skipped, finishing every
// batch twice; then cancels another. The counters equal the old query's
// count at each stage, and again after the migration's backfill.
func TestCampaignActivityCountsAsTheRecipients(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		a := newActivityWorld(t, s)
		fate := map[string]string{} // customer id -> what happens to its message
		for i := range 3 {
			fate[a.customer(fmt.Sprintf("ok%d", i), []string{"email"}, false).ID] = "ok"
		}
		fate[a.customer("fallback", []string{"telegram", "email"}, true).ID] = "refused on telegram"
		fate[a.customer("nofallback", []string{"telegram"}, true).ID] = "refused on telegram"
		fate[a.customer("reported", []string{"telegram"}, true).ID] = "reported failed"
		a.customer("skipped", nil, false)
		revoked := a.customer("revoked", []string{"email"}, false)
		fate[a.customer("retried", []string{"email"}, false).ID] = "transient"
		fate[a.customer("unknown", []string{"email"}, false).ID] = "maybe sent"
		fate[a.customer("lost", []string{"email"}, false).ID] = "lost"

		c := a.campaign()
		var reported *hub.Outgoing
		for range 20 {
			a.advance(1300 * time.Millisecond)
			step, err := a.svc.CampaignStep(a.ctx, a.biz, c.ID, "runner")
			if err != nil {
				t.Fatal(err)
			}
			if step.Action == hub.StepStop {
				break
			}
			if len(step.Deliveries) == 0 {
				continue
			}
			// Consent withdrawn between the walk and the send: failed
			// at the claim, without a provider call.
			if _, err := a.svc.UpdateCustomer(a.ctx, a.biz, revoked.ID, hub.CustomerPatch{Consent: map[string]bool{"email": false}}); err != nil {
				t.Fatal(err)
			}
			a.advance(700 * time.Millisecond)
			claims, err := a.svc.ClaimSends(a.ctx, step.Deliveries)
			if err != nil {
				t.Fatal(err)
			}
			a.advance(1100 * time.Millisecond)
			var sent, retry []hub.Sent
			var lost *hub.Outgoing
			for _, cl := range claims {
				o := cl.Out
				if o == nil {
					continue
				}
				r := hub.Sent{Out: o, Receipt: hub.Receipt{ProviderMessageID: "p-" + o.Delivery.ID}}
				switch fate[o.Delivery.CustomerID] {
				case "refused on telegram":
					if o.Delivery.Channel == hub.ChannelTelegram {
						r.Err = &hub.SendError{Kind: hub.SendPermanent, Reason: "blocked", Err: errors.New("blocked")}
					}
				case "transient":
					r.Err = &hub.SendError{Kind: hub.SendTransient, Reason: "timeout", Err: errors.New("timeout")}
					retry = append(retry, hub.Sent{Out: o, Receipt: r.Receipt})
				case "maybe sent":
					r.Err = &hub.SendError{Kind: hub.SendTransient, MaybeSent: true, Reason: "reset", Err: errors.New("reset")}
				case "lost":
					lost = o
					continue
				case "reported failed":
					reported = o
				}
				sent = append(sent, r)
			}
			// Each batch is finished twice (a retried task): the second
			// finds nothing sending and counts nothing.
			for range 2 {
				if _, err := a.svc.FinishSends(a.ctx, sent, false); err != nil {
					t.Fatal(err)
				}
			}
			a.checkCounters("after a batch", c.ID)
			// The retried message goes two seconds later.
			for _, r := range retry {
				a.advance(2 * time.Second)
				o, err := a.svc.ClaimSend(a.ctx, hub.DeliveryKey{BusinessID: a.biz, ID: r.Out.Delivery.ID})
				if err != nil || o == nil {
					t.Fatalf("claim of the retry: %v, %v", o, err)
				}
				for range 2 {
					if _, err := a.svc.FinishSend(a.ctx, o, r.Receipt, nil, false); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The lost message's worker died: its retry, after
			// SendingStaleAfter, finds it sending and settles it unknown;
			// the worker's late answer then counts nothing.
			if lost != nil {
				a.advance(hub.SendingStaleAfter + time.Second)
				for range 2 {
					if o, err := a.svc.ClaimSend(a.ctx, hub.DeliveryKey{BusinessID: a.biz, ID: lost.Delivery.ID}); err != nil || o != nil {
						t.Fatalf("claim of the lost message: %v, %v", o, err)
					}
				}
				if _, err := a.svc.FinishSend(a.ctx, lost, hub.Receipt{}, nil, false); err != nil {
					t.Fatal(err)
				}
			}
			a.checkCounters("after the retries", c.ID)
		}
		got, err := a.svc.CampaignByID(a.ctx, a.biz, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != hub.CampaignStatusSent || got.Stats.Sent != 7 || got.Stats.Failed != 4 || got.Stats.SkippedTotal() != 1 {
			t.Fatalf("campaign %s with %+v, want sent with 7 sent (the world's customer, 3, the fallback, the retried, the reported), 4 failed, 1 skipped",
				got.Status, got.Stats)
		}
		a.checkCounters("sent", c.ID)

		// A provider reports the Telegram message failed a minute later,
		// twice.
		a.advance(time.Minute)
		for range 2 {
			if err := a.svc.ApplyInbound(a.ctx, a.biz, []hub.Inbound{{Type: hub.InboundStatus, Channel: hub.ChannelTelegram,
				DeliveryID: reported.Delivery.ID, Status: hub.ProviderFailed, Reason: "blocked"}}); err != nil {
				t.Fatal(err)
			}
		}
		a.checkCounters("reported failed", c.ID)

		// A campaign cancelled with its messages pending fails them all.
		a.advance(time.Minute)
		c2 := a.campaign()
		if _, err := a.svc.CampaignStep(a.ctx, a.biz, c2.ID, "runner"); err != nil {
			t.Fatal(err)
		}
		a.advance(3 * time.Second)
		if _, err := a.svc.CancelCampaign(a.ctx, a.biz, c2.ID); err != nil {
			t.Fatal(err)
		}
		a.checkCounters("cancelled", c2.ID)

		// The migration's backfill counts the same.
		if err := s.BackfillActivityForTest(a.ctx); err != nil {
			t.Fatal(err)
		}
		a.checkCounters("backfilled", c.ID)
		a.checkCounters("backfilled", c2.ID)
	})
}

// TestCampaignActivitySlots: transactions add to a second's counters in
// slots, which the chart and the stats sum; and on PostgreSQL a second
// transaction adding to the same second does not wait for the first's
// commit when its slot differs (it did, on one row per second, and put
// every worker of a campaign in single file), as it must when it is the
// same slot.
func TestCampaignActivitySlots(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)
		start := t0.Truncate(time.Second)
		c := hub.NewID(hub.PrefixCampaign)
		delta := func(sent, failed int) []hub.ActivityDelta {
			return []hub.ActivityDelta{{BusinessID: w.biz.ID, CampaignID: c, Second: start.Unix(), Sent: sent, Failed: failed}}
		}
		var slot int
		s.PinActivitySlotForTest(func() int { return slot })
		for i, d := range []struct{ sent, failed int }{{3, 0}, {2, 1}, {0, 4}} {
			slot = i
			write(t, s, func(tx hub.Tx) error { return tx.AddCampaignActivity(ctx, delta(d.sent, d.failed)) })
		}
		var got []hub.ActivityCount
		read(t, s, func(tx hub.Tx) (err error) {
			got, err = tx.CampaignActivity(ctx, w.biz.ID, c, start, time.Minute)
			return err
		})
		if d := cmp.Diff([]hub.ActivityCount{{Bucket: 0, Sent: 5, Failed: 5}}, got); d != "" {
			t.Fatalf("the chart over three slots (-want +got):\n%s", d)
		}
		if s.Dialect() != sqlstore.DialectPostgres {
			return // one writer: no transaction waits for another's row
		}
		for _, tc := range []struct {
			name         string
			first, other int
			waits        bool
		}{
			{"another slot", 0, 1, false},
			{"the same slot", 2, 2, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				holding, release := make(chan struct{}), make(chan struct{})
				firstDone := make(chan error, 1)
				slot = tc.first
				go func() {
					firstDone <- s.Write(ctx, func(tx hub.Tx) error {
						if err := tx.AddCampaignActivity(ctx, delta(1, 0)); err != nil {
							return err
						}
						close(holding)
						<-release
						return nil
					})
				}()
				<-holding
				slot = tc.other
				octx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
				err := s.Write(octx, func(tx hub.Tx) error { return tx.AddCampaignActivity(octx, delta(1, 0)) })
				cancel()
				close(release)
				if err := <-firstDone; err != nil {
					t.Fatal(err)
				}
				if waited := err != nil; waited != tc.waits {
					t.Errorf("the second transaction, the first still open: err %v; waited %v, want %v", err, waited, tc.waits)
				}
			})
		}
	})
}
