package hub_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

func sale(order string, cust hub.SaleCustomer, total string, items ...hub.SaleItem) hub.SaleInput {
	return hub.SaleInput{Source: "till", OrderID: order, Customer: cust, Total: total, Currency: "EUR", Items: items}
}

func byPhone(p string) hub.SaleCustomer { return hub.SaleCustomer{Phone: &p} }

func (f *fixture) phoneCard(phone string) *hub.Card {
	f.t.Helper()
	c, _, err := f.svc.IssueCard(f.ctx, f.pr, hub.IssueCardInput{TemplateID: f.tpl.ID, Customer: hub.CustomerInput{Phone: &phone}})
	if err != nil {
		f.t.Fatalf("IssueCard: %v", err)
	}
	return c
}

func TestRecordSaleOncePerOrder(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		card := f.phoneCard("+380671234567")
		in := sale("A-1", byPhone("+38 (067) 123-45-67"), "4.50")
		first, created, err := f.svc.RecordSale(f.ctx, f.pr, in)
		if err != nil || !created {
			t.Fatalf("RecordSale = created %v, %v", created, err)
		}
		if first.Status != hub.SaleApplied || first.StampsAdded != 1 || *first.CardID != card.ID || first.Card.Stamps != 1 || first.Total != "4.50" {
			t.Errorf("first sale = %+v", first)
		}
		again, created, err := f.svc.RecordSale(f.ctx, f.pr, in)
		if err != nil || created || again.ID != first.ID || again.StampsAdded != 1 || again.Card.Stamps != 1 {
			t.Errorf("repeat = %+v created %v, %v", again, created, err)
		}
		// Later, with another total, still the first result.
		f.advance(48 * time.Hour)
		in.Total = "99.00"
		later, _, err := f.svc.RecordSale(f.ctx, f.pr, in)
		if err != nil || later.ID != first.ID || later.Total != "4.50" || later.Card.Stamps != 1 {
			t.Errorf("later repeat = %+v, %v", later, err)
		}
		got := f.events(hub.EventFilter{Type: hub.StampAdded})
		if len(got) != 1 {
			t.Errorf("stamp_added events = %v, want one", got)
		}
		evs, _, _ := f.svc.Events(f.ctx, hub.EventFilter{BusinessID: f.pr.Business.ID, Type: hub.StampAdded, Page: hub.Page{Limit: 5}})
		wantData := map[string]any{"count": float64(1), "sale": map[string]any{"id": first.ID, "source": "till", "order_id": "A-1"}}
		var ev hub.Event
		if err := json.Unmarshal(evs[0].Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantData, ev.Data); diff != "" {
			t.Errorf("stamp_added data (-want +got):\n%s", diff)
		}
	})
}

func TestRecordSaleConcurrentTwinsStampOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		card := f.phoneCard("+380671234567")
		const n = 12
		var wg sync.WaitGroup
		results := make(chan *hub.Sale, n)
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, _, err := f.svc.RecordSale(f.ctx, f.pr, sale("T-1", byPhone("+380671234567"), "4.50"))
				results <- s
				errs <- err
			}()
		}
		wg.Wait()
		close(results)
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent sale: %v", err)
			}
		}
		ids := map[string]bool{}
		for s := range results {
			ids[s.ID] = true
		}
		got, err := f.svc.Card(f.ctx, f.pr.Business.ID, card.ID)
		if err != nil || got.StampsTotal != 1 || len(ids) != 1 {
			t.Errorf("after %d twins: stamps_total=%d, sale ids %v, %v", n, got.StampsTotal, ids, err)
		}
	})
}

