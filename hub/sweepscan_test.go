package hub_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// scanWatchTx watches where the sweeps scan for their subjects.
type scanWatchTx struct {
	hub.Tx
	watchMark
}

func (t scanWatchTx) BirthdayCustomers(ctx context.Context, businessID string, monthDays []string, afterID string, limit int) ([]*hub.Customer, error) {
	defer t.seen()
	return t.Tx.BirthdayCustomers(ctx, businessID, monthDays, afterID, limit)
}

func (t scanWatchTx) InactiveCards(ctx context.Context, businessID string, from, to time.Time, afterID string, limit int) ([]*hub.Card, error) {
	defer t.seen()
	return t.Tx.InactiveCards(ctx, businessID, from, to, afterID, limit)
}

func (t scanWatchTx) ExpiringVouchers(ctx context.Context, businessID string, from, to time.Time, afterID string, limit int) ([]*hub.Voucher, error) {
	defer t.seen()
	return t.Tx.ExpiringVouchers(ctx, businessID, from, to, afterID, limit)
}

// TestSweepsScanOutsideTheWriter: the sweeps read their subjects in read
// transactions (a scan of a million customers in a write held SQLite's one
// writer, and every business's writes, for half a second), and what changed
// between the scan and the write is not fired: a card stamped meanwhile
// starts a new spell, a voucher redeemed meanwhile needs no reminder.
func TestSweepsScanOutsideTheWriter(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		a := newAutomationFixture(t, st)
		watch := &txWatch{}
		a.useStore(watch.store(st, func(tx hub.Tx, mark watchMark) hub.Tx { return scanWatchTx{tx, mark} }))
		if _, err := a.svc.UpdateSettings(a.ctx, a.biz, json.RawMessage(
			`{"triggers": {"inactivity": {"enabled": true, "days": 30, "local_time": "11:00"}}}`)); err != nil {
			t.Fatal(err)
		}
		quiet, stamped := a.customer(1, []string{"email"}, false), a.customer(2, []string{"email"}, false)
		card := func(c *hub.Customer) *hub.Card {
			t.Helper()
			cards, _, err := a.svc.Cards(a.ctx, hub.CardFilter{BusinessID: a.biz, CustomerID: c.ID, Page: hub.Page{Limit: 1}})
			if err != nil || len(cards) != 1 {
				t.Fatalf("cards of %s: %v %v", c.ID, cards, err)
			}
			return cards[0]
		}
		quietCard, stampedCard := card(quiet), card(stamped)
		a.voucherExpiringAutomation()
		a.advance(31 * 24 * time.Hour)
		expires := a.clock().Add(3*24*time.Hour + time.Hour).Format(time.RFC3339)
		var vouchers []*hub.Voucher
		for range 2 {
			v, err := a.svc.IssueVoucher(a.ctx, a.pr, hub.IssueVoucherInput{CustomerID: &quiet.ID, Title: ptr("Cake"), ExpiresAt: &expires})
			if err != nil {
				t.Fatal(err)
			}
			vouchers = append(vouchers, v)
		}

		// Between the scans and their writes one card is stamped and one
		// voucher redeemed.
		var changed bool
		watch.afterRead = func() {
			if changed {
				return
			}
			changed = true
			if _, err := a.svc.AddStamps(a.ctx, a.pr, stampedCard.ID, hub.AddStampsInput{}); err != nil {
				t.Error(err)
			}
			if _, err := a.svc.RedeemVoucher(a.ctx, a.pr, vouchers[1].ID, hub.RedeemInput{}); err != nil {
				t.Error(err)
			}
		}
		for _, kind := range []string{hub.SweepInactivity, hub.SweepVoucherExpiring} {
			if _, err := a.svc.RunSweep(a.ctx, kind, hub.SweepRunInput{}); err != nil {
				t.Fatal(err)
			}
		}
		if !changed {
			t.Fatal("no scan ran in a read transaction")
		}
		if n := watch.inWrite.Load(); n != 0 {
			t.Errorf("%d scans inside write transactions, want 0", n)
		}
		evs, _, err := a.svc.Events(a.ctx, hub.EventFilter{BusinessID: a.biz, Type: hub.InactivityTrigger, Page: hub.Page{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].CardID == nil || *evs[0].CardID != quietCard.ID {
			t.Errorf("inactivity events %+v, want one, for the card nobody stamped", evs)
		}
		var forVouchers []string
		for _, k := range a.runs.keys {
			forVouchers = append(forVouchers, k.TriggerKey)
		}
		if want := []string{hub.TriggerVoucherExpiring + ":" + vouchers[0].ID}; len(forVouchers) != 1 || forVouchers[0] != want[0] {
			t.Errorf("reminders %v, want %v (not the redeemed voucher)", forVouchers, want)
		}
	})
}
