package hub_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// recorder is an EventPublisher that remembers what it was given.
type recorder struct {
	mu   sync.Mutex
	keys []hub.EventKey
	fail error
}

func (r *recorder) PublishEvents(_ context.Context, keys []hub.EventKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.keys = append(r.keys, keys...)
	return nil
}

// published returns the keys published so far.
func (r *recorder) published() []hub.EventKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hub.EventKey(nil), r.keys...)
}

// eventKeys names events of one business.
func eventKeys(businessID string, ids ...string) []hub.EventKey {
	keys := make([]hub.EventKey, len(ids))
	for i, id := range ids {
		keys[i] = hub.EventKey{BusinessID: businessID, ID: id}
	}
	return keys
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, k := range r.keys {
		out = append(out, k.ID)
	}
	return out
}

// fixture is a business with a staff login, a key, a card template and a clock.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *sqlstore.Store
	svc   *hub.Service
	pub   *recorder
	pr    *hub.Principal
	tpl   *hub.CardTemplate
	now   time.Time
	mu    sync.Mutex
	draw  int
}

func newFixture(t *testing.T, st *sqlstore.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), store: st, pub: &recorder{}, now: time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC)}
	svc, err := hub.NewService(hub.Config{
		Store: st, Publisher: f.pub, Now: f.clock, PublicURL: "https://hub.test",
		Intn: func(n int) int { f.mu.Lock(); defer f.mu.Unlock(); return f.draw % n },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	f.pr = f.business("Café", "anna")
	f.tpl = f.template(f.pr.Business.ID, []int{3, 5})
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// business creates a business with a staff login and returns its principal.
func (f *fixture) business(name, login string) *hub.Principal {
	f.t.Helper()
	k, err := f.svc.EnsureKey(f.ctx, name, login, nil)
	if err != nil {
		f.t.Fatalf("EnsureKey: %v", err)
	}
	pr, err := f.svc.Authenticate(f.ctx, k.Key)
	if err != nil {
		f.t.Fatalf("Authenticate: %v", err)
	}
	return pr
}

func (f *fixture) template(businessID string, goals []int) *hub.CardTemplate {
	f.t.Helper()
	in := hub.CardTemplateInput{Name: "Coffee", Lottery: &hub.LotteryInput{Prizes: []hub.PrizeInput{{Title: "Cookie", Weight: 1}}, LoseWeight: 1}}
	for i, g := range goals {
		in.Goals = append(in.Goals, hub.GoalInput{Stamps: g, Reward: hub.RewardInput{Title: "Reward " + string(rune('A'+i))}})
	}
	tpl, err := f.svc.CreateCardTemplate(f.ctx, businessID, in)
	if err != nil {
		f.t.Fatalf("CreateCardTemplate: %v", err)
	}
	return tpl
}

func (f *fixture) card(email string) *hub.Card {
	f.t.Helper()
	c, created, err := f.svc.IssueCard(f.ctx, f.pr, hub.IssueCardInput{TemplateID: f.tpl.ID, Customer: hub.CustomerInput{Email: &email}})
	if err != nil || !created {
		f.t.Fatalf("IssueCard(%s) = created %v, %v", email, created, err)
	}
	return c
}

func (f *fixture) events(filter hub.EventFilter) []hub.EventType {
	f.t.Helper()
	filter.BusinessID = f.pr.Business.ID
	filter.Page.Limit = 100
	evs, _, err := f.svc.Events(f.ctx, filter)
	if err != nil {
		f.t.Fatalf("Events: %v", err)
	}
	var types []hub.EventType
	for i := len(evs) - 1; i >= 0; i-- { // oldest first reads naturally
		types = append(types, evs[i].Type)
	}
	return types
}

func wantCode(t *testing.T, err error, code hub.Code) {
	t.Helper()
	if got := hub.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func ptr[T any](v T) *T { return &v }

func TestIssueCard(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		in := hub.IssueCardInput{TemplateID: f.tpl.ID, Customer: hub.CustomerInput{Email: ptr(" Ann@Example.com "), Phone: ptr("+38 (067) 123-45-67"), Name: ptr("Ann")}}
		c, created, err := f.svc.IssueCard(f.ctx, f.pr, in)
		if err != nil || !created {
			t.Fatalf("IssueCard = %v, %v", created, err)
		}
		if got, want := *c.Customer.Email, "ann@example.com"; got != want {
			t.Errorf("email = %q, want %q", got, want)
		}
		if got, want := *c.Customer.Phone, "+380671234567"; got != want {
			t.Errorf("phone = %q, want %q", got, want)
		}
		if c.Cycle != 1 || c.Stamps != 0 || len(c.Goals) != 2 || c.PageURL != "https://hub.test/c/"+c.ID+"?t="+c.PageToken {
			t.Errorf("new card = %+v", c)
		}
		if *c.Customer.WalletPassID != c.WalletPassID {
			t.Errorf("customer wallet pass %v, card %v", *c.Customer.WalletPassID, c.WalletPassID)
		}
		// The same customer by phone gets the same card back, not a new one.
		again, created, err := f.svc.IssueCard(f.ctx, f.pr, hub.IssueCardInput{TemplateID: f.tpl.ID, Customer: hub.CustomerInput{Phone: ptr("+380671234567")}})
		if err != nil || created || again.ID != c.ID {
			t.Fatalf("second IssueCard = %v created=%v err=%v, want the card %s", again.ID, created, err, c.ID)
		}
		if diff := cmp.Diff([]hub.EventType{hub.CardIssued}, f.events(hub.EventFilter{})); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if len(f.pub.ids()) != 1 {
			t.Errorf("published %v, want the one card_issued", f.pub.ids())
		}
	})
}

func TestIssueCardRejectsBadInputAndWritesNothing(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		other := f.business("Other", "bob")
		otherTpl := f.template(other.Business.ID, []int{2})
		tests := []struct {
			name   string
			in     hub.IssueCardInput
			code   hub.Code
			fields []string
		}{
			{"no contact", hub.IssueCardInput{TemplateID: f.tpl.ID}, hub.EValidation, []string{"customer"}},
			{"bad email", hub.IssueCardInput{TemplateID: f.tpl.ID, Customer: hub.CustomerInput{Email: ptr("nope")}}, hub.EValidation, []string{"customer.email"}},
			{"bad phone", hub.IssueCardInput{TemplateID: f.tpl.ID, Customer: hub.CustomerInput{Phone: ptr("+38067abc")}}, hub.EValidation, []string{"customer.phone"}},
			{"bad birthday", hub.IssueCardInput{TemplateID: f.tpl.ID, Customer: hub.CustomerInput{Email: ptr("a@b.co"), Birthday: ptr("1990-13-01")}}, hub.EValidation, []string{"customer.birthday"}},
			{"no template", hub.IssueCardInput{Customer: hub.CustomerInput{Email: ptr("a@b.co")}}, hub.EValidation, []string{"template_id"}},
			{"unknown template", hub.IssueCardInput{TemplateID: "tpl_01JTZ6W1Q9M3N4R5S6T7V8W9XY", Customer: hub.CustomerInput{Email: ptr("a@b.co")}}, hub.ENotFound, nil},
			{"another business's template", hub.IssueCardInput{TemplateID: otherTpl.ID, Customer: hub.CustomerInput{Email: ptr("a@b.co")}}, hub.ENotFound, nil},
			{"another business's location", hub.IssueCardInput{TemplateID: f.tpl.ID, LocationID: ptr("loc_01JTZ6W1Q9M3N4R5S6T7V8W9XY"), Customer: hub.CustomerInput{Email: ptr("a@b.co")}}, hub.ENotFound, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := f.svc.IssueCard(f.ctx, f.pr, tt.in)
				wantCode(t, err, tt.code)
				var got []string
				for k := range hub.ErrorFields(err) {
					got = append(got, k)
				}
				if diff := cmp.Diff(tt.fields, got); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			})
		}
		cs, _, err := f.svc.Customers(f.ctx, hub.CustomerFilter{BusinessID: f.pr.Business.ID})
		if err != nil || len(cs) != 0 {
			t.Errorf("customers after failed calls: %d, %v", len(cs), err)
		}
		if evs := f.events(hub.EventFilter{}); len(evs) != 0 {
			t.Errorf("events after failed calls: %v", evs)
		}
	})
}

