package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRoundTrip(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		wantCard := *w.card
		wantCard.Customer = w.customer
		tests := []struct {
			name string
			want any
			get  func(tx hub.Tx) (any, error)
		}{
			{"business", w.biz, func(tx hub.Tx) (any, error) { return tx.Business(ctx, w.biz.ID) }},
			{"business by name", w.biz, func(tx hub.Tx) (any, error) { return tx.BusinessByName(ctx, w.biz.Name) }},
			{"business of card", w.biz, func(tx hub.Tx) (any, error) { return tx.BusinessOfCard(ctx, w.card.ID) }},
			{"location", w.loc, func(tx hub.Tx) (any, error) { return tx.Location(ctx, w.biz.ID, w.loc.ID) }},
			{"staff", w.staff, func(tx hub.Tx) (any, error) { return tx.StaffByLogin(ctx, w.biz.ID, "till") }},
			{"api key", w.key, func(tx hub.Tx) (any, error) { return tx.APIKey(ctx, w.biz.ID, w.key.ID) }},
			{"api keys", []*hub.APIKey{w.key}, func(tx hub.Tx) (any, error) { return tx.APIKeys(ctx, w.biz.ID) }},
			{"principal", &hub.Principal{KeyID: w.key.ID, Business: *w.biz, Staff: *w.staff},
				func(tx hub.Tx) (any, error) { return tx.PrincipalByKeyHash(ctx, w.key.Hash) }},
			{"card template", w.tpl, func(tx hub.Tx) (any, error) { return tx.CardTemplate(ctx, w.biz.ID, w.tpl.ID) }},
			{"card templates", []*hub.CardTemplate{w.tpl}, func(tx hub.Tx) (any, error) { return tx.CardTemplates(ctx, w.biz.ID, hub.Page{}) }},
			{"voucher template", w.vtpl, func(tx hub.Tx) (any, error) { return tx.VoucherTemplate(ctx, w.biz.ID, w.vtpl.ID) }},
			{"customer", w.customer, func(tx hub.Tx) (any, error) { return tx.Customer(ctx, w.biz.ID, w.customer.ID) }},
			{"customer by email", w.customer, func(tx hub.Tx) (any, error) {
				return tx.CustomerByContact(ctx, w.biz.ID, "ann@example.com", "+1")
			}},
			{"customer by phone", w.customer, func(tx hub.Tx) (any, error) {
				return tx.CustomerByContact(ctx, w.biz.ID, "", "+380671234567")
			}},
			{"customers", []*hub.Customer{w.customer}, func(tx hub.Tx) (any, error) {
				return tx.Customers(ctx, hub.CustomerFilter{BusinessID: w.biz.ID})
			}},
			{"card", &wantCard, func(tx hub.Tx) (any, error) { return tx.Card(ctx, w.biz.ID, w.card.ID, false) }},
			{"card by customer and template", &wantCard, func(tx hub.Tx) (any, error) {
				return tx.CardByCustomerTemplate(ctx, w.biz.ID, w.customer.ID, w.tpl.ID)
			}},
			{"cards", []*hub.Card{&wantCard}, func(tx hub.Tx) (any, error) { return tx.Cards(ctx, hub.CardFilter{BusinessID: w.biz.ID}) }},
			{"voucher", w.voucher, func(tx hub.Tx) (any, error) { return tx.Voucher(ctx, w.biz.ID, w.voucher.ID, false) }},
			{"voucher by code", w.voucher, func(tx hub.Tx) (any, error) {
				return tx.VoucherByCode(ctx, w.biz.ID, w.voucher.RedeemCode, false)
			}},
			{"vouchers", []*hub.Voucher{w.voucher}, func(tx hub.Tx) (any, error) {
				return tx.Vouchers(ctx, hub.VoucherFilter{BusinessID: w.biz.ID})
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var got any
				read(t, s, func(tx hub.Tx) error {
					var err error
					got, err = tc.get(tx)
					return err
				})
				diff(t, tc.name, tc.want, got)
			})
		}
	})
}

func TestRoundTripNullsAndPrecision(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		kyiv := time.FixedZone("Kyiv", 3*3600)
		// Nanoseconds and a zone: stored in UTC with milliseconds.
		at := time.Date(2026, 1, 2, 3, 4, 5, 678_912_345, kyiv)
		c := &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: w.biz.ID, Phone: ptr("+15550001111"),
			Language: "en", CreatedAt: at, UpdatedAt: at}
		tpl := &hub.CardTemplate{ID: hub.NewID(hub.PrefixCardTemplate), BusinessID: w.biz.ID, Name: "Plain",
			Goals: []hub.Goal{{Stamps: 3, Reward: hub.Reward{Title: "Tea"}}}, CreatedAt: at}
		vt := &hub.VoucherTemplate{ID: hub.NewID(hub.PrefixVoucherTemplate), BusinessID: w.biz.ID, Title: "Bare", CreatedAt: at}
		v := &hub.Voucher{ID: hub.NewID(hub.PrefixVoucher), BusinessID: w.biz.ID, Type: hub.VoucherTypeVoucher, Title: "Bare",
			RedeemCode: "BARE0001", Status: hub.VoucherIssued, CustomerID: c.ID, CreatedAt: at}
		write(t, s, func(tx hub.Tx) error {
			return errors.Join(tx.CreateCustomer(ctx, c), tx.CreateCardTemplate(ctx, tpl),
				tx.CreateVoucherTemplate(ctx, vt), tx.CreateVoucher(ctx, v))
		})
		stored := at.UTC().Truncate(time.Millisecond)
		read(t, s, func(tx hub.Tx) error {
			gotC, err := tx.Customer(ctx, w.biz.ID, c.ID)
			if err != nil {
				return err
			}
			if gotC.CreatedAt.Location() != time.UTC || !gotC.CreatedAt.Equal(stored) || gotC.CreatedAt.Nanosecond() != 678_000_000 {
				t.Errorf("CreatedAt = %v, want %v in UTC", gotC.CreatedAt, stored)
			}
			wantC := *c
			wantC.CreatedAt, wantC.UpdatedAt = stored, stored
			diff(t, "customer", &wantC, gotC)
			gotT, err := tx.CardTemplate(ctx, w.biz.ID, tpl.ID)
			if err != nil {
				return err
			}
			wantT := *tpl
			wantT.CreatedAt = stored
			diff(t, "template", &wantT, gotT)
			gotVT, err := tx.VoucherTemplate(ctx, w.biz.ID, vt.ID)
			if err != nil {
				return err
			}
			wantVT := *vt
			wantVT.CreatedAt = stored
			diff(t, "voucher template", &wantVT, gotVT)
			gotV, err := tx.Voucher(ctx, w.biz.ID, v.ID, false)
			if err != nil {
				return err
			}
			wantV := *v
			wantV.CreatedAt = stored
			diff(t, "voucher", &wantV, gotV)
			return nil
		})
	})
}

