package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestSendBatch: the set-based reads and writes of ClaimSends and
// FinishSends see only their business's rows, and UpdateDeliveries stores
// every delivery's own values in one go or fails as a whole.
func TestSendBatch(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w, other := newWorld(t, s), newWorld(t, s)
		var ds []*hub.Delivery
		write(t, s, func(tx hub.Tx) error {
			if err := tx.PutContact(ctx, &hub.Contact{BusinessID: w.biz.ID, CustomerID: w.customer.ID, Channel: hub.ChannelTelegram,
				Address: "42", LinkedAt: t0, Reachable: true}); err != nil {
				return err
			}
			for i := 0; i < 4; i++ {
				d := &hub.Delivery{ID: hub.NewID(hub.PrefixDelivery), BusinessID: w.biz.ID, Source: fmt.Sprintf("s:%d", i),
					CustomerID: w.customer.ID, Channel: hub.ChannelTelegram, Status: hub.DeliveryPending,
					Content: hub.MessageContent{Text: "hi"}, CreatedAt: t0, UpdatedAt: t0}
				ds = append(ds, d)
				if err := tx.CreateDelivery(ctx, d); err != nil {
					return err
				}
			}
			return nil
		})
		ids := []string{ds[2].ID, ds[0].ID, ds[3].ID, "dlv_01M8WPXJ02F9659HXZ3MJD09V3"}
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.DeliveriesByID(ctx, w.biz.ID, ids, false)
			if err != nil {
				return err
			}
			diff(t, "deliveries, in id order", []*hub.Delivery{ds[0], ds[2], ds[3]}, got)
			if got, err := tx.DeliveriesByID(ctx, other.biz.ID, ids, false); err != nil || len(got) != 0 {
				t.Errorf("another business's deliveries: %v, %v", got, err)
			}
			custs, err := tx.CustomersByID(ctx, w.biz.ID, []string{w.customer.ID, other.customer.ID})
			if err != nil {
				return err
			}
			diff(t, "customers", []*hub.Customer{w.customer}, custs)
			contacts, err := tx.ChannelContacts(ctx, w.biz.ID, hub.ChannelTelegram, []string{w.customer.ID, other.customer.ID})
			if err != nil || len(contacts) != 1 || contacts[0].Address != "42" {
				t.Errorf("contacts: %v, %v", contacts, err)
			}
			if contacts, err := tx.ChannelContacts(ctx, w.biz.ID, hub.ChannelEmail, []string{w.customer.ID}); err != nil || len(contacts) != 0 {
				t.Errorf("contacts on another channel: %v, %v", contacts, err)
			}
			return nil
		})

		t1, t2 := t0.Add(1e9), t0.Add(2e9)
		tests := []struct {
			name   string
			change func() []*hub.Delivery
			code   hub.Code // of the whole update; "" is none
		}{
			{"one", func() []*hub.Delivery {
				d := *ds[0]
				d.Status, d.Attempts, d.UpdatedAt = hub.DeliverySending, 1, t1
				return []*hub.Delivery{&d}
			}, ""},
			{"columns the rows share and columns they differ in, two times", func() []*hub.Delivery {
				var out []*hub.Delivery
				for i, d := range ds[1:] {
					c := *d
					c.Status, c.Provider, c.Attempts, c.ProviderMessageID, c.Error, c.UpdatedAt =
						hub.DeliverySent, "telegram", i+1, fmt.Sprintf("pm-%d", i), "", t2
					c.SentAt = &t2
					if i == 2 {
						c.Status, c.Error, c.SentAt, c.UpdatedAt = hub.DeliveryFailed, "bad", nil, t1
					}
					out = append(out, &c)
				}
				return out
			}, ""},
			{"one missing: nothing stored", func() []*hub.Delivery {
				a, b := *ds[0], *ds[1]
				a.Status, b.ID = hub.DeliveryUnknown, "dlv_01M8WPXJ02F9659HXZ3MJD09V3"
				return []*hub.Delivery{&a, &b}
			}, hub.ENotFound},
			{"another business's: nothing stored", func() []*hub.Delivery {
				a, b := *ds[0], *ds[1]
				a.Status, b.BusinessID = hub.DeliveryUnknown, other.biz.ID
				return []*hub.Delivery{&a, &b}
			}, hub.ENotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				change := tt.change()
				before := map[string]*hub.Delivery{}
				read(t, s, func(tx hub.Tx) error {
					got, err := tx.DeliveriesByID(ctx, w.biz.ID, []string{ds[0].ID, ds[1].ID, ds[2].ID, ds[3].ID}, false)
					for _, d := range got {
						before[d.ID] = d
					}
					return err
				})
				err := s.Write(ctx, func(tx hub.Tx) error { return tx.UpdateDeliveries(ctx, change) })
				wantCode(t, err, tt.code)
				read(t, s, func(tx hub.Tx) error {
					for _, c := range change {
						if c.BusinessID != w.biz.ID || before[c.ID] == nil {
							continue
						}
						got, err := tx.Delivery(ctx, w.biz.ID, c.ID, false)
						if err != nil {
							return err
						}
						want := c
						if tt.code != "" {
							want = before[c.ID]
						}
						diff(t, "delivery "+c.ID, want, got, cmpopts.EquateEmpty())
					}
					return nil
				})
			})
		}
	})
}

// TestSendBatchesPlanEachStatement: on PostgreSQL a transaction that reads
// or updates a set of deliveries plans its statements for their arguments
// from then on (a generic plan made while deliveries was small kept a
// sequential scan per statement for a campaign's first minute), and only
// that transaction: the stamp path keeps its cached plans.
func TestSendBatchesPlanEachStatement(t *testing.T) {
	s := sqltest.Open(t, sqlstore.DialectPostgres)
	ctx := context.Background()
	w := newWorld(t, s)
	mode := func(tx hub.Tx) string {
		t.Helper()
		m, err := sqlstore.PlanCacheModeForTest(ctx, tx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name string
		set  func(tx hub.Tx) error
	}{
		{"deliveries by id", func(tx hub.Tx) error {
			_, err := tx.DeliveriesByID(ctx, w.biz.ID, []string{hub.NewID(hub.PrefixDelivery)}, true)
			return err
		}},
		{"UpdateDeliveries", func(tx hub.Tx) error { return tx.UpdateDeliveries(ctx, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after string
			write(t, s, func(tx hub.Tx) error {
				before = mode(tx)
				if err := tc.set(tx); err != nil {
					return err
				}
				after = mode(tx)
				return nil
			})
			var next string
			write(t, s, func(tx hub.Tx) error { next = mode(tx); return nil })
			if before != "auto" || after != "force_custom_plan" || next != "auto" {
				t.Errorf("plan_cache_mode before the set statement %q, after %q, in the next transaction %q; want auto, force_custom_plan, auto",
					before, after, next)
			}
		})
	}
}