func TestAddStampsCrossesGoalsAndIssuesRewards(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		c := f.card("ann@example.com")
		res, err := f.svc.AddStamps(f.ctx, f.pr, c.ID, hub.AddStampsInput{Count: ptr(6), Note: ptr("big order")})
		if err != nil {
			t.Fatal(err)
		}
		// Goals at 3 and 5 of a 5-stamp cycle: 6 stamps cross both and carry one over.
		if res.Card.Stamps != 1 || res.Card.StampsTotal != 6 || res.Card.Cycle != 2 || res.Card.GoalIndex != 0 {
			t.Errorf("card after 6 stamps: stamps=%d total=%d cycle=%d goal=%d", res.Card.Stamps, res.Card.StampsTotal, res.Card.Cycle, res.Card.GoalIndex)
		}
		var types []hub.EventType
		for _, e := range res.Events {
			types = append(types, e.Event)
		}
		want := []hub.EventType{hub.StampAdded, hub.GoalReached, hub.RewardIssued, hub.GoalReached, hub.RewardIssued}
		if diff := cmp.Diff(want, types); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if len(res.Rewards) != 2 || res.Rewards[0].Title != "Reward A" || res.Rewards[1].Title != "Reward B" ||
			*res.Rewards[0].GoalIndex != 0 || res.Rewards[0].Type != hub.VoucherTypeReward || len(res.Rewards[0].RedeemCode) != 8 {
			t.Errorf("rewards = %+v", res.Rewards)
		}
		// The log holds the same events in the same order, and the publisher got them all.
		if diff := cmp.Diff(append([]hub.EventType{hub.CardIssued}, want...), f.events(hub.EventFilter{})); diff != "" {
			t.Errorf("event log (-want +got):\n%s", diff)
		}
		if got := len(f.pub.ids()); got != 6 {
			t.Errorf("published %d events, want 6", got)
		}
		hist, _, err := f.svc.History(f.ctx, f.pr.Business.ID, c.ID, hub.Page{Limit: 2})
		if err != nil || len(hist) != 2 || hist[0].Type != hub.RewardIssued {
			t.Errorf("history page = %v, %v", hist, err)
		}
	})
}