func TestUpdates(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		t1 := t0.Add(time.Hour)

		key := *w.key
		key.Hash, key.MaskedKey, key.Status = hub.HashAPIKey("new"), "7loc_sc_…wxyz", hub.KeyRevoked
		cust := *w.customer
		cust.Email, cust.Phone, cust.Name, cust.Birthday, cust.WalletPassID = ptr("bob@example.com"), nil, ptr("Bob"), nil, ptr("wp_y")
		cust.Language = "en"
		cust.Consent = map[string]hub.Consent{"sms": {Granted: false, Source: "pos", At: t1}}
		cust.UpdatedAt = t1
		card := *w.card
		card.Stamps, card.StampsTotal, card.GoalIndex, card.Cycle, card.Status = 7, 17, 1, 3, "active"
		card.UpdatedAt, card.LastStampAt, card.LastOpenedAt = t1, &t1, &t1
		v := *w.voucher
		v.Status, v.RedeemedAt, v.RedeemedVia, v.LocationID = hub.VoucherRedeemed, &t1, ptr("pos"), &w.loc.ID

		write(t, s, func(tx hub.Tx) error {
			return errors.Join(tx.UpdateAPIKey(ctx, &key), tx.UpdateCustomer(ctx, &cust), tx.UpdateCard(ctx, &card),
				tx.UpdateVoucher(ctx, &v), tx.TouchAPIKey(ctx, key.ID, t1))
		})
		key.LastUsedAt = &t1
		card.Customer = &cust
		read(t, s, func(tx hub.Tx) error {
			gotK, err := tx.APIKey(ctx, w.biz.ID, key.ID)
			if err != nil {
				return err
			}
			diff(t, "api key", &key, gotK)
			gotC, err := tx.Customer(ctx, w.biz.ID, cust.ID)
			if err != nil {
				return err
			}
			diff(t, "customer", &cust, gotC)
			gotCard, err := tx.Card(ctx, w.biz.ID, card.ID, false)
			if err != nil {
				return err
			}
			diff(t, "card", &card, gotCard)
			gotV, err := tx.Voucher(ctx, w.biz.ID, v.ID, false)
			if err != nil {
				return err
			}
			diff(t, "voucher", &v, gotV)
			return nil
		})
	})
}

func TestAPIKeys(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		// Revoke the key, then a new active key for the same login is fine.
		revoked := *w.key
		revoked.Status = hub.KeyRevoked
		second := &hub.APIKey{ID: hub.NewID(hub.PrefixAPIKey), BusinessID: w.biz.ID, StaffID: w.staff.ID, Name: "new",
			Login: "till", MaskedKey: "7loc_sc_…abcd", Status: hub.KeyActive, CreatedAt: t0.Add(time.Second), Hash: hub.HashAPIKey("second")}
		write(t, s, func(tx hub.Tx) error {
			return errors.Join(tx.UpdateAPIKey(ctx, &revoked), tx.CreateAPIKey(ctx, second))
		})
		read(t, s, func(tx hub.Tx) error {
			keys, err := tx.APIKeys(ctx, w.biz.ID)
			if err != nil {
				return err
			}
			diff(t, "keys, newest first", []*hub.APIKey{second, &revoked}, keys)
			if _, err := tx.PrincipalByKeyHash(ctx, w.key.Hash); hub.ErrorCode(err) != hub.ENotFound {
				t.Errorf("revoked key: err = %v, want not_found", err)
			}
			p, err := tx.PrincipalByKeyHash(ctx, second.Hash)
			if err != nil {
				return err
			}
			diff(t, "principal", &hub.Principal{KeyID: second.ID, Business: *w.biz, Staff: *w.staff}, p)
			return nil
		})
		// Re-activating the revoked key while the second is active conflicts.
		err := s.Write(ctx, func(tx hub.Tx) error {
			again := revoked
			again.Status = hub.KeyActive
			return tx.UpdateAPIKey(ctx, &again)
		})
		wantCode(t, err, hub.EConflict)
	})
}

func TestTenantScoping(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		a, b := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		other := b.biz.ID
		tests := []struct {
			name string
			kind string
			call func(tx hub.Tx) error
		}{
			{"location", "location", func(tx hub.Tx) error { _, err := tx.Location(ctx, other, a.loc.ID); return err }},
			{"staff", "staff", func(tx hub.Tx) error { _, err := tx.StaffByLogin(ctx, hub.NewID("b"), "till"); return err }},
			{"api key", "api key", func(tx hub.Tx) error { _, err := tx.APIKey(ctx, other, a.key.ID); return err }},
			{"card template", "card template", func(tx hub.Tx) error { _, err := tx.CardTemplate(ctx, other, a.tpl.ID); return err }},
			{"voucher template", "voucher template", func(tx hub.Tx) error { _, err := tx.VoucherTemplate(ctx, other, a.vtpl.ID); return err }},
			{"customer", "customer", func(tx hub.Tx) error { _, err := tx.Customer(ctx, other, a.customer.ID); return err }},
			{"customer by contact", "customer", func(tx hub.Tx) error {
				_, err := tx.CustomerByContact(ctx, hub.NewID("b"), "ann@example.com", "")
				return err
			}},
			{"customer without contact", "customer", func(tx hub.Tx) error { _, err := tx.CustomerByContact(ctx, a.biz.ID, "", ""); return err }},
			{"card", "card", func(tx hub.Tx) error { _, err := tx.Card(ctx, other, a.card.ID, false); return err }},
			{"card by customer", "card", func(tx hub.Tx) error {
				_, err := tx.CardByCustomerTemplate(ctx, other, a.customer.ID, a.tpl.ID)
				return err
			}},
			{"business of unknown card", "card", func(tx hub.Tx) error { _, err := tx.BusinessOfCard(ctx, hub.NewID("card")); return err }},
			{"voucher", "voucher", func(tx hub.Tx) error { _, err := tx.Voucher(ctx, other, a.voucher.ID, false); return err }},
			{"voucher by code", "voucher", func(tx hub.Tx) error {
				_, err := tx.VoucherByCode(ctx, other, a.voucher.RedeemCode, false)
				return err
			}},
			{"event", "event", func(tx hub.Tx) error { _, err := tx.Event(ctx, other, "evt_x"); return err }},
			{"business", "business", func(tx hub.Tx) error { _, err := tx.Business(ctx, hub.NewID("b")); return err }},
			{"business by name", "business", func(tx hub.Tx) error { _, err := tx.BusinessByName(ctx, "nobody"); return err }},
			{"principal", "api key", func(tx hub.Tx) error { _, err := tx.PrincipalByKeyHash(ctx, "nope"); return err }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := s.Read(ctx, tc.call)
				wantCode(t, err, hub.ENotFound)
				if want := tc.kind + " not found"; hub.ErrorMessage(err) != want {
					t.Errorf("message = %q, want %q", hub.ErrorMessage(err), want)
				}
			})
		}

		writes := []struct {
			name string
			call func(tx hub.Tx) error
		}{
			{"update api key", func(tx hub.Tx) error { k := *a.key; k.BusinessID = other; return tx.UpdateAPIKey(ctx, &k) }},
			{"update customer", func(tx hub.Tx) error { c := *a.customer; c.BusinessID = other; return tx.UpdateCustomer(ctx, &c) }},
			{"update card", func(tx hub.Tx) error { c := *a.card; c.BusinessID = other; return tx.UpdateCard(ctx, &c) }},
			{"update voucher", func(tx hub.Tx) error { v := *a.voucher; v.BusinessID = other; return tx.UpdateVoucher(ctx, &v) }},
			{"touch unknown key", func(tx hub.Tx) error { return tx.TouchAPIKey(ctx, "key_x", t0) }},
			{"complete unknown idempotency key", func(tx hub.Tx) error {
				return tx.CompleteIdempotencyKey(ctx, &hub.IdempotencyRecord{BusinessID: a.biz.ID, Key: "nope"})
			}},
			{"card for update", func(tx hub.Tx) error { _, err := tx.Card(ctx, other, a.card.ID, true); return err }},
			{"voucher for update", func(tx hub.Tx) error { _, err := tx.Voucher(ctx, other, a.voucher.ID, true); return err }},
		}
		for _, tc := range writes {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.Write(ctx, tc.call), hub.ENotFound)
			})
		}

		t.Run("lists", func(t *testing.T) {
			read(t, s, func(tx hub.Tx) error {
				cards, err := tx.Cards(ctx, hub.CardFilter{BusinessID: other, CustomerID: a.customer.ID})
				if err != nil {
					return err
				}
				vs, err := tx.Vouchers(ctx, hub.VoucherFilter{BusinessID: other, RedeemCode: a.voucher.RedeemCode})
				if err != nil {
					return err
				}
				cs, err := tx.Customers(ctx, hub.CustomerFilter{BusinessID: other, Email: "ann@example.com"})
				if err != nil {
					return err
				}
				if len(cards) != 0 || len(vs) != 0 || len(cs) != 1 || cs[0].ID != b.customer.ID {
					t.Errorf("lists crossed businesses: %d cards, %d vouchers, customers %v", len(cards), len(vs), cs)
				}
				return nil
			})
		})
	})
}