func TestRecordSaleUnmatchedThenIdentified(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		s, created, err := f.svc.RecordSale(f.ctx, f.pr, sale("U-1", hub.SaleCustomer{}, "4.50"))
		if err != nil || !created || s.Status != hub.SaleUnmatched || s.Card != nil || s.StampsAdded != 0 {
			t.Fatalf("sale without a customer = %+v, %v", s, err)
		}
		// Unknown phone: still unmatched, not an error.
		s, _, err = f.svc.RecordSale(f.ctx, f.pr, sale("U-1", byPhone("+380670000000"), "4.50"))
		if err != nil || s.Status != hub.SaleUnmatched {
			t.Fatalf("unknown phone = %+v, %v", s, err)
		}
		card := f.phoneCard("+380670000000")
		f.advance(23 * time.Hour)
		s, created, err = f.svc.RecordSale(f.ctx, f.pr, sale("U-1", hub.SaleCustomer{CardID: &card.ID}, "4.50"))
		if err != nil || created || s.Status != hub.SaleApplied || s.StampsAdded != 1 || s.Card.Stamps != 1 {
			t.Fatalf("identified within a day = %+v created %v, %v", s, created, err)
		}
		// Too late: a sale unmatched for more than 24 hours stays so.
		if _, _, err := f.svc.RecordSale(f.ctx, f.pr, sale("U-2", hub.SaleCustomer{}, "4.50")); err != nil {
			t.Fatal(err)
		}
		f.advance(25 * time.Hour)
		s, _, err = f.svc.RecordSale(f.ctx, f.pr, sale("U-2", hub.SaleCustomer{CardID: &card.ID}, "4.50"))
		if err != nil || s.Status != hub.SaleUnmatched {
			t.Errorf("identified after a day = %+v, %v", s, err)
		}
		list, _, err := f.svc.Sales(f.ctx, f.pr.Business.ID, hub.SaleUnmatched, hub.Page{})
		if err != nil || len(list) != 1 || list[0].OrderID != "U-2" {
			t.Errorf("unmatched sales = %v, %v", list, err)
		}
	})
}

func TestRecordSaleIdentifiesByCardOrWalletPassOfThisBusinessOnly(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		card := f.phoneCard("+380671234567")
		s, _, err := f.svc.RecordSale(f.ctx, f.pr, sale("W-1", hub.SaleCustomer{WalletPassID: &card.WalletPassID}, "1.00"))
		if err != nil || s.Status != hub.SaleApplied || *s.CardID != card.ID {
			t.Errorf("by wallet pass = %+v, %v", s, err)
		}
		other := f.business("Other", "bob")
		s, _, err = f.svc.RecordSale(f.ctx, other, sale("W-1", hub.SaleCustomer{CardID: &card.ID}, "1.00"))
		if err != nil || s.Status != hub.SaleUnmatched {
			t.Errorf("another business's card = %+v, %v", s, err)
		}
		got, _ := f.svc.Card(f.ctx, f.pr.Business.ID, card.ID)
		if got.StampsTotal != 1 {
			t.Errorf("stamps_total = %d, want 1", got.StampsTotal)
		}
	})
}

func TestRecordSaleFollowsTheEarningRule(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		card := f.phoneCard("+380671234567")
		max := 3
		_, err := f.svc.PatchCardTemplate(f.ctx, f.pr.Business.ID, f.tpl.ID, hub.CardTemplatePatch{Earning: &hub.Earning{
			Per: hub.EarnPerItem, MinTotal: "2.00", MaxStampsPerSale: &max,
			Items: []hub.EarningItem{{SKU: ptr("LATTE"), QuantityPerStamp: "1"}}}})
		if err != nil {
			t.Fatal(err)
		}
		latte := func(q string) hub.SaleItem { return hub.SaleItem{SKU: "LATTE", Quantity: jsonNum(q), Price: "3.20"} }
		tests := []struct {
			order string
			total string
			items []hub.SaleItem
			want  int
		}{
			{"R-1", "6.40", []hub.SaleItem{latte("2")}, 2},
			{"R-2", "1.99", []hub.SaleItem{latte("1")}, 0},  // under the minimum check
			{"R-3", "16.00", []hub.SaleItem{latte("5")}, 3}, // capped per check
			{"R-4", "5.00", []hub.SaleItem{{SKU: "TEA", Quantity: "4", Price: "1.25"}}, 0},
		}
		total := 0
		for _, tt := range tests {
			s, _, err := f.svc.RecordSale(f.ctx, f.pr, sale(tt.order, byPhone("+380671234567"), tt.total, tt.items...))
			if err != nil || s.StampsAdded != tt.want || s.Status != hub.SaleApplied {
				t.Errorf("%s: stamps %d, status %s, %v; want %d", tt.order, s.StampsAdded, s.Status, err, tt.want)
			}
			total += tt.want
		}
		got, _ := f.svc.Card(f.ctx, f.pr.Business.ID, card.ID)
		if got.StampsTotal != total {
			t.Errorf("stamps_total = %d, want %d", got.StampsTotal, total)
		}
		if n := len(f.events(hub.EventFilter{Type: hub.StampAdded})); n != 2 {
			t.Errorf("stamp_added events = %d, want 2 (sales earning nothing record none)", n)
		}
	})
}