func TestAddStampsValidation(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		c := f.card("ann@example.com")
		for _, n := range []int{0, -1, 101} {
			_, err := f.svc.AddStamps(f.ctx, f.pr, c.ID, hub.AddStampsInput{Count: ptr(n)})
			wantCode(t, err, hub.EValidation)
		}
		other := f.business("Other", "bob")
		_, err := f.svc.AddStamps(f.ctx, other, c.ID, hub.AddStampsInput{})
		wantCode(t, err, hub.ENotFound)
		got, err := f.svc.Card(f.ctx, f.pr.Business.ID, c.ID)
		if err != nil || got.StampsTotal != 0 {
			t.Errorf("card after refused stamps: %+v, %v", got, err)
		}
	})
}

func TestConcurrentStampsLoseNothing(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		c := f.card("ann@example.com")
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.svc.AddStamps(f.ctx, f.pr, c.ID, hub.AddStampsInput{})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent stamp: %v", err)
			}
		}
		got, err := f.svc.Card(f.ctx, f.pr.Business.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		// 50 stamps in cycles of 5: 10 full cycles, 20 goals, 20 rewards.
		if got.StampsTotal != n || got.Cycle != 11 || got.Stamps != 0 {
			t.Errorf("after %d concurrent stamps: total=%d cycle=%d stamps=%d", n, got.StampsTotal, got.Cycle, got.Stamps)
		}
		vs, _, err := f.svc.Vouchers(f.ctx, hub.VoucherFilter{BusinessID: f.pr.Business.ID, Page: hub.Page{Limit: 100}})
		if err != nil || len(vs) != 20 {
			t.Errorf("rewards = %d, %v; want 20", len(vs), err)
		}
		if got := len(f.events(hub.EventFilter{Type: hub.StampAdded})); got != n {
			t.Errorf("stamp_added events = %d, want %d", got, n)
		}
	})
}

func TestRedeemExactlyOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		c := f.card("ann@example.com")
		v, err := f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{CardID: &c.ID, Title: ptr("Free coffee"), RedeemCode: ptr("freecoffee")})
		if err != nil {
			t.Fatal(err)
		}
		if v.RedeemCode != "FREECOFFEE" {
			t.Errorf("code = %q, want upper-cased FREECOFFEE", v.RedeemCode)
		}
		const n = 20
		var wg sync.WaitGroup
		results := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var err error
				if i%2 == 0 {
					_, err = f.svc.RedeemVoucher(f.ctx, f.pr, v.ID, hub.RedeemInput{RedeemedVia: ptr("pos")})
				} else {
					_, err = f.svc.RedeemVoucher(f.ctx, f.pr, "", hub.RedeemInput{RedeemCode: ptr("FreeCoffee"), RedeemedVia: ptr("pos")})
				}
				results <- err
			}(i)
		}
		wg.Wait()
		close(results)
		ok, already := 0, 0
		for err := range results {
			switch hub.ErrorCode(err) {
			case "":
				ok++
			case hub.EAlreadyRedeemed:
				already++
			default:
				t.Errorf("redeem: %v", err)
			}
		}
		if ok != 1 || already != n-1 {
			t.Errorf("redeems: %d succeeded, %d already_redeemed; want 1 and %d", ok, already, n-1)
		}
		if got := len(f.events(hub.EventFilter{Type: hub.VoucherRedeemedEv})); got != 1 {
			t.Errorf("voucher_redeemed events = %d, want 1", got)
		}
		got, err := f.svc.Voucher(f.ctx, f.pr.Business.ID, v.ID)
		if err != nil || got.Status != hub.VoucherRedeemed || *got.RedeemedVia != "pos" || got.RedeemedAt == nil {
			t.Errorf("voucher = %+v, %v", got, err)
		}
	})
}

func TestVoucherExpiry(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		c := f.card("ann@example.com")
		exp := f.clock().Add(time.Hour).Format(time.RFC3339)
		v, err := f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{CustomerID: &c.Customer.ID, Title: ptr("Soon gone"), ExpiresAt: &exp})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{CustomerID: &c.Customer.ID, Title: ptr("Past"), ExpiresAt: ptr("2020-01-01T00:00:00Z")})
		wantCode(t, err, hub.EValidation)
		_, err = f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{CustomerID: &c.Customer.ID, Title: ptr("Bad"), ExpiresAt: ptr("tomorrow")})
		wantCode(t, err, hub.EValidation)

		f.advance(2 * time.Hour)
		got, _ := f.svc.Voucher(f.ctx, f.pr.Business.ID, v.ID)
		if got.Status != hub.VoucherExpired {
			t.Errorf("status past expiry = %q, want expired", got.Status)
		}
		_, err = f.svc.RedeemVoucher(f.ctx, f.pr, v.ID, hub.RedeemInput{})
		wantCode(t, err, hub.EVoucherExpired)
		for i := 0; i < 2; i++ { // the sweep is idempotent
			if _, err := f.svc.ExpireDueVouchers(f.ctx, 10); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(f.events(hub.EventFilter{Type: hub.VoucherExpiredEv})); got != 1 {
			t.Errorf("voucher_expired events = %d, want 1", got)
		}
	})
}