func TestConflicts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		other := addCustomer(t, s, w.biz.ID, "bob@example.com")
		tests := []struct {
			name    string
			message string
			call    func(tx hub.Tx) error
		}{
			{"staff login", "a staff login with this name exists", func(tx hub.Tx) error {
				return tx.CreateStaff(ctx, &hub.Staff{ID: hub.NewID("stf"), BusinessID: w.biz.ID, Login: "till", CreatedAt: t0})
			}},
			{"second active key", "the staff login already has an active API key", func(tx hub.Tx) error {
				return tx.CreateAPIKey(ctx, &hub.APIKey{ID: hub.NewID("key"), BusinessID: w.biz.ID, StaffID: w.staff.ID,
					MaskedKey: "m", Status: hub.KeyActive, Hash: "other", CreatedAt: t0})
			}},
			{"redeem code", "a voucher with this redeem code exists", func(tx hub.Tx) error {
				v := *w.voucher
				v.ID = hub.NewID("v")
				return tx.CreateVoucher(ctx, &v)
			}},
			{"card per template", "the customer already holds a card of this template", func(tx hub.Tx) error {
				c := *w.card
				c.ID = hub.NewID("card")
				return tx.CreateCard(ctx, &c)
			}},
			{"customer email", "a customer with this email exists", func(tx hub.Tx) error {
				return tx.CreateCustomer(ctx, &hub.Customer{ID: hub.NewID("c"), BusinessID: w.biz.ID, Email: ptr("ann@example.com"),
					Language: "en", CreatedAt: t0, UpdatedAt: t0})
			}},
			{"customer phone", "a customer with this phone exists", func(tx hub.Tx) error {
				return tx.CreateCustomer(ctx, &hub.Customer{ID: hub.NewID("c"), BusinessID: w.biz.ID, Phone: w.customer.Phone,
					Language: "en", CreatedAt: t0, UpdatedAt: t0})
			}},
			{"customer email on update", "a customer with this email exists", func(tx hub.Tx) error {
				c := *other
				c.Email = ptr("ann@example.com")
				return tx.UpdateCustomer(ctx, &c)
			}},
			{"same id", "business already exists", func(tx hub.Tx) error { return tx.CreateBusiness(ctx, w.biz) }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var inner error
				// The transaction stays usable after the conflict, on both
				// databases, and commits what else it wrote.
				loc := &hub.Location{ID: hub.NewID("loc"), BusinessID: w.biz.ID, Name: tc.name, CreatedAt: t0}
				write(t, s, func(tx hub.Tx) error {
					inner = tc.call(tx)
					if _, err := tx.Card(ctx, w.biz.ID, w.card.ID, true); err != nil {
						return err
					}
					return tx.CreateLocation(ctx, loc)
				})
				wantCode(t, inner, hub.EConflict)
				if got := hub.ErrorMessage(inner); got != tc.message {
					t.Errorf("message = %q, want %q", got, tc.message)
				}
				read(t, s, func(tx hub.Tx) error { _, err := tx.Location(ctx, w.biz.ID, loc.ID); return err })
				// Returned from Write, the conflict rolls back.
				wantCode(t, s.Write(ctx, tc.call), hub.EConflict)
			})
		}
		t.Run("other business may reuse", func(t *testing.T) {
			w2 := newWorld(t, s) // same login, email, phone
			v := *w.voucher
			v.ID, v.BusinessID, v.CustomerID, v.CardID, v.TemplateID = hub.NewID("v"), w2.biz.ID, w2.customer.ID, nil, nil
			write(t, s, func(tx hub.Tx) error { return tx.CreateVoucher(ctx, &v) })
		})
	})
}

