package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/7loc/hub/templates"
)

// automationQueue records scheduled runs.
type automationQueue struct {
	mu   sync.Mutex
	keys []hub.AutomationKey
}

func (q *automationQueue) EnqueueAutomations(_ context.Context, keys []hub.AutomationKey) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.keys = append(q.keys, keys...)
	return nil
}

func (q *automationQueue) take() []hub.AutomationKey {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := q.keys
	q.keys = nil
	return k
}

// automationFixture is a messaging fixture whose business has the default
// automations and whose service records scheduled runs.
type automationFixture struct {
	*messagingFixture
	runs *automationQueue
}

func newAutomationFixture(t *testing.T, st *sqlstore.Store) *automationFixture {
	t.Helper()
	a := &automationFixture{messagingFixture: newMessagingFixture(t, st), runs: &automationQueue{}}
	a.useStore(st)
	return a
}

// useStore makes the fixture's service, which records scheduled runs, work
// on st.
func (a *automationFixture) useStore(st hub.Store) {
	a.t.Helper()
	cfg := a.messagingConfig(st)
	cfg.Automations, cfg.Defaults = a.runs, templates.Defaults()
	svc, err := hub.NewService(cfg)
	if err != nil {
		a.t.Fatal(err)
	}
	a.svc = svc
}

// voucherExpiringAutomation creates an enabled automation that emails a
// reminder of a voucher's expiry.
func (a *automationFixture) voucherExpiringAutomation() {
	a.t.Helper()
	mt, err := a.svc.CreateMessageTemplate(a.ctx, a.biz, hub.MessageTemplateInput{Name: ptr("Soon"), Variants: []hub.MessageVariant{
		{Language: "en", Kind: hub.KindEmail, Subject: "{{ voucher.title }} expires soon", Text: "Use {{ voucher.redeem_code }}"}}})
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.svc.CreateAutomation(a.ctx, a.biz, hub.AutomationInput{Name: ptr("Voucher expiring"), Enabled: ptr(true),
		Trigger: &hub.AutomationTrigger{Event: hub.TriggerVoucherExpiring},
		Actions: []hub.AutomationAction{{Type: hub.ActionSendMessage, TemplateID: &mt.ID}}}); err != nil {
		a.t.Fatal(err)
	}
}

// dispatch dispatches every event published so far.
func (a *automationFixture) dispatch() {
	a.t.Helper()
	if err := a.svc.DispatchEventKeys(a.ctx, a.pub.published()); err != nil {
		a.t.Fatal(err)
	}
}