func TestVoucherFromTemplateAndCodes(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		vt, err := f.svc.CreateVoucherTemplate(f.ctx, f.pr.Business.ID, hub.VoucherTemplateInput{Title: "10% off", ValidDays: ptr(7), RedeemCodeFormats: []string{"qr"}})
		if err != nil {
			t.Fatal(err)
		}
		v, err := f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{Customer: &hub.ContactInput{Email: ptr("new@example.com")}, VoucherTemplateID: &vt.ID})
		if err != nil {
			t.Fatal(err)
		}
		if v.Title != "10% off" || !v.ExpiresAt.Equal(f.clock().AddDate(0, 0, 7)) || !cmp.Equal(v.RedeemCodeFormats, []string{"qr"}) {
			t.Errorf("templated voucher = %+v", v)
		}
		_, err = f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{CustomerID: &v.CustomerID, Title: ptr("dup"), RedeemCode: &v.RedeemCode})
		wantCode(t, err, hub.EConflict)
		_, err = f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{CustomerID: &v.CustomerID})
		wantCode(t, err, hub.EValidation)
		// An empty customer object (what no-code tools send) does not count as a holder.
		if _, err := f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{CustomerID: &v.CustomerID, Customer: &hub.ContactInput{}, Title: ptr("x")}); err != nil {
			t.Errorf("customer_id with an empty customer object: %v", err)
		}
		_, err = f.svc.IssueVoucher(f.ctx, f.pr, hub.IssueVoucherInput{CustomerID: &v.CustomerID, CardID: ptr("card_01JTZ6W1Q9M3N4R5S6T7V8W9XY"), Title: ptr("two holders")})
		wantCode(t, err, hub.EValidation)
		other := f.business("Other", "bob")
		_, err = f.svc.IssueVoucher(f.ctx, other, hub.IssueVoucherInput{CustomerID: &v.CustomerID, Title: ptr("foreign")})
		wantCode(t, err, hub.ENotFound)
		_, err = f.svc.RedeemVoucher(f.ctx, other, v.ID, hub.RedeemInput{})
		wantCode(t, err, hub.ENotFound)
	})
}

func TestLottery(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		c := f.card("ann@example.com")
		f.draw = 0 // prize weight 1 first: a win
		res, err := f.svc.PlayLottery(f.ctx, f.pr, c.ID, hub.LotteryPlayInput{})
		if err != nil || !res.Result.Won || res.Result.Prize.Title != "Cookie" || res.Voucher == nil {
			t.Fatalf("winning play = %+v, %v", res, err)
		}
		f.draw = 1 // the lose weight
		res, err = f.svc.PlayLottery(f.ctx, f.pr, c.ID, hub.LotteryPlayInput{})
		if err != nil || res.Result.Won || res.Voucher != nil {
			t.Fatalf("losing play = %+v, %v", res, err)
		}
		want := []hub.EventType{hub.CardIssued, hub.LotteryPlayed, hub.VoucherIssuedEv, hub.LotteryPlayed}
		if diff := cmp.Diff(want, f.events(hub.EventFilter{})); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		plain := f.template(f.pr.Business.ID, []int{1})
		plain.Lottery = nil
		tpl, err := f.svc.CreateCardTemplate(f.ctx, f.pr.Business.ID, hub.CardTemplateInput{Name: "No lottery", Goals: []hub.GoalInput{{Stamps: 2, Reward: hub.RewardInput{Title: "x"}}}})
		if err != nil {
			t.Fatal(err)
		}
		c2, _, err := f.svc.IssueCard(f.ctx, f.pr, hub.IssueCardInput{TemplateID: tpl.ID, Customer: hub.CustomerInput{Email: ptr("ann@example.com")}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.PlayLottery(f.ctx, f.pr, c2.ID, hub.LotteryPlayInput{})
		wantCode(t, err, hub.EValidation)
	})
}