func TestPagination(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		// Seven of each, plus the world's own: eight, newest last.
		var custIDs, cardIDs, tplIDs, vIDs, evIDs []string
		custIDs = append(custIDs, w.customer.ID)
		cardIDs = append(cardIDs, w.card.ID)
		tplIDs = append(tplIDs, w.tpl.ID)
		vIDs = append(vIDs, w.voucher.ID)
		var events []hub.EventRecord
		write(t, s, func(tx hub.Tx) error {
			for i := 0; i < 7; i++ {
				c := &hub.Customer{ID: hub.NewID("c"), BusinessID: w.biz.ID, Language: "en", CreatedAt: t0, UpdatedAt: t0}
				tpl := &hub.CardTemplate{ID: hub.NewID("tpl"), BusinessID: w.biz.ID, Name: "T", CreatedAt: t0}
				card := &hub.Card{ID: hub.NewID("card"), BusinessID: w.biz.ID, TemplateID: tpl.ID, CustomerID: c.ID,
					Cycle: 1, Status: "active", CreatedAt: t0, UpdatedAt: t0}
				v := &hub.Voucher{ID: hub.NewID("v"), BusinessID: w.biz.ID, Type: "voucher", Title: "V", RedeemCode: hub.NewRedeemCode(),
					Status: "issued", CustomerID: c.ID, CreatedAt: t0}
				if err := errors.Join(tx.CreateCustomer(ctx, c), tx.CreateCardTemplate(ctx, tpl), tx.CreateCard(ctx, card),
					tx.CreateVoucher(ctx, v)); err != nil {
					return err
				}
				custIDs, tplIDs, cardIDs, vIDs = append(custIDs, c.ID), append(tplIDs, tpl.ID), append(cardIDs, card.ID), append(vIDs, v.ID)
			}
			for i := 0; i < 8; i++ {
				events = append(events, w.event(hub.StampAdded, t0, nil, nil, nil))
			}
			return tx.InsertEvents(ctx, events)
		})
		for _, e := range events {
			evIDs = append(evIDs, e.ID)
		}
		lists := []struct {
			name string
			all  []string
			list func(tx hub.Tx, p hub.Page) ([]string, error)
		}{
			{"customers", custIDs, func(tx hub.Tx, p hub.Page) ([]string, error) {
				r, err := tx.Customers(ctx, hub.CustomerFilter{BusinessID: w.biz.ID, Page: p})
				return ids(r, func(c *hub.Customer) string { return c.ID }), err
			}},
			{"cards", cardIDs, func(tx hub.Tx, p hub.Page) ([]string, error) {
				r, err := tx.Cards(ctx, hub.CardFilter{BusinessID: w.biz.ID, Page: p})
				return ids(r, func(c *hub.Card) string { return c.ID }), err
			}},
			{"card templates", tplIDs, func(tx hub.Tx, p hub.Page) ([]string, error) {
				r, err := tx.CardTemplates(ctx, w.biz.ID, p)
				return ids(r, func(c *hub.CardTemplate) string { return c.ID }), err
			}},
			{"vouchers", vIDs, func(tx hub.Tx, p hub.Page) ([]string, error) {
				r, err := tx.Vouchers(ctx, hub.VoucherFilter{BusinessID: w.biz.ID, Page: p})
				return ids(r, func(c *hub.Voucher) string { return c.ID }), err
			}},
			{"events", evIDs, func(tx hub.Tx, p hub.Page) ([]string, error) {
				r, err := tx.Events(ctx, hub.EventFilter{BusinessID: w.biz.ID, Page: p})
				return ids(r, func(c *hub.EventRecord) string { return c.ID }), err
			}},
			{"events feed", evIDs, func(tx hub.Tx, p hub.Page) ([]string, error) {
				r, err := tx.Events(ctx, hub.EventFilter{BusinessID: w.biz.ID, Page: p, Feed: true})
				return ids(r, func(c *hub.EventRecord) string { return c.ID }), err
			}},
		}
		for _, l := range lists {
			t.Run(l.name, func(t *testing.T) {
				checkPaging(t, s, l.all, l.list)
			})
		}
	})
}

func TestEventFilters(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		other := newWorld(t, s)
		ctx := context.Background()
		c2 := addCustomer(t, s, w.biz.ID, "c2@example.com")
		e1 := w.event(hub.CardIssued, t0, &w.customer.ID, &w.card.ID, nil)
		e2 := w.event(hub.StampAdded, t0, &w.customer.ID, &w.card.ID, nil)
		e3 := w.event(hub.RewardIssued, t0, &w.customer.ID, &w.card.ID, &w.voucher.ID)
		e4 := w.event(hub.StampAdded, t0, &c2.ID, nil, nil)
		e5 := w.event(hub.CampaignSent, t0, nil, nil, nil)
		eo := other.event(hub.StampAdded, t0, &other.customer.ID, &other.card.ID, nil)
		write(t, s, func(tx hub.Tx) error {
			return tx.InsertEvents(ctx, []hub.EventRecord{e1, e2, e3, e4, e5, eo})
		})
		tests := []struct {
			name string
			f    hub.EventFilter
			want []hub.EventRecord
		}{
			{"all", hub.EventFilter{}, []hub.EventRecord{e5, e4, e3, e2, e1}},
			{"type", hub.EventFilter{Type: hub.StampAdded}, []hub.EventRecord{e4, e2}},
			{"customer", hub.EventFilter{CustomerID: w.customer.ID}, []hub.EventRecord{e3, e2, e1}},
			{"card", hub.EventFilter{CardID: w.card.ID}, []hub.EventRecord{e3, e2, e1}},
			{"since", hub.EventFilter{SinceID: e2.ID}, []hub.EventRecord{e5, e4, e3}},
			{"since newest", hub.EventFilter{SinceID: e5.ID}, nil},
			{"type and customer", hub.EventFilter{Type: hub.StampAdded, CustomerID: c2.ID}, []hub.EventRecord{e4}},
			{"since and cursor", hub.EventFilter{SinceID: e1.ID, Page: hub.Page{Cursor: e4.ID}}, []hub.EventRecord{e3, e2}},
			{"unknown customer", hub.EventFilter{CustomerID: other.customer.ID}, nil},
		}
		for _, tc := range tests {
			for _, feed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/feed=%v", tc.name, feed), func(t *testing.T) {
					f := tc.f
					f.BusinessID, f.Feed = w.biz.ID, feed
					var got []*hub.EventRecord
					read(t, s, func(tx hub.Tx) error {
						var err error
						got, err = tx.Events(ctx, f)
						return err
					})
					var want []*hub.EventRecord
					for i := range tc.want {
						want = append(want, &tc.want[i])
					}
					diff(t, "events", want, got)
				})
			}
		}
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.Event(ctx, w.biz.ID, e3.ID)
			if err != nil {
				return err
			}
			diff(t, "event", &e3, got)
			if string(got.Payload) != string(e3.Payload) {
				t.Errorf("payload bytes changed: %s", got.Payload)
			}
			return nil
		})
	})
}

