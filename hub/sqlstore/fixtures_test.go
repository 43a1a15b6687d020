package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/google/go-cmp/cmp"
)

// t0 is a fixed time at the stored precision.
var t0 = time.Date(2026, 5, 11, 12, 34, 56, 123_000_000, time.UTC)

func ptr[T any](v T) *T { return &v }

// write runs fn in a write transaction and fails the test on an error.
func write(t testing.TB, s *sqlstore.Store, fn func(tx hub.Tx) error) {
	t.Helper()
	if err := s.Write(context.Background(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// read runs fn with read access and fails the test on an error.
func read(t testing.TB, s *sqlstore.Store, fn func(tx hub.Tx) error) {
	t.Helper()
	if err := s.Read(context.Background(), fn); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// wantCode fails the test unless err carries the code.
func wantCode(t testing.TB, err error, code hub.Code) {
	t.Helper()
	if got := hub.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

// diff fails the test when got differs from want.
func diff(t testing.TB, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// world is a business with one of everything, created by newWorld.
type world struct {
	biz      *hub.Business
	loc      *hub.Location
	staff    *hub.Staff
	key      *hub.APIKey
	tpl      *hub.CardTemplate
	vtpl     *hub.VoucherTemplate
	customer *hub.Customer
	card     *hub.Card
	voucher  *hub.Voucher
}

var worldSeq int

// newWorld creates a business with a location, staff login, key, templates,
// customer, card and voucher.
func newWorld(t testing.TB, s *sqlstore.Store) *world {
	t.Helper()
	worldSeq++
	n := worldSeq
	w := &world{}
	w.biz = &hub.Business{ID: hub.NewID(hub.PrefixBusiness), Name: fmt.Sprintf("Café %d", n), Timezone: "Europe/Kyiv", DefaultLanguage: "uk", CreatedAt: t0}
	w.loc = &hub.Location{ID: hub.NewID(hub.PrefixLocation), BusinessID: w.biz.ID, Name: "Main street", CreatedAt: t0}
	w.staff = &hub.Staff{ID: hub.NewID(hub.PrefixStaff), BusinessID: w.biz.ID, Login: "till", Name: "Till 1", CreatedAt: t0}
	secret := hub.NewAPIKeySecret()
	w.key = &hub.APIKey{ID: hub.NewID(hub.PrefixAPIKey), BusinessID: w.biz.ID, StaffID: w.staff.ID, Name: "POS",
		Login: "till", MaskedKey: hub.MaskAPIKey(secret), Status: hub.KeyActive, CreatedAt: t0, Hash: hub.HashAPIKey(secret)}
	w.tpl = &hub.CardTemplate{ID: hub.NewID(hub.PrefixCardTemplate), BusinessID: w.biz.ID, Name: "Coffee",
		Goals: []hub.Goal{
			{Stamps: 5, Reward: hub.Reward{Title: "Cookie"}},
			{Stamps: 10, Reward: hub.Reward{Title: "Free coffee", Description: ptr("any size")}},
		},
		Lottery:   &hub.Lottery{Prizes: []hub.Prize{{Title: "Mug", Weight: 1}}, LoseWeight: 9},
		CreatedAt: t0}
	w.vtpl = &hub.VoucherTemplate{ID: hub.NewID(hub.PrefixVoucherTemplate), BusinessID: w.biz.ID, Title: "10% off",
		Description: ptr("on everything"), RedeemCodeFormats: []string{"text", "qr"}, ValidDays: ptr(30), CreatedAt: t0}
	w.customer = &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: w.biz.ID, Email: ptr("ann@example.com"),
		Phone: ptr("+380671234567"), Name: ptr("Ann"), Language: "uk", Birthday: ptr("1990-04-01"),
		WalletPassID: ptr("wp_x"), Consent: map[string]hub.Consent{"email": {Granted: true, Source: "api", At: t0}},
		CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}
	w.card = &hub.Card{ID: hub.NewID(hub.PrefixCard), BusinessID: w.biz.ID, TemplateID: w.tpl.ID, CustomerID: w.customer.ID,
		WalletPassID: "wp_x", Stamps: 3, StampsTotal: 13, GoalIndex: 0, Cycle: 2, Status: hub.CardActive,
		PageToken: hub.NewPageToken(), CreatedAt: t0, UpdatedAt: t0.Add(time.Minute), LastStampAt: ptr(t0.Add(time.Minute))}
	w.voucher = &hub.Voucher{ID: hub.NewID(hub.PrefixVoucher), BusinessID: w.biz.ID, Type: hub.VoucherTypeReward,
		TemplateID: &w.vtpl.ID, Title: "Cookie", Description: ptr("a big one"), RedeemCode: hub.NewRedeemCode(),
		RedeemCodeFormats: []string{"text", "qr", "barcode"}, Status: hub.VoucherIssued, CustomerID: w.customer.ID,
		CardID: &w.card.ID, GoalIndex: ptr(0), ExpiresAt: ptr(t0.Add(48 * time.Hour)), CreatedAt: t0}
	write(t, s, func(tx hub.Tx) error {
		ctx := context.Background()
		for _, step := range []func() error{
			func() error { return tx.CreateBusiness(ctx, w.biz) },
			func() error { return tx.CreateLocation(ctx, w.loc) },
			func() error { return tx.CreateStaff(ctx, w.staff) },
			func() error { return tx.CreateAPIKey(ctx, w.key) },
			func() error { return tx.CreateCardTemplate(ctx, w.tpl) },
			func() error { return tx.CreateVoucherTemplate(ctx, w.vtpl) },
			func() error { return tx.CreateCustomer(ctx, w.customer) },
			func() error { return tx.CreateCard(ctx, w.card) },
			func() error { return tx.CreateVoucher(ctx, w.voucher) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	return w
}

// customer creates a customer of the business with the email.
func addCustomer(t testing.TB, s *sqlstore.Store, businessID, email string) *hub.Customer {
	t.Helper()
	c := &hub.Customer{ID: hub.NewID(hub.PrefixCustomer), BusinessID: businessID, Email: ptr(email), Language: "en", CreatedAt: t0, UpdatedAt: t0}
	write(t, s, func(tx hub.Tx) error { return tx.CreateCustomer(context.Background(), c) })
	return c
}

// event builds an event record of the world.
func (w *world) event(typ hub.EventType, at time.Time, customerID, cardID, voucherID *string) hub.EventRecord {
	id := hub.NewID(hub.PrefixEvent)
	payload, _ := json.Marshal(map[string]any{"id": id, "event": typ, "timestamp": at, "business_id": w.biz.ID})
	return hub.EventRecord{ID: id, BusinessID: w.biz.ID, Type: typ, CustomerID: customerID, CardID: cardID,
		VoucherID: voucherID, CreatedAt: at, Payload: payload}
}

// ids returns the ids of a list.
func ids[T any](items []*T, id func(*T) string) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = id(v)
	}
	return out
}

// checkPaging walks a list of 8 rows (all, oldest first) in pages of 3: each
// page holds its rows plus one (3+1, 3+1, 2), newest first, without gaps or
// repeats, and the default page holds all 8.
func checkPaging(t *testing.T, s *sqlstore.Store, all []string, list func(hub.Tx, hub.Page) ([]string, error)) {
	t.Helper()
	newest := slices.Clone(all)
	slices.Reverse(newest)
	var got []string
	p := hub.Page{Limit: 3}
	for _, wantLen := range []int{4, 4, 2} {
		var page []string
		read(t, s, func(tx hub.Tx) error {
			var err error
			page, err = list(tx, p)
			return err
		})
		if len(page) != wantLen {
			t.Fatalf("page after %q: %d rows, want %d", p.Cursor, len(page), wantLen)
		}
		if len(page) > 3 {
			page = page[:3]
		}
		got = append(got, page...)
		p.Cursor = page[len(page)-1]
	}
	diff(t, "ids across pages", newest, got)
	read(t, s, func(tx hub.Tx) error {
		all, err := list(tx, hub.Page{})
		diff(t, "default page", newest, all)
		return err
	})
}