func TestCardPageRecordsOpeningsAtMostEveryHalfHour(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		c := f.card("ann@example.com")
		_, err := f.svc.OpenCardPage(f.ctx, c.ID, "wrong")
		wantCode(t, err, hub.ENotFound)
		for i := 0; i < 3; i++ {
			if _, err := f.svc.OpenCardPage(f.ctx, c.ID, c.PageToken); err != nil {
				t.Fatal(err)
			}
			f.advance(10 * time.Minute)
		}
		f.advance(time.Minute) // 31 minutes after the first opening
		if _, err := f.svc.OpenCardPage(f.ctx, c.ID, c.PageToken); err != nil {
			t.Fatal(err)
		}
		if got := len(f.events(hub.EventFilter{Type: hub.CardOpened})); got != 2 {
			t.Errorf("card_opened events = %d, want 2", got)
		}
	})
}

// TestCardPageChecksTheTokenBeforeWriting: a wrong token, or a page opened
// again within half an hour, takes no write transaction (nothing locked);
// only an opening to record does.
func TestCardPageChecksTheTokenBeforeWriting(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		c := f.card("ann@example.com")
		counted := &txCountingStore{Store: st}
		svc, err := hub.NewService(hub.Config{Store: counted, Now: f.clock, PublicURL: "https://hub.test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name   string
			token  string
			writes int64
		}{
			{"wrong token", "wrong", 0},
			{"first opening", c.PageToken, 1},
			{"again at once", c.PageToken, 0},
			{"wrong token after", c.PageToken + "x", 0},
		} {
			before := counted.writes.Load()
			pg, err := svc.OpenCardPage(f.ctx, c.ID, tt.token)
			if tt.token != c.PageToken {
				wantCode(t, err, hub.ENotFound)
			} else if err != nil || pg.Card.ID != c.ID || pg.Card.LastOpenedAt == nil {
				t.Fatalf("%s: %+v, %v", tt.name, pg, err)
			}
			if got := counted.writes.Load() - before; got != tt.writes {
				t.Errorf("%s: %d write transactions, want %d", tt.name, got, tt.writes)
			}
		}
	})
}

func TestAPIKeys(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		b := f.pr.Business.ID
		if _, err := f.svc.CreateStaff(f.ctx, b, hub.StaffInput{Login: "Olga"}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.CreateStaff(f.ctx, b, hub.StaffInput{Login: "olga"})
		wantCode(t, err, hub.EConflict)
		k, err := f.svc.CreateAPIKey(f.ctx, b, hub.APIKeyInput{Login: "olga"})
		if err != nil || !hub.WellFormedAPIKey(k.Key) || k.MaskedKey != hub.MaskAPIKey(k.Key) {
			t.Fatalf("CreateAPIKey = %+v, %v", k, err)
		}
		_, err = f.svc.CreateAPIKey(f.ctx, b, hub.APIKeyInput{Login: "olga"})
		wantCode(t, err, hub.EConflict)
		_, err = f.svc.CreateAPIKey(f.ctx, b, hub.APIKeyInput{Login: "nobody"})
		wantCode(t, err, hub.ENotFound)

		re, err := f.svc.RegenerateAPIKey(f.ctx, b, k.ID)
		if err != nil || re.Key == k.Key {
			t.Fatalf("Regenerate = %v", err)
		}
		_, err = f.svc.Authenticate(f.ctx, k.Key)
		wantCode(t, err, hub.EUnauthorized)
		if _, err := f.svc.Authenticate(f.ctx, re.Key); err != nil {
			t.Fatalf("new key: %v", err)
		}
		if err := f.svc.RevokeAPIKey(f.ctx, b, k.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Authenticate(f.ctx, re.Key)
		wantCode(t, err, hub.EUnauthorized)
		keys, err := f.svc.APIKeys(f.ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		statuses := map[string]string{}
		for _, k := range keys {
			statuses[k.Login] = k.Status
			if k.Key != "" || k.Hash == re.Hash && k.Login != "olga" {
				t.Errorf("listed key leaks its secret: %+v", k)
			}
		}
		if diff := cmp.Diff(map[string]string{"anna": "active", "olga": "revoked"}, statuses); diff != "" {
			t.Errorf("key statuses (-want +got):\n%s", diff)
		}
		// After revocation the login may get a new key.
		if _, err := f.svc.CreateAPIKey(f.ctx, b, hub.APIKeyInput{Login: "olga"}); err != nil {
			t.Errorf("new key after revocation: %v", err)
		}
		_, err = f.svc.RegenerateAPIKey(f.ctx, "b_01JTZ6W1Q9M3N4R5S6T7V8W9XY", k.ID)
		wantCode(t, err, hub.ENotFound)
	})
}

func TestCustomersPatch(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		c := f.card("ann@example.com")
		got, err := f.svc.UpdateCustomer(f.ctx, f.pr.Business.ID, c.Customer.ID, hub.CustomerPatch{
			Name: ptr("Ann"), Language: ptr("uk"), Birthday: ptr("1990-05-12"), Phone: ptr("+1 415 555 0100"),
			Consent: map[string]bool{"email": true, "telegram": false},
		})
		if err != nil {
			t.Fatal(err)
		}
		if *got.Name != "Ann" || got.Language != "uk" || *got.Birthday != "1990-05-12" || *got.Phone != "+14155550100" ||
			!got.Consent["email"].Granted || got.Consent["telegram"].Granted || got.Consent["email"].Source != "api" {
			t.Errorf("patched = %+v", got)
		}
		_, err = f.svc.UpdateCustomer(f.ctx, f.pr.Business.ID, c.Customer.ID, hub.CustomerPatch{Email: ptr(""), Phone: ptr("")})
		wantCode(t, err, hub.EValidation)
		_, err = f.svc.UpdateCustomer(f.ctx, f.pr.Business.ID, c.Customer.ID, hub.CustomerPatch{Consent: map[string]bool{"fax": true}})
		wantCode(t, err, hub.EValidation)
		again, _ := f.svc.Customer(f.ctx, f.pr.Business.ID, c.Customer.ID)
		if diff := cmp.Diff(got, again); diff != "" {
			t.Errorf("refused patches changed the customer (-before +after):\n%s", diff)
		}
	})
}