func TestOutbox(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		old1 := w.event(hub.StampAdded, t0, nil, nil, nil)
		old2 := w.event(hub.StampAdded, t0.Add(time.Second), nil, nil, nil)
		fresh := w.event(hub.StampAdded, t0.Add(time.Hour), nil, nil, nil)
		done := w.event(hub.StampAdded, t0, nil, nil, nil)
		done.Dispatched = true
		write(t, s, func(tx hub.Tx) error { return tx.InsertEvents(ctx, []hub.EventRecord{fresh, old2, old1, done}) })

		undispatched := func(at time.Time, limit int) []string {
			t.Helper()
			var got []*hub.EventRecord
			read(t, s, func(tx hub.Tx) error {
				var err error
				got, err = tx.UndispatchedEvents(ctx, at, nil, limit)
				return err
			})
			return ids(got, func(e *hub.EventRecord) string { return e.ID })
		}
		diff(t, "due at t0+1s", []string{old1.ID, old2.ID}, undispatched(t0.Add(time.Second), 10), cmpopts.EquateEmpty())
		diff(t, "limit 1", []string{old1.ID}, undispatched(t0.Add(2*time.Hour), 1))
		diff(t, "all", []string{old1.ID, old2.ID, fresh.ID}, undispatched(t0.Add(2*time.Hour), 10))
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.UndispatchedEvents(ctx, t0.Add(2*time.Hour), &old1, 10)
			diff(t, "after the first", []string{old2.ID, fresh.ID}, ids(got, func(e *hub.EventRecord) string { return e.ID }))
			return err
		})

		dispatched := func(id string) bool {
			t.Helper()
			var e *hub.EventRecord
			read(t, s, func(tx hub.Tx) error {
				var err error
				e, err = tx.Event(ctx, w.biz.ID, id)
				return err
			})
			return e.Dispatched
		}
		if dispatched(old1.ID) || !dispatched(done.ID) {
			t.Fatalf("before mark: old1 dispatched %v, done dispatched %v; want false, true", dispatched(old1.ID), dispatched(done.ID))
		}
		write(t, s, func(tx hub.Tx) error {
			return tx.MarkEventsDispatched(ctx, []*hub.EventRecord{&old1, &old2, &done, {ID: "evt_unknown", CreatedAt: t0}})
		})
		diff(t, "after mark", []string{fresh.ID}, undispatched(t0.Add(2*time.Hour), 10))
		for _, e := range []hub.EventRecord{old1, old2, done} {
			if !dispatched(e.ID) {
				t.Errorf("%s not dispatched after mark", e.ID)
			}
		}
		if dispatched(fresh.ID) {
			t.Error("fresh dispatched, never marked")
		}
		// The dispatch reads (EventsByKey) and the feed say the same.
		read(t, s, func(tx hub.Tx) error {
			evs, err := tx.EventsByKey(ctx, keysOf(w.biz.ID, old1.ID, fresh.ID))
			got := map[string]bool{}
			for _, e := range evs {
				got[e.ID] = e.Dispatched
			}
			diff(t, "by id", map[string]bool{old1.ID: true, fresh.ID: false}, got)
			return err
		})
		write(t, s, func(tx hub.Tx) error { return tx.MarkEventsDispatched(ctx, nil) })

		// Many events in one call: several INSERT and DELETE batches.
		many := make([]hub.EventRecord, 1234)
		manyPtrs := make([]*hub.EventRecord, len(many))
		for i := range many {
			many[i] = w.event(hub.CardOpened, t0.Add(-time.Hour), nil, nil, nil)
			manyPtrs[i] = &many[i]
		}
		write(t, s, func(tx hub.Tx) error { return tx.InsertEvents(ctx, many) })
		if got := undispatched(t0, 5000); len(got) != len(many) {
			t.Fatalf("%d undispatched, want %d", len(got), len(many))
		}
		write(t, s, func(tx hub.Tx) error { return tx.MarkEventsDispatched(ctx, manyPtrs) })
		diff(t, "after marking many", []string(nil), undispatched(t0, 5000), cmpopts.EquateEmpty())
	})
}

func TestIdempotency(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		other := newWorld(t, s)
		ctx := context.Background()
		rec := &hub.IdempotencyRecord{BusinessID: w.biz.ID, Key: "k1", Method: "POST", Path: "/v1/cards", BodyHash: "h1", CreatedAt: t0, Claim: "c1"}
		claim := func(r *hub.IdempotencyRecord) (*hub.IdempotencyRecord, bool) {
			t.Helper()
			var got *hub.IdempotencyRecord
			var ok bool
			write(t, s, func(tx hub.Tx) error {
				var err error
				got, ok, err = tx.ClaimIdempotencyKey(ctx, r)
				return err
			})
			return got, ok
		}
		got, ok := claim(rec)
		if !ok {
			t.Fatal("first claim not claimed")
		}
		diff(t, "claimed", rec, got)

		again := *rec
		again.BodyHash, again.CreatedAt, again.Claim = "h2", t0.Add(time.Minute), "c2"
		got, ok = claim(&again)
		if ok {
			t.Fatal("second claim claimed")
		}
		diff(t, "existing in progress", rec, got, cmpopts.EquateEmpty())

		// The same key in another business is its own.
		if _, ok := claim(&hub.IdempotencyRecord{BusinessID: other.biz.ID, Key: "k1", Method: "POST", Path: "/x", CreatedAt: t0}); !ok {
			t.Fatal("other business's key not claimed")
		}

		done := *rec
		done.Done, done.Status, done.ContentType, done.Body = true, 201, "application/json", []byte(`{"id":"card_1"}`)
		write(t, s, func(tx hub.Tx) error { return tx.CompleteIdempotencyKey(ctx, &done) })
		got, ok = claim(&again)
		if ok {
			t.Fatal("claim after complete claimed")
		}
		diff(t, "completed", &done, got)

		// Only the claim's holder completes, commits or releases it.
		wrong := done
		wrong.Claim = "c2"
		wantCode(t, s.Write(ctx, func(tx hub.Tx) error { return tx.CompleteIdempotencyKey(ctx, &wrong) }), hub.ENotFound)
		wantCode(t, s.Write(ctx, func(tx hub.Tx) error { return tx.CommitIdempotencyKey(ctx, &wrong) }), hub.ENotFound)
		write(t, s, func(tx hub.Tx) error { return tx.ReleaseIdempotencyKey(ctx, w.biz.ID, "k1", "c2", t0) })
		if _, ok := claim(&again); ok {
			t.Fatal("released under another claim")
		}
		write(t, s, func(tx hub.Tx) error { return tx.ReleaseIdempotencyKey(ctx, w.biz.ID, "k1", "c1", t0.Add(-time.Hour)) })
		write(t, s, func(tx hub.Tx) error { return tx.ReleaseIdempotencyKey(ctx, w.biz.ID, "never", "c1", t0) })
		if _, ok := claim(&again); !ok {
			t.Fatal("claim after release not claimed")
		}

		// A committed key (its effect's transaction marked it) is not
		// released until it expires.
		committed := again
		committed.Committed = true
		write(t, s, func(tx hub.Tx) error { return tx.CommitIdempotencyKey(ctx, &again) })
		got, _ = claim(rec)
		diff(t, "committed without a response", &committed, got, cmpopts.EquateEmpty())
		sealed := committed
		sealed.Done, sealed.Status, sealed.ContentType, sealed.Body = true, 200, "application/json", []byte(`{}`)
		write(t, s, func(tx hub.Tx) error { return tx.CommitIdempotencyKey(ctx, &sealed) })
		got, _ = claim(rec)
		diff(t, "committed with its response", &sealed, got)
		write(t, s, func(tx hub.Tx) error { return tx.ReleaseIdempotencyKey(ctx, w.biz.ID, "k1", "c2", t0) })
		if _, ok := claim(rec); ok {
			t.Fatal("committed key released before it expired")
		}
		write(t, s, func(tx hub.Tx) error {
			return tx.ReleaseIdempotencyKey(ctx, w.biz.ID, "k1", "c2", again.CreatedAt)
		})

		// Release and claim again within one transaction (a stale key taken over).
		write(t, s, func(tx hub.Tx) error {
			if err := tx.ReleaseIdempotencyKey(ctx, w.biz.ID, "k1", "c1", t0); err != nil {
				return err
			}
			_, ok, err := tx.ClaimIdempotencyKey(ctx, rec)
			if !ok {
				t.Error("re-claim in one transaction not claimed")
			}
			return err
		})

		var n int64
		write(t, s, func(tx hub.Tx) error {
			var err error
			n, err = tx.PurgeIdempotencyKeys(ctx, t0, 100) // strictly before t0: none
			return err
		})
		if n != 0 {
			t.Errorf("purged %d before t0, want 0", n)
		}
		for _, limit := range []int{1, 100} { // two keys: one per call
			write(t, s, func(tx hub.Tx) error {
				var err error
				n, err = tx.PurgeIdempotencyKeys(ctx, t0.Add(time.Millisecond), limit)
				return err
			})
			if n != 1 {
				t.Errorf("purged %d with a limit of %d, want 1", n, limit)
			}
		}
		if _, ok := claim(rec); !ok {
			t.Error("claim after purge not claimed")
		}
	})
}

