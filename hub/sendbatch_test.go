package hub_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// ledgerCallStore counts the ledger's per-delivery and set-based store calls
// made inside its transactions.
type ledgerCallStore struct {
	hub.Store
	mu    sync.Mutex
	calls map[string]int
}

func (s *ledgerCallStore) count(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[name]++
}

// countingService is a service of the fixture's clock over st, whose
// ledger calls the returned store counts.
func countingService(t *testing.T, m *messagingFixture, st hub.Store) (*hub.Service, *ledgerCallStore) {
	t.Helper()
	cs := &ledgerCallStore{Store: st, calls: map[string]int{}}
	svc, err := hub.NewService(hub.Config{Store: cs, Now: m.clock, PublicURL: "https://hub.test", SecretKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return svc, cs
}

// take returns the counts so far and starts afresh.
func (s *ledgerCallStore) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = map[string]int{}
	return c
}

func (s *ledgerCallStore) Write(ctx context.Context, fn func(hub.Tx) error) error {
	s.count("Write")
	return s.Store.Write(ctx, func(tx hub.Tx) error { return fn(ledgerCallTx{tx, s}) })
}

type ledgerCallTx struct {
	hub.Tx
	s *ledgerCallStore
}

func (t ledgerCallTx) Delivery(ctx context.Context, businessID, id string, forUpdate bool) (*hub.Delivery, error) {
	t.s.count("Delivery")
	return t.Tx.Delivery(ctx, businessID, id, forUpdate)
}

func (t ledgerCallTx) UpdateDelivery(ctx context.Context, d *hub.Delivery) error {
	t.s.count("UpdateDelivery")
	return t.Tx.UpdateDelivery(ctx, d)
}

func (t ledgerCallTx) Customer(ctx context.Context, businessID, id string) (*hub.Customer, error) {
	t.s.count("Customer")
	return t.Tx.Customer(ctx, businessID, id)
}

func (t ledgerCallTx) Contact(ctx context.Context, businessID, customerID, channel string) (*hub.Contact, error) {
	t.s.count("Contact")
	return t.Tx.Contact(ctx, businessID, customerID, channel)
}

func (t ledgerCallTx) DeliveriesByID(ctx context.Context, businessID string, ids []string, forUpdate bool) ([]*hub.Delivery, error) {
	t.s.count("DeliveriesByID")
	return t.Tx.DeliveriesByID(ctx, businessID, ids, forUpdate)
}

func (t ledgerCallTx) CustomersByID(ctx context.Context, businessID string, ids []string) ([]*hub.Customer, error) {
	t.s.count("CustomersByID")
	return t.Tx.CustomersByID(ctx, businessID, ids)
}

func (t ledgerCallTx) ChannelContacts(ctx context.Context, businessID, channel string, customerIDs []string) ([]*hub.Contact, error) {
	t.s.count("ChannelContacts")
	return t.Tx.ChannelContacts(ctx, businessID, channel, customerIDs)
}

func (t ledgerCallTx) UpdateDeliveries(ctx context.Context, ds []*hub.Delivery) error {
	t.s.count("UpdateDeliveries")
	return t.Tx.UpdateDeliveries(ctx, ds)
}

// TestSendBatchesAreSetBased: claiming and finishing a batch costs the same
// few statements whatever its size (no statement per delivery), and each
// delivery still ends as its own answer says.
func TestSendBatchesAreSetBased(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		svc, cs := countingService(t, m, st)
		seq := 0
		for _, n := range []int{1, 8} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				var keys []hub.DeliveryKey
				for i := range n {
					seq++
					// Every third customer has not agreed to Telegram.
					consent := []string{hub.ChannelTelegram}
					if i%3 == 2 {
						consent = nil
					}
					c := m.customer(seq, consent, true)
					d, _, err := svc.QueueMessage(m.ctx, hub.MessageRequest{BusinessID: m.biz, Source: fmt.Sprintf("batch:%d", seq),
						CustomerID: c.ID, Channel: hub.ChannelTelegram, Content: hub.MessageContent{Text: "Hi"}})
					if err != nil {
						t.Fatal(err)
					}
					keys = append(keys, hub.DeliveryKey{BusinessID: m.biz, ID: d.ID})
				}
				cs.take()
				claims, err := svc.ClaimSends(m.ctx, keys)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]int{"Write": 1, "DeliveriesByID": 1, "CustomersByID": 1, "ChannelContacts": 1, "UpdateDeliveries": 1}
				if d := cmp.Diff(want, cs.take()); d != "" {
					t.Errorf("store calls of ClaimSends (-want +got):\n%s", d)
				}
				var sent []hub.Sent
				for i, c := range claims {
					if c.Out == nil {
						continue
					}
					var sendErr error
					if i%3 == 1 {
						sendErr = &hub.SendError{Kind: hub.SendPermanent, Reason: "blocked"}
					}
					sent = append(sent, hub.Sent{Out: c.Out, Receipt: hub.Receipt{ProviderMessageID: "pm-" + c.Key.ID}, Err: sendErr})
				}
				if _, err := svc.FinishSends(m.ctx, sent, false); err != nil {
					t.Fatal(err)
				}
				want = map[string]int{"Write": 1, "DeliveriesByID": 1, "UpdateDeliveries": 1}
				if d := cmp.Diff(want, cs.take()); d != "" {
					t.Errorf("store calls of FinishSends (-want +got):\n%s", d)
				}
				for i, k := range keys {
					d, err := svc.DeliveryByID(m.ctx, m.biz, k.ID)
					if err != nil {
						t.Fatal(err)
					}
					wantStatus, wantPM, wantAttempts := hub.DeliverySent, "pm-"+k.ID, 1
					switch i % 3 {
					case 1:
						wantStatus, wantPM = hub.DeliveryFailed, ""
					case 2:
						wantStatus, wantPM, wantAttempts = hub.DeliveryFailed, "", 0
					}
					if d.Status != wantStatus || d.ProviderMessageID != wantPM || d.Attempts != wantAttempts {
						t.Errorf("delivery %d: %s %q attempts %d, want %s %q attempts %d", i, d.Status, d.ProviderMessageID,
							d.Attempts, wantStatus, wantPM, wantAttempts)
					}
				}
			})
		}
	})
}