func TestPublishFailureLeavesEventsForTheRelay(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		f.pub.fail = errors.New("redis down")
		c := f.card("ann@example.com") // the write succeeds although the queue is down
		f.pub.fail = nil
		n, err := f.svc.RelayUndispatched(f.ctx, time.Minute, 100, time.Minute)
		if err != nil || n != 0 {
			t.Errorf("relay of fresh events = %d, %v; want 0 (too young)", n, err)
		}
		f.advance(2 * time.Minute)
		n, err = f.svc.RelayUndispatched(f.ctx, time.Minute, 100, time.Minute)
		if err != nil || n != 1 {
			t.Fatalf("relay = %d, %v; want 1", n, err)
		}
		evs, _, _ := f.svc.Events(f.ctx, hub.EventFilter{BusinessID: f.pr.Business.ID, CardID: c.ID})
		ids := []string{evs[0].ID, "evt_01JTZ6W1Q9M3N4R5S6T7V8W9XY"} // the second does not exist
		if err := f.svc.DispatchEventKeys(f.ctx, eventKeys(f.pr.Business.ID, ids...)); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DispatchEventKeys(f.ctx, eventKeys(f.pr.Business.ID, ids...)); err != nil {
			t.Fatalf("second dispatch: %v", err)
		}
		n, err = f.svc.RelayUndispatched(f.ctx, time.Minute, 100, time.Minute)
		if err != nil || n != 0 {
			t.Errorf("relay after dispatch = %d, %v; want 0", n, err)
		}
	})
}