func TestVouchers(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		other := newWorld(t, s)
		ctx := context.Background()
		now := t0.Add(24 * time.Hour)
		mk := func(status string, expires *time.Time) *hub.Voucher {
			return &hub.Voucher{ID: hub.NewID("v"), BusinessID: w.biz.ID, Type: "voucher", Title: "V", RedeemCode: hub.NewRedeemCode(),
				Status: status, CustomerID: w.customer.ID, ExpiresAt: expires, CreatedAt: t0}
		}
		open := mk(hub.VoucherIssued, nil)                       // never expires
		future := mk(hub.VoucherIssued, ptr(now.Add(time.Hour))) // still valid
		atNow := mk(hub.VoucherIssued, ptr(now))                 // expires exactly now: expired
		past := mk(hub.VoucherIssued, ptr(now.Add(-time.Hour)))
		recorded := mk(hub.VoucherExpired, ptr(now.Add(-2*time.Hour)))
		redeemed := mk(hub.VoucherRedeemed, ptr(now.Add(-3*time.Hour)))
		otherPast := &hub.Voucher{ID: hub.NewID("v"), BusinessID: other.biz.ID, Type: "voucher", Title: "V", RedeemCode: "OTHER123",
			Status: hub.VoucherIssued, CustomerID: other.customer.ID, ExpiresAt: ptr(now.Add(-30 * time.Minute)), CreatedAt: t0}
		write(t, s, func(tx hub.Tx) error {
			var errs []error
			for _, v := range []*hub.Voucher{open, future, atNow, past, recorded, redeemed, otherPast} {
				errs = append(errs, tx.CreateVoucher(ctx, v))
			}
			return errors.Join(errs...)
		})
		// w.voucher is issued and expires at t0+48h: valid at now.
		tests := []struct {
			name string
			f    hub.VoucherFilter
			want []*hub.Voucher
		}{
			{"issued", hub.VoucherFilter{Status: "issued", Now: now}, []*hub.Voucher{future, open, w.voucher}},
			{"expired", hub.VoucherFilter{Status: "expired", Now: now}, []*hub.Voucher{recorded, past, atNow}},
			{"redeemed", hub.VoucherFilter{Status: "redeemed", Now: now}, []*hub.Voucher{redeemed}},
			{"code", hub.VoucherFilter{RedeemCode: past.RedeemCode}, []*hub.Voucher{past}},
			{"customer", hub.VoucherFilter{CustomerID: other.customer.ID}, nil},
			{"customer and status", hub.VoucherFilter{CustomerID: w.customer.ID, Status: "redeemed", Now: now}, []*hub.Voucher{redeemed}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.BusinessID = w.biz.ID
				var got []*hub.Voucher
				read(t, s, func(tx hub.Tx) error {
					var err error
					got, err = tx.Vouchers(ctx, tc.f)
					return err
				})
				diff(t, "vouchers", tc.want, got)
			})
		}
		t.Run("due", func(t *testing.T) {
			var got []*hub.Voucher
			read(t, s, func(tx hub.Tx) error {
				var err error
				got, err = tx.DueVouchers(ctx, now, 10)
				return err
			})
			// Oldest expiry first, every business, issued only.
			diff(t, "due", []*hub.Voucher{past, otherPast, atNow}, got)
			read(t, s, func(tx hub.Tx) error {
				var err error
				got, err = tx.DueVouchers(ctx, now, 1)
				return err
			})
			diff(t, "due limit 1", []*hub.Voucher{past}, got)
		})
	})
}

func TestCardFilters(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		bob := addCustomer(t, s, w.biz.ID, "bob@example.com")
		tpl2 := &hub.CardTemplate{ID: hub.NewID("tpl"), BusinessID: w.biz.ID, Name: "Tea", CreatedAt: t0}
		mk := func(c *hub.Customer, tplID string) *hub.Card {
			return &hub.Card{ID: hub.NewID("card"), BusinessID: w.biz.ID, TemplateID: tplID, CustomerID: c.ID, Customer: c,
				Cycle: 1, Status: "active", PageToken: "p", CreatedAt: t0, UpdatedAt: t0}
		}
		annTea, bobCoffee := mk(w.customer, tpl2.ID), mk(bob, w.tpl.ID)
		write(t, s, func(tx hub.Tx) error {
			return errors.Join(tx.CreateCardTemplate(ctx, tpl2), tx.CreateCard(ctx, annTea), tx.CreateCard(ctx, bobCoffee))
		})
		annCoffee := *w.card
		annCoffee.Customer = w.customer
		tests := []struct {
			name string
			f    hub.CardFilter
			want []*hub.Card
		}{
			{"email", hub.CardFilter{Email: "ann@example.com"}, []*hub.Card{annTea, &annCoffee}},
			{"phone", hub.CardFilter{Phone: *w.customer.Phone}, []*hub.Card{annTea, &annCoffee}},
			{"customer", hub.CardFilter{CustomerID: bob.ID}, []*hub.Card{bobCoffee}},
			{"template", hub.CardFilter{TemplateID: w.tpl.ID}, []*hub.Card{bobCoffee, &annCoffee}},
			{"email and template", hub.CardFilter{Email: "ann@example.com", TemplateID: tpl2.ID}, []*hub.Card{annTea}},
			{"unknown email", hub.CardFilter{Email: "zed@example.com"}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.BusinessID = w.biz.ID
				var got []*hub.Card
				read(t, s, func(tx hub.Tx) error {
					var err error
					got, err = tx.Cards(ctx, tc.f)
					return err
				})
				diff(t, "cards", tc.want, got)
			})
		}
		read(t, s, func(tx hub.Tx) error {
			cs, err := tx.Customers(ctx, hub.CustomerFilter{BusinessID: w.biz.ID, Phone: *w.customer.Phone})
			diff(t, "customers by phone", []*hub.Customer{w.customer}, cs)
			return err
		})
	})
}