func TestRecordSaleRefusesBadInputAndWritesNothing(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		f.phoneCard("+380671234567")
		good := sale("B-1", byPhone("+380671234567"), "4.50", hub.SaleItem{SKU: "A", Quantity: "1", Price: "4.50"})
		tests := []struct {
			name  string
			edit  func(*hub.SaleInput)
			field string
		}{
			{"no source", func(s *hub.SaleInput) { s.Source = "" }, "source"},
			{"source with capitals", func(s *hub.SaleInput) { s.Source = "Poster" }, "source"},
			{"no order", func(s *hub.SaleInput) { s.OrderID = "" }, "order_id"},
			{"order with a space", func(s *hub.SaleInput) { s.OrderID = "a b" }, "order_id"},
			{"float total", func(s *hub.SaleInput) { s.Total = "4.5e0" }, "total"},
			{"negative total", func(s *hub.SaleInput) { s.Total = "-4.50" }, "total"},
			{"no total", func(s *hub.SaleInput) { s.Total = "" }, "total"},
			{"lower-case currency", func(s *hub.SaleInput) { s.Currency = "eur" }, "currency"},
			{"bad phone", func(s *hub.SaleInput) { s.Customer = byPhone("call me") }, "customer.phone"},
			{"bad card id", func(s *hub.SaleInput) { s.Customer = hub.SaleCustomer{CardID: ptr("v_123")} }, "customer.card_id"},
			{"zero quantity", func(s *hub.SaleInput) { s.Items[0].Quantity = "0" }, "items[0].quantity"},
			{"no sku", func(s *hub.SaleInput) { s.Items[0].SKU = "" }, "items[0].sku"},
			{"bad price", func(s *hub.SaleInput) { s.Items[0].Price = "free" }, "items[0].price"},
			{"bad closed_at", func(s *hub.SaleInput) { s.ClosedAt = ptr("yesterday") }, "closed_at"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := good
				in.Items = append([]hub.SaleItem(nil), good.Items...)
				tt.edit(&in)
				_, _, err := f.svc.RecordSale(f.ctx, f.pr, in)
				wantCode(t, err, hub.EValidation)
				var e *hub.Error
				if !asError(err, &e) || e.Fields[tt.field] == "" {
					t.Errorf("fields = %v, want %s", e.Fields, tt.field)
				}
			})
		}
		if list, _, _ := f.svc.Sales(f.ctx, f.pr.Business.ID, "", hub.Page{}); len(list) != 0 {
			t.Errorf("sales after refused input = %d", len(list))
		}
		_, _, err := f.svc.RecordSale(f.ctx, f.pr, hub.SaleInput{Source: "till", OrderID: "L-1", Total: "1", Currency: "EUR", LocationID: ptr("loc_01JTZ5Q2A7B8C9D0E1F2G3H4J6")})
		wantCode(t, err, hub.ENotFound)
	})
}