// TestFinishAndClaim records one group's answers and claims the next in a
// single transaction, as FinishSends and ClaimSends would in two.
func TestFinishAndClaim(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		m := newMessagingFixture(t, st)
		svc, cs := countingService(t, m, st)
		var keys []hub.DeliveryKey
		for i := range 4 {
			c := m.customer(i, []string{hub.ChannelTelegram}, true)
			d, _, err := svc.QueueMessage(m.ctx, hub.MessageRequest{BusinessID: m.biz, Source: fmt.Sprintf("fc:%d", i),
				CustomerID: c.ID, Channel: hub.ChannelTelegram, Content: hub.MessageContent{Text: "Hi"}})
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, hub.DeliveryKey{BusinessID: m.biz, ID: d.ID})
		}
		first, err := svc.ClaimSends(m.ctx, keys[:2])
		if err != nil {
			t.Fatal(err)
		}
		var sent []hub.Sent
		for _, c := range first {
			sent = append(sent, hub.Sent{Out: c.Out, Receipt: hub.Receipt{ProviderMessageID: "pm-" + c.Key.ID}})
		}
		cs.take()
		outcomes, next, err := svc.FinishAndClaim(m.ctx, sent, false, keys[2:])
		if err != nil {
			t.Fatal(err)
		}
		if calls := cs.take(); calls["Write"] != 1 {
			t.Errorf("%d transactions, want 1", calls["Write"])
		}
		if len(outcomes) != 2 || len(next) != 2 {
			t.Fatalf("%d outcomes, %d claims; want 2 and 2", len(outcomes), len(next))
		}
		for i, k := range keys {
			d, err := svc.DeliveryByID(m.ctx, m.biz, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := hub.DeliverySent
			if i >= 2 {
				want = hub.DeliverySending
				if next[i-2].Key != k || next[i-2].Out == nil || next[i-2].Out.Message.To == "" {
					t.Errorf("claim %d = %+v, want %s ready to send", i-2, next[i-2], k.ID)
				}
			}
			if d.Status != want || d.Attempts != 1 {
				t.Errorf("delivery %d: %s, %d attempts; want %s, 1", i, d.Status, d.Attempts, want)
			}
		}
	})
}