// TestForUpdateSerialises runs 20 concurrent read-increment-write
// transactions on one card: none may lose an update.
func TestForUpdateSerialises(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		start := w.card.Stamps
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Write(ctx, func(tx hub.Tx) error {
					c, err := tx.Card(ctx, w.biz.ID, w.card.ID, true)
					if err != nil {
						return err
					}
					time.Sleep(time.Millisecond) // widen the race window
					c.Stamps++
					if err := tx.UpdateCard(ctx, c); err != nil {
						return err
					}
					return tx.InsertEvents(ctx, []hub.EventRecord{w.event(hub.StampAdded, t0, &c.CustomerID, &c.ID, nil)})
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
		read(t, s, func(tx hub.Tx) error {
			c, err := tx.Card(ctx, w.biz.ID, w.card.ID, false)
			if err != nil {
				return err
			}
			if c.Stamps != start+n {
				t.Errorf("stamps = %d, want %d", c.Stamps, start+n)
			}
			return nil
		})
	})
}

func TestWriteRollsBack(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		boom := errors.New("boom")
		loc := &hub.Location{ID: hub.NewID("loc"), BusinessID: w.biz.ID, Name: "Gone", CreatedAt: t0}
		err := s.Write(ctx, func(tx hub.Tx) error {
			if err := tx.CreateLocation(ctx, loc); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Write = %v, want the function's error", err)
		}
		err = s.Read(ctx, func(tx hub.Tx) error { _, err := tx.Location(ctx, w.biz.ID, loc.ID); return err })
		wantCode(t, err, hub.ENotFound)

		// A panic rolls back and gives the connection back.
		func() {
			defer func() { _ = recover() }()
			_ = s.Write(ctx, func(tx hub.Tx) error {
				_ = tx.CreateLocation(ctx, loc)
				panic("boom")
			})
		}()
		write(t, s, func(tx hub.Tx) error { return tx.CreateLocation(ctx, loc) })
	})
}

func TestReadRefusesWrites(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		err := s.Read(ctx, func(tx hub.Tx) error {
			return tx.CreateLocation(ctx, &hub.Location{ID: hub.NewID("loc"), BusinessID: w.biz.ID, Name: "x", CreatedAt: t0})
		})
		wantCode(t, err, hub.EInternal)
		err = s.Read(ctx, func(tx hub.Tx) error { return tx.TouchAPIKey(ctx, w.key.ID, t0) })
		wantCode(t, err, hub.EInternal)
	})
}

func TestMigrateTwice(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)
		for i := 0; i < 2; i++ {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
		}
		read(t, s, func(tx hub.Tx) error { _, err := tx.Business(ctx, w.biz.ID); return err })
	})
}