func TestRefundSale(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st) // goals at 3 and 5
		card := f.phoneCard("+380671234567")
		if _, err := f.svc.AddStamps(f.ctx, f.pr, card.ID, hub.AddStampsInput{Count: ptr(1)}); err != nil {
			t.Fatal(err)
		}
		max := 10
		if _, err := f.svc.PatchCardTemplate(f.ctx, f.pr.Business.ID, f.tpl.ID, hub.CardTemplatePatch{Earning: &hub.Earning{
			Per: hub.EarnPerAmount, AmountPerStamp: ptr("1.00"), MaxStampsPerSale: &max}}); err != nil {
			t.Fatal(err)
		}
		// 3 stamps: 1 -> 4, crossing the goal at 3 (reward A).
		s, _, err := f.svc.RecordSale(f.ctx, f.pr, sale("F-1", byPhone("+380671234567"), "3.00"))
		if err != nil || s.StampsAdded != 3 || s.Card.GoalIndex != 1 {
			t.Fatalf("sale = %+v, %v", s, err)
		}
		vs, _, _ := f.svc.Vouchers(f.ctx, hub.VoucherFilter{BusinessID: f.pr.Business.ID, Page: hub.Page{Limit: 10}})
		if len(vs) != 1 {
			t.Fatalf("rewards = %d", len(vs))
		}
		if _, err := f.svc.RedeemVoucher(f.ctx, f.pr, vs[0].ID, hub.RedeemInput{}); err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.RefundSale(f.ctx, f.pr, "till", "F-1")
		if err != nil || res.StampsRemoved != 3 || res.Card.Stamps != 1 || res.Card.StampsTotal != 1 || res.Card.GoalIndex != 1 {
			t.Fatalf("refund after the reward was redeemed = %+v (card %+v), %v", res, res.Card, err)
		}
		v, _ := f.svc.Voucher(f.ctx, f.pr.Business.ID, vs[0].ID)
		if v.Status != hub.VoucherRedeemed {
			t.Errorf("redeemed reward after refund: %s", v.Status)
		}
		again, err := f.svc.RefundSale(f.ctx, f.pr, "till", "F-1")
		if err != nil || again.StampsRemoved != 3 || again.Card.Stamps != 1 {
			t.Errorf("second refund = %+v, %v", again, err)
		}
		if n := len(f.events(hub.EventFilter{Type: hub.SaleRefundedEv})); n != 1 {
			t.Errorf("sale_refunded events = %d, want 1", n)
		}
		// A sale whose reward was not redeemed: the reward expires, the goal can be reached again.
		s, _, err = f.svc.RecordSale(f.ctx, f.pr, sale("F-2", byPhone("+380671234567"), "4.00")) // 1 -> 5: goal B, new cycle
		if err != nil || s.Card.Cycle != 2 {
			t.Fatalf("second sale = %+v, %v", s, err)
		}
		res, err = f.svc.RefundSale(f.ctx, f.pr, "till", "F-2")
		if err != nil || res.StampsRemoved != 0 || res.Card.Stamps != 0 {
			t.Errorf("refund after the cycle ended = %+v, %v (a finished cycle is not reopened)", res, err)
		}
		vs, _, _ = f.svc.Vouchers(f.ctx, hub.VoucherFilter{BusinessID: f.pr.Business.ID, Status: hub.VoucherExpired, Page: hub.Page{Limit: 10}})
		if len(vs) != 1 || *vs[0].GoalIndex != 1 {
			t.Errorf("expired rewards = %+v, want goal B's", vs)
		}
		// Refunding an unknown order is 404; an unmatched sale refunds nothing and is never applied.
		_, err = f.svc.RefundSale(f.ctx, f.pr, "till", "nope")
		wantCode(t, err, hub.ENotFound)
		if _, _, err := f.svc.RecordSale(f.ctx, f.pr, sale("F-3", hub.SaleCustomer{}, "2.00")); err != nil {
			t.Fatal(err)
		}
		res, err = f.svc.RefundSale(f.ctx, f.pr, "till", "F-3")
		if err != nil || res.StampsRemoved != 0 || res.Card != nil {
			t.Errorf("refund of an unmatched sale = %+v, %v", res, err)
		}
		s, _, err = f.svc.RecordSale(f.ctx, f.pr, sale("F-3", byPhone("+380671234567"), "2.00"))
		if err != nil || s.Status != hub.SaleRefunded || s.StampsAdded != 0 {
			t.Errorf("a refunded sale posted again = %+v, %v", s, err)
		}
	})
}

func TestRefundTakesBackAnUnredeemedRewardsGoal(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st) // goals at 3 and 5
		f.phoneCard("+380671234567")
		if _, err := f.svc.PatchCardTemplate(f.ctx, f.pr.Business.ID, f.tpl.ID, hub.CardTemplatePatch{Earning: &hub.Earning{
			Per: hub.EarnPerAmount, AmountPerStamp: ptr("1.00")}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.RecordSale(f.ctx, f.pr, sale("G-1", byPhone("+380671234567"), "4.00")); err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.RefundSale(f.ctx, f.pr, "till", "G-1")
		if err != nil || res.StampsRemoved != 4 || res.Card.Stamps != 0 || res.Card.GoalIndex != 0 {
			t.Fatalf("refund = %+v (card %+v), %v", res, res.Card, err)
		}
		if got := f.events(hub.EventFilter{}); !cmp.Equal(got[len(got)-2:], []hub.EventType{hub.SaleRefundedEv, hub.VoucherExpiredEv}) {
			t.Errorf("events end with %v", got[len(got)-2:])
		}
		// Reaching the goal again issues a new reward.
		s, _, err := f.svc.RecordSale(f.ctx, f.pr, sale("G-2", byPhone("+380671234567"), "3.00"))
		if err != nil || len(f.events(hub.EventFilter{Type: hub.RewardIssued})) != 2 || s.Card.GoalIndex != 1 {
			t.Errorf("goal reached again: %+v, %v", s, err)
		}
	})
}

func jsonNum(s string) hub.Quantity { return hub.Quantity(s) }

func asError(err error, target **hub.Error) bool { return errors.As(err, target) }