// runAll runs every scheduled run and returns the outcomes.
func (a *automationFixture) runAll() []hub.RunOutcome {
	a.t.Helper()
	var out []hub.RunOutcome
	for _, k := range a.runs.take() {
		o, err := a.svc.RunAutomation(a.ctx, k)
		if err != nil {
			a.t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func TestNewBusinessGetsFourDisabledAutomations(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		a := newAutomationFixture(t, st)
		b, err := a.svc.CreateBusiness(a.ctx, hub.BusinessInput{Name: "Salon"})
		if err != nil {
			t.Fatal(err)
		}
		list, _, err := a.svc.Automations(a.ctx, b.ID, hub.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, au := range list {
			if au.Enabled {
				t.Errorf("%s is enabled", au.Name)
			}
			got = append(got, au.Trigger.Event)
			for _, act := range au.Actions {
				if act.Type == hub.ActionSendMessage {
					if _, err := a.svc.MessageTemplateByID(a.ctx, b.ID, *act.TemplateID); err != nil {
						t.Errorf("%s: template %v", au.Name, err)
					}
				}
			}
		}
		want := []string{"voucher_expiring", "goal_reached", "inactivity_trigger", "birthday_reached"} // newest first
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("triggers (-want +got):\n%s", d)
		}
		for i, prefix := range []string{"Voucher expiring", "Goal reached", "We miss you", "Birthday"} {
			if !strings.HasPrefix(list[i].Name, prefix) {
				t.Errorf("automation %d is %q, want a name starting with %q", i, list[i].Name, prefix)
			}
		}
	})
}

func TestGoalReachedAutomationSendsOncePerEvent(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		a := newAutomationFixture(t, st)
		cust := a.customer(1, []string{"email"}, false)
		mt, err := a.svc.CreateMessageTemplate(a.ctx, a.biz, hub.MessageTemplateInput{Name: ptr("Goal"), Variants: []hub.MessageVariant{
			{Language: "en", Kind: hub.KindEmail, Subject: "{{ voucher.title }} for you", Text: "Code {{ voucher.redeem_code }}"}}})
		if err != nil {
			t.Fatal(err)
		}
		vt, err := a.svc.CreateVoucherTemplate(a.ctx, a.biz, hub.VoucherTemplateInput{Title: "Extra cookie"})
		if err != nil {
			t.Fatal(err)
		}
		au, err := a.svc.CreateAutomation(a.ctx, a.biz, hub.AutomationInput{Name: ptr("Goal"), Enabled: ptr(true),
			Trigger: &hub.AutomationTrigger{Event: "goal_reached"}, DelaySeconds: ptr(60),
			Condition: json.RawMessage(`{"all": [{"field": "consent", "op": "eq", "value": "email"}]}`),
			Actions: []hub.AutomationAction{{Type: hub.ActionIssueVoucher, VoucherTemplateID: &vt.ID},
				{Type: hub.ActionSendMessage, TemplateID: &mt.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		cards, _, err := a.svc.Cards(a.ctx, hub.CardFilter{BusinessID: a.biz, CustomerID: cust.ID, Page: hub.Page{Limit: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.svc.AddStamps(a.ctx, a.pr, cards[0].ID, hub.AddStampsInput{Count: ptr(3)}); err != nil {
			t.Fatal(err)
		}
		a.dispatch()
		a.dispatch() // a repeated dispatch starts nothing new
		keys := a.runs.take()
		if len(keys) != 1 || keys[0].AutomationID != au.ID || !keys[0].RunAt.Equal(a.clock().Add(time.Minute)) {
			t.Fatalf("scheduled runs: %+v", keys)
		}
		a.runs.keys = keys
		if out := a.runAll(); out[0].Status != hub.RunPending {
			t.Fatalf("run before its delay: %+v", out)
		}
		a.advance(time.Minute)
		for range 2 { // a task delivered twice runs once
			a.runs.keys = keys
			a.runAll()
		}
		ds, _, err := a.svc.Deliveries(a.ctx, hub.DeliveryFilter{BusinessID: a.biz, CustomerID: cust.ID, Page: hub.Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		vs, _, err := a.svc.Vouchers(a.ctx, hub.VoucherFilter{BusinessID: a.biz, CustomerID: cust.ID, Status: "issued", Page: hub.Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		var extra *hub.Voucher
		for _, v := range vs {
			if v.Title == "Extra cookie" {
				if extra != nil {
					t.Fatalf("two vouchers issued")
				}
				extra = v
			}
		}
		if extra == nil || len(ds) != 1 {
			t.Fatalf("vouchers %+v, deliveries %d, want one of each", vs, len(ds))
		}
		want := hub.MessageContent{Subject: "Extra cookie for you", Text: "Code " + extra.RedeemCode}
		if d := cmp.Diff(want, ds[0].Content); d != "" || ds[0].Channel != hub.ChannelEmail {
			t.Errorf("message on %s (-want +got):\n%s", ds[0].Channel, d)
		}
		// A customer who fails the condition is skipped.
		other := a.customer(2, nil, false)
		oc, _, _ := a.svc.Cards(a.ctx, hub.CardFilter{BusinessID: a.biz, CustomerID: other.ID, Page: hub.Page{Limit: 1}})
		if _, err := a.svc.AddStamps(a.ctx, a.pr, oc[0].ID, hub.AddStampsInput{Count: ptr(3)}); err != nil {
			t.Fatal(err)
		}
		a.dispatch()
		a.advance(time.Minute)
		if out := a.runAll(); len(out) != 1 || out[0].Status != hub.RunSkipped || out[0].Reason != hub.ReasonCondition {
			t.Errorf("run of a customer outside the condition: %+v", out)
		}
	})
}

// birthdaySetup gives the fixture's business a time zone and customers with
// the birthdays, enables the birthday sweep days_before ahead, and returns
// the customers' ids by birthday.
func (a *automationFixture) birthdaySetup(tz string, daysBefore int, birthdays ...string) map[string]string {
	a.t.Helper()
	if _, err := a.svc.UpdateSettings(a.ctx, a.biz, json.RawMessage(fmt.Sprintf(
		`{"timezone": %q, "triggers": {"birthday": {"enabled": true, "days_before": %d, "local_time": "10:00"}}}`, tz, daysBefore))); err != nil {
		a.t.Fatal(err)
	}
	ids := map[string]string{}
	for i, b := range birthdays {
		c := a.customer(100+i, []string{"email"}, false)
		if _, err := a.svc.UpdateCustomer(a.ctx, a.biz, c.ID, hub.CustomerPatch{Birthday: ptr(b)}); err != nil {
			a.t.Fatal(err)
		}
		ids[b] = c.ID
	}
	return ids
}

// birthdayEvents lists the customers greeted so far.
func (a *automationFixture) birthdayEvents() []string {
	a.t.Helper()
	evs, _, err := a.svc.Events(a.ctx, hub.EventFilter{BusinessID: a.biz, Type: hub.BirthdayReached, Page: hub.Page{Limit: 100}})
	if err != nil {
		a.t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		ids = append(ids, *e.CustomerID)
	}
	return ids
}

func TestBirthdaySweepInTheBusinessTimeZoneOncePerYear(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		a := newAutomationFixture(t, st)
		// 2027-02-28 in Asia/Bangkok (UTC+7); 2027 is not a leap year.
		ids := a.birthdaySetup("Asia/Bangkok", 0, "1990-02-28", "1992-02-29", "1990-03-01", "1985-02-27")
		a.mu.Lock()
		a.now = time.Date(2027, 2, 28, 2, 59, 0, 0, time.UTC) // 09:59 in Bangkok: not yet
		a.mu.Unlock()
		if n, err := a.svc.SweepDue(a.ctx); err != nil || n != 0 {
			t.Fatalf("before 10:00 local: fired %d, %v", n, err)
		}
		a.advance(time.Minute) // 10:00 in Bangkok
		// Two schedulers at once fire each greeting once.
		var wg sync.WaitGroup
		counts := make([]int, 2)
		for i := range counts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := a.svc.SweepDue(a.ctx)
				if err != nil {
					t.Error(err)
				}
				counts[i] = n
			}()
		}
		wg.Wait()
		if counts[0]+counts[1] != 2 {
			t.Fatalf("two schedulers fired %v, want 2 in all", counts)
		}
		got := a.birthdayEvents()
		want := []string{ids["1990-02-28"], ids["1992-02-29"]}
		if d := cmp.Diff(want, got, cmpSorted); d != "" {
			t.Errorf("greeted (-want +got):\n%s", d)
		}
		// The operator's run for the same day fires nothing new.
		res, err := a.svc.RunSweep(a.ctx, hub.SweepBirthday, hub.SweepRunInput{BusinessID: &a.biz})
		if err != nil || res.Fired != 0 {
			t.Fatalf("operator run the same day: %+v %v", res, err)
		}
		// The workers were down for two days: the sweep catches up late.
		a.advance(48 * time.Hour) // 2027-03-02 10:00 in Bangkok
		n, err := a.svc.SweepDue(a.ctx)
		if err != nil || n != 1 {
			t.Fatalf("catch-up fired %d, %v; want the 1 March birthday", n, err)
		}
		// as_of a day in the past greets that day's customers (once).
		res, err = a.svc.RunSweep(a.ctx, hub.SweepBirthday, hub.SweepRunInput{BusinessID: &a.biz, AsOf: ptr(time.Date(2027, 2, 27, 5, 0, 0, 0, time.UTC))})
		if err != nil || res.Fired != 1 {
			t.Fatalf("as_of 27 February: %+v %v", res, err)
		}
		// A year later everyone is greeted again, 29 February on its day in a leap year.
		a.mu.Lock()
		a.now = time.Date(2028, 2, 29, 3, 0, 0, 0, time.UTC)
		a.mu.Unlock()
		if _, err := a.svc.RunSweep(a.ctx, hub.SweepBirthday, hub.SweepRunInput{BusinessID: &a.biz}); err != nil {
			t.Fatal(err)
		}
		if got := a.birthdayEvents(); len(got) != 5 || got[0] != ids["1992-02-29"] {
			t.Errorf("after the leap day: %v", got)
		}
	})
}

func TestBirthdaySweepDaysBeforeAcrossTheYearEnd(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		a := newAutomationFixture(t, st)
		ids := a.birthdaySetup("America/New_York", 3, "1990-01-02", "1990-12-30")
		a.mu.Lock()
		a.now = time.Date(2026, 12, 30, 15, 30, 0, 0, time.UTC) // 10:30 in New York, 30 December
		a.mu.Unlock()
		if n, err := a.svc.SweepDue(a.ctx); err != nil || n != 1 {
			t.Fatalf("fired %d, %v", n, err)
		}
		if got := a.birthdayEvents(); len(got) != 1 || got[0] != ids["1990-01-02"] {
			t.Errorf("greeted %v, want the 2 January birthday", got)
		}
	})
}

func TestInactivitySweepOncePerSpell(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		a := newAutomationFixture(t, st)
		if _, err := a.svc.UpdateSettings(a.ctx, a.biz, json.RawMessage(
			`{"timezone": "Europe/Kyiv", "triggers": {"inactivity": {"enabled": true, "days": 30, "local_time": "11:00"}}}`)); err != nil {
			t.Fatal(err)
		}
		c := a.customer(1, []string{"email"}, false)
		cards, _, _ := a.svc.Cards(a.ctx, hub.CardFilter{BusinessID: a.biz, CustomerID: c.ID, Page: hub.Page{Limit: 1}})
		if _, err := a.svc.AddStamps(a.ctx, a.pr, cards[0].ID, hub.AddStampsInput{}); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			t.Helper()
			evs, _, err := a.svc.Events(a.ctx, hub.EventFilter{BusinessID: a.biz, Type: hub.InactivityTrigger, Page: hub.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		a.advance(29 * 24 * time.Hour)
		if _, err := a.svc.SweepDue(a.ctx); err != nil || count() != 0 {
			t.Fatalf("after 29 days: %d events, %v", count(), err)
		}
		a.advance(2 * 24 * time.Hour)
		if _, err := a.svc.SweepDue(a.ctx); err != nil || count() != 1 {
			t.Fatalf("after 31 days: %d events, %v", count(), err)
		}
		a.advance(24 * time.Hour)
		if _, err := a.svc.SweepDue(a.ctx); err != nil || count() != 1 {
			t.Fatalf("the same spell fired again: %d events, %v", count(), err)
		}
		// A new stamp starts a new spell.
		if _, err := a.svc.AddStamps(a.ctx, a.pr, cards[0].ID, hub.AddStampsInput{}); err != nil {
			t.Fatal(err)
		}
		a.advance(31 * 24 * time.Hour)
		if _, err := a.svc.SweepDue(a.ctx); err != nil || count() != 2 {
			t.Fatalf("second spell: %d events, %v", count(), err)
		}
	})
}

func TestVoucherExpiringStartsAutomationsOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		a := newAutomationFixture(t, st)
		c := a.customer(1, []string{"email"}, false)
		a.voucherExpiringAutomation()
		// Now is 2026-05-11 12:00 UTC, after 12:00 local: the sweep of 11 May
		// reminds of vouchers expiring on 14 May (UTC).
		exp := func(d string) *string { return ptr(d) }
		for _, e := range []string{"2026-05-14T08:00:00Z", "2026-05-15T08:00:00Z", "2026-05-13T23:00:00Z"} {
			if _, err := a.svc.IssueVoucher(a.ctx, a.pr, hub.IssueVoucherInput{CustomerID: &c.ID, Title: ptr("Cake"), ExpiresAt: exp(e)}); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if _, err := a.svc.SweepDue(a.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := a.svc.RunSweep(a.ctx, hub.SweepVoucherExpiring, hub.SweepRunInput{}); err != nil {
			t.Fatal(err)
		}
		out := a.runAll()
		if len(out) != 1 || out[0].Status != hub.RunDone {
			t.Fatalf("runs: %+v, want one done", out)
		}
		ds, _, err := a.svc.Deliveries(a.ctx, hub.DeliveryFilter{BusinessID: a.biz, CustomerID: c.ID, Page: hub.Page{Limit: 10}})
		if err != nil || len(ds) != 1 || ds[0].Content.Subject != "Cake expires soon" {
			t.Fatalf("deliveries: %+v %v", ds, err)
		}
	})
}

// cmpSorted compares string slices as sets.
var cmpSorted = cmp.Transformer("sorted", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestBirthdaySweepOnDaylightSavingDays(t *testing.T) {
	for _, tc := range []struct {
		name, birthday, localTime string
		before, at                time.Time
	}{
		// 02:30 does not exist on 8 March 2026 in New York: the sweep runs at
		// the first instant after the gap, 03:00 EDT (07:00 UTC).
		{"spring forward", "1990-03-08", "02:30", time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC), time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		// 01:30 happens twice on 1 November 2026: the first time (EDT, 05:30 UTC).
		{"fall back", "1990-11-01", "01:30", time.Date(2026, 11, 1, 5, 29, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
				a := newAutomationFixture(t, st)
				a.birthdaySetup("America/New_York", 0, tc.birthday)
				if _, err := a.svc.UpdateSettings(a.ctx, a.biz, json.RawMessage(fmt.Sprintf(
					`{"triggers": {"birthday": {"local_time": %q}}}`, tc.localTime))); err != nil {
					t.Fatal(err)
				}
				a.mu.Lock()
				a.now = tc.before
				a.mu.Unlock()
				if n, err := a.svc.SweepDue(a.ctx); err != nil || n != 0 {
					t.Fatalf("a minute early: fired %d, %v", n, err)
				}
				a.mu.Lock()
				a.now = tc.at
				a.mu.Unlock()
				if n, err := a.svc.SweepDue(a.ctx); err != nil || n != 1 {
					t.Fatalf("on time: fired %d, %v", n, err)
				}
				a.advance(time.Hour) // the repeated hour comes round again
				if n, err := a.svc.SweepDue(a.ctx); err != nil || n != 0 {
					t.Fatalf("an hour later: fired %d, %v", n, err)
				}
			})
		})
	}
}