func TestConcurrentMigrate(t *testing.T) {
	for _, d := range sqltest.Dialects {
		t.Run(d, func(t *testing.T) {
			s := sqltest.Open(t, d)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = s.Migrate(context.Background())
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClosedIsUnavailable(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		wantCode(t, s.Ping(ctx), hub.EUnavailable)
		wantCode(t, s.Read(ctx, func(tx hub.Tx) error { _, err := tx.Business(ctx, w.biz.ID); return err }), hub.EUnavailable)
		wantCode(t, s.Write(ctx, func(tx hub.Tx) error { return nil }), hub.EUnavailable)
		if msg := hub.ErrorMessage(s.Ping(ctx)); msg != "database is unavailable, try again later" {
			t.Errorf("message = %q", msg)
		}
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite creates the directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "a", "b", "hub.db")
		s, err := sqlstore.Open(ctx, "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Dialect() != "sqlite" {
			t.Errorf("Dialect = %q", s.Dialect())
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("in-memory refused", func(t *testing.T) {
		if _, err := sqlstore.Open(ctx, ":memory:"); err == nil {
			t.Fatal("Open(:memory:) succeeded")
		}
	})
	t.Run("postgres unreachable", func(t *testing.T) {
		_, err := sqlstore.Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
		wantCode(t, err, hub.EUnavailable)
	})
	t.Run("postgres dialect", func(t *testing.T) {
		s := sqltest.Open(t, "postgres")
		if s.Dialect() != "postgres" {
			t.Errorf("Dialect = %q", s.Dialect())
		}
	})
	t.Run("url selects", func(t *testing.T) {
		for u, pg := range map[string]bool{
			"postgres://x": true, "postgresql://x": true, "POSTGRES://x": true,
			"data/hub.db": false, "file:hub.db": false, "/tmp/postgres.db": false,
		} {
			if got := sqlstore.IsPostgresURL(u); got != pg {
				t.Errorf("IsPostgresURL(%q) = %v", u, got)
			}
		}
	})
}

func TestContextDeadline(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		err := s.Write(ctx, func(tx hub.Tx) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "deadline") {
			t.Fatalf("Write with an expired context = %v", err)
		}
		wantCode(t, err, hub.EUnavailable)
	})
}

// TestDeadlockRetried makes two PostgreSQL transactions lock two cards in
// opposite order: the one PostgreSQL picks as the deadlock victim runs again
// and both succeed. (SQLite never deadlocks: it runs one writer at a time.)
func TestDeadlockRetried(t *testing.T) {
	s := sqltest.Open(t, sqlstore.DialectPostgres)
	a, b := newWorld(t, s), newWorld(t, s)
	ctx := context.Background()
	var (
		wg       sync.WaitGroup
		barrier  sync.WaitGroup
		attempts [2]int
		errs     [2]error
	)
	barrier.Add(2)
	order := [2][2]*hub.Card{{a.card, b.card}, {b.card, a.card}}
	for i := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Write(ctx, func(tx hub.Tx) error {
				attempts[i]++
				for j, c := range order[i] {
					got, err := tx.Card(ctx, c.BusinessID, c.ID, true)
					if err != nil {
						return err
					}
					if j == 0 && attempts[i] == 1 {
						barrier.Done()
						barrier.Wait() // both hold their first lock
					}
					got.Stamps++
					if err := tx.UpdateCard(ctx, got); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if attempts[0]+attempts[1] < 3 {
		t.Errorf("attempts = %v, want a retry", attempts)
	}
	read(t, s, func(tx hub.Tx) error {
		for _, c := range []*hub.Card{a.card, b.card} {
			got, err := tx.Card(ctx, c.BusinessID, c.ID, false)
			if err != nil {
				return err
			}
			if got.Stamps != c.Stamps+2 {
				t.Errorf("card %s stamps = %d, want %d", c.ID, got.Stamps, c.Stamps+2)
			}
		}
		return nil
	})
}

// TestDrawnVoucherCodeTakenIsDrawnAgain: a voucher whose drawn code the
// business already has ends up with a fresh code, nothing else changes, and
// the card update in the same transaction is not lost or doubled: SQLite
// refuses the insert at once (the caller draws again), PostgreSQL at commit
// (Write runs the whole function again). A code taken on every draw ends in
// a conflict that changes nothing.
func TestDrawnVoucherCodeTakenIsDrawnAgain(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		taken := w.voucher.RedeemCode
		draw := func(codes func(int) string) (runs, draws int, err error) {
			err = s.Write(ctx, func(tx hub.Tx) error {
				runs++
				c, err := tx.Card(ctx, w.biz.ID, w.card.ID, true)
				if err != nil {
					return err
				}
				c.StampsTotal++
				if err := tx.UpdateCard(ctx, c); err != nil {
					return err
				}
				v := &hub.Voucher{ID: hub.NewID("v"), BusinessID: w.biz.ID, Type: "voucher", Title: "Drawn",
					Status: "issued", CustomerID: w.customer.ID, CreatedAt: t0}
				for {
					v.RedeemCode = codes(draws)
					draws++
					err := tx.CreateDrawnVoucher(ctx, v)
					if hub.ErrorCode(err) != hub.EConflict || draws > 20 {
						return err
					}
				}
			})
			return runs, draws, err
		}
		stamps := func() int {
			t.Helper()
			var n int
			read(t, s, func(tx hub.Tx) error {
				c, err := tx.Card(ctx, w.biz.ID, w.card.ID, false)
				if err == nil {
					n = c.StampsTotal
				}
				return err
			})
			return n
		}
		codesOf := func() []string {
			t.Helper()
			var got []string
			read(t, s, func(tx hub.Tx) error {
				vs, err := tx.Vouchers(ctx, hub.VoucherFilter{BusinessID: w.biz.ID})
				for _, v := range vs {
					got = append(got, v.RedeemCode)
				}
				return err
			})
			slices.Sort(got)
			return got
		}
		before := stamps()

		runs, draws, err := draw(func(i int) string {
			if i == 0 {
				return taken
			}
			return "FRESH123"
		})
		if err != nil {
			t.Fatal(err)
		}
		if draws != 2 || (s.Dialect() == "postgres") != (runs == 2) {
			t.Errorf("%s: %d runs and %d draws; want 2 draws, in 2 runs on postgres and 1 on sqlite", s.Dialect(), runs, draws)
		}
		want := []string{"FRESH123", taken}
		slices.Sort(want)
		diff(t, "codes", want, codesOf())
		if got := stamps(); got != before+1 {
			t.Errorf("stamps_total = %d, want %d", got, before+1)
		}

		_, _, err = draw(func(int) string { return taken })
		wantCode(t, err, hub.EConflict)
		diff(t, "codes after the conflict", want, codesOf())
		if got := stamps(); got != before+1 {
			t.Errorf("after the conflict stamps_total = %d, want %d", got, before+1)
		}
	})
}

// TestMigrateEventOutboxOnExisting applies 0015 to events written before it:
// those not dispatched yet move to the outbox, the others stay dispatched.
func TestMigrateEventOutboxOnExisting(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)
		pending1, pending2 := w.event(hub.StampAdded, t0, nil, nil, nil), w.event(hub.CardOpened, t0.Add(time.Second), nil, nil, nil)
		done := w.event(hub.StampAdded, t0, nil, nil, nil)
		done.Dispatched = true
		write(t, s, func(tx hub.Tx) error { return tx.InsertEvents(ctx, []hub.EventRecord{pending1, done, pending2}) })
		// Back to the shape before 0015, with the same state.
		typ, fk := "TEXT", ""
		if s.Dialect() == sqlstore.DialectPostgres {
			typ = "TIMESTAMPTZ(3)"
			fk = " ALTER TABLE events ADD CONSTRAINT events_business_id_fkey FOREIGN KEY (business_id) REFERENCES businesses (id);"
		}
		if err := s.ExecForTest(ctx, "ALTER TABLE events ADD COLUMN dispatched_at "+typ+";"+fk+
			" UPDATE events SET dispatched_at = created_at WHERE NOT EXISTS"+
			" (SELECT 1 FROM event_outbox o WHERE o.created_at = events.created_at AND o.id = events.id);"+
			" DROP TABLE event_outbox;"+
			" CREATE INDEX events_undispatched_idx ON events (created_at, id) WHERE dispatched_at IS NULL;"+
			" DELETE FROM schema_migrations WHERE version = 15"); err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.UndispatchedEvents(ctx, t0.Add(time.Hour), nil, 10)
			diff(t, "undispatched after 0015", []string{pending1.ID, pending2.ID}, ids(got, func(e *hub.EventRecord) string { return e.ID }))
			return err
		})
		read(t, s, func(tx hub.Tx) error {
			e, err := tx.Event(ctx, w.biz.ID, done.ID)
			if err == nil && !e.Dispatched {
				t.Error("an event dispatched before 0015 is not dispatched after it")
			}
			return err
		})
		write(t, s, func(tx hub.Tx) error { return tx.MarkEventsDispatched(ctx, []*hub.EventRecord{&pending1, &pending2}) })
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.UndispatchedEvents(ctx, t0.Add(time.Hour), nil, 10)
			diff(t, "undispatched after the mark", []string(nil), ids(got, func(e *hub.EventRecord) string { return e.ID }), cmpopts.EquateEmpty())
			return err
		})
	})
}

// TestQueriesUseTheirIndexes: a campaign finds its failed deliveries in
// their partial index, never by reading every recipient of the campaign
// (the query runs in the write transaction of each campaign step after the
// walk).
func TestQueriesUseTheirIndexes(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		for index, q := range s.IndexedQueriesForTest(w.biz.ID) {
			t.Run(index, func(t *testing.T) {
				plan, err := s.ExplainForTest(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, index) {
					t.Errorf("the plan does not use %s:\n%s", index, plan)
				}
			})
		}
	})
}