// TestRelayDrainsABacklogInOneRun: a backlog of several batches (the queue
// was down) is published in one run, each event once, oldest first; a run
// with no budget left stops after one batch.
func TestRelayDrainsABacklogInOneRun(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		f.pub.fail = errors.New("redis down")
		c := f.card("ann@example.com")
		for i := 0; i < 11; i++ {
			if _, err := f.svc.AddStamps(f.ctx, f.pr, c.ID, hub.AddStampsInput{}); err != nil {
				t.Fatal(err)
			}
		}
		f.pub.fail = nil
		f.advance(2 * time.Minute)
		evs, _, err := f.svc.Events(f.ctx, hub.EventFilter{BusinessID: f.pr.Business.ID, Page: hub.Page{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) < 12 {
			t.Fatalf("%d events, want at least 12", len(evs))
		}
		n, err := f.svc.RelayUndispatched(f.ctx, time.Minute, 5, 0)
		if err != nil || n != 5 {
			t.Fatalf("relay without budget = %d, %v; want one batch of 5", n, err)
		}
		f.pub.keys = nil
		n, err = f.svc.RelayUndispatched(f.ctx, time.Minute, 5, time.Minute)
		if err != nil || n != len(evs) {
			t.Fatalf("relay = %d, %v; want all %d in one run", n, err, len(evs))
		}
		got := f.pub.ids()
		slices.Sort(got)
		want := make([]string, len(evs))
		for i, e := range evs {
			want[i] = e.ID
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("published (-want +got), each once:\n%s", diff)
		}
	})
}

func TestIdempotency(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		req := hub.IdempotentRequest{BusinessID: f.pr.Business.ID, Key: "k1", Method: "POST", Path: "/v1/cards", Body: []byte(`{"a":1}`)}
		ctx, rec, err := f.svc.BeginIdempotent(f.ctx, req)
		if err != nil || rec != nil {
			t.Fatalf("first Begin = %v, %v", rec, err)
		}
		_, _, err = f.svc.BeginIdempotent(f.ctx, req)
		wantCode(t, err, hub.EConflict) // still in progress
		if err := f.svc.FinishIdempotent(ctx, 201, "application/json", []byte(`{"id":"x"}`)); err != nil {
			t.Fatal(err)
		}
		_, rec, err = f.svc.BeginIdempotent(f.ctx, req)
		if err != nil || rec == nil || rec.Status != 201 || string(rec.Body) != `{"id":"x"}` {
			t.Fatalf("replay = %+v, %v", rec, err)
		}
		other := req
		other.Body = []byte(`{"a":2}`)
		_, _, err = f.svc.BeginIdempotent(f.ctx, other)
		wantCode(t, err, hub.EIdempotencyMismatch)
		other = req
		other.Path = "/v1/vouchers"
		_, _, err = f.svc.BeginIdempotent(f.ctx, other)
		wantCode(t, err, hub.EIdempotencyMismatch)
		// Another business may use the same key.
		other = req
		other.BusinessID = "b_01JTZ6W1Q9M3N4R5S6T7V8W9XY"
		if _, rec, err := f.svc.BeginIdempotent(f.ctx, other); err != nil || rec != nil {
			t.Errorf("other business = %v, %v", rec, err)
		}
		// A 5xx releases the key; after 24 h a key is fresh again.
		r5 := hub.IdempotentRequest{BusinessID: f.pr.Business.ID, Key: "k5", Method: "POST", Path: "/v1/cards"}
		ctx5, _, err := f.svc.BeginIdempotent(f.ctx, r5)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.FinishIdempotent(ctx5, 503, "", nil); err != nil {
			t.Fatal(err)
		}
		if _, rec, err := f.svc.BeginIdempotent(f.ctx, r5); err != nil || rec != nil {
			t.Errorf("after a 5xx = %v, %v; want a fresh claim", rec, err)
		}
		// A claim whose process died before any effect is taken over
		// after two minutes.
		f.advance(hub.IdempotencyAbandoned)
		if _, rec, err := f.svc.BeginIdempotent(f.ctx, r5); err != nil || rec != nil {
			t.Errorf("abandoned claim = %v, %v; want it taken over", rec, err)
		}
		f.advance(25 * time.Hour)
		if _, rec, err := f.svc.BeginIdempotent(f.ctx, req); err != nil || rec != nil {
			t.Errorf("after 25 h = %v, %v; want a fresh claim", rec, err)
		}
		_, _, err = f.svc.BeginIdempotent(f.ctx, hub.IdempotentRequest{BusinessID: f.pr.Business.ID, Key: string(make([]byte, 256))})
		wantCode(t, err, hub.EValidation)
	})
}
