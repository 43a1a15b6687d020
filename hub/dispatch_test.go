package hub_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// txCountingStore counts read and write transactions (a store of tests
// that hold a use case to its number of transactions).
type txCountingStore struct {
	hub.Store
	reads, writes atomic.Int64
}

func (c *txCountingStore) Read(ctx context.Context, fn func(hub.Tx) error) error {
	c.reads.Add(1)
	return c.Store.Read(ctx, fn)
}

func (c *txCountingStore) Write(ctx context.Context, fn func(hub.Tx) error) error {
	c.writes.Add(1)
	return c.Store.Write(ctx, fn)
}

// TestDispatchSpansBusinesses: one dispatch of the events of several
// businesses is one read and one write transaction; each event goes to the
// hooks of its own business only, a key that names an event under another
// business is ignored, and a second dispatch of the batch does nothing.
func TestDispatchSpansBusinesses(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		ctx := f.ctx
		a := f.pr.Business.ID
		other := f.business("Salon", "bea")
		b := other.Business.ID
		otherTpl := f.template(b, []int{4})

		q := &jobs{}
		counted := &txCountingStore{Store: st}
		svc, err := hub.NewService(hub.Config{Store: counted, Publisher: f.pub, Now: f.clock, Webhooks: q})
		if err != nil {
			t.Fatal(err)
		}
		url := "https://example.com/hook"
		hookA, _, err := svc.CreateHook(ctx, a, hub.HookInput{Event: "*", TargetURL: &url})
		if err != nil {
			t.Fatal(err)
		}
		hookB, _, err := svc.CreateHook(ctx, b, hub.HookInput{Event: string(hub.CardIssued), TargetURL: &url})
		if err != nil {
			t.Fatal(err)
		}
		f.advance(1)
		f.card("a1@example.com")
		f.card("a2@example.com")
		for _, email := range []string{"b1@example.com", "b2@example.com"} {
			if _, _, err := f.svc.IssueCard(ctx, other, hub.IssueCardInput{TemplateID: otherTpl.ID, Customer: hub.CustomerInput{Email: &email}}); err != nil {
				t.Fatal(err)
			}
		}
		var keys []hub.EventKey
		want := map[string][]string{} // event id: the hooks it goes to
		for _, biz := range []string{a, b} {
			evs, _, err := svc.Events(ctx, hub.EventFilter{BusinessID: biz, Page: hub.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				keys = append(keys, hub.EventKey{BusinessID: biz, ID: e.ID})
				switch {
				case biz == a:
					want[e.ID] = []string{hookA.ID}
				case e.Type == hub.CardIssued:
					want[e.ID] = []string{hookB.ID}
				}
			}
		}
		if len(keys) < 4 {
			t.Fatalf("only %d events to dispatch", len(keys))
		}
		// One of A's events named as B's, and an unknown one.
		keys = append(keys, hub.EventKey{BusinessID: b, ID: keys[0].ID}, hub.EventKey{BusinessID: a, ID: "evt_01JTZ6W1Q9M3N4R5S6T7V8W9XY"})

		r0, w0 := counted.reads.Load(), counted.writes.Load()
		if err := svc.DispatchEventKeys(ctx, keys); err != nil {
			t.Fatal(err)
		}
		if r, w := counted.reads.Load()-r0, counted.writes.Load()-w0; r != 1 || w != 1 {
			t.Errorf("the dispatch of %d events of two businesses took %d reads and %d writes, want 1 and 1", len(keys), r, w)
		}
		got := map[string][]string{}
		for _, j := range q.list {
			if (j.HookID == hookA.ID) != (j.BusinessID == a) {
				t.Errorf("job %+v: a hook of another business", j)
			}
			got[j.EventID] = append(got[j.EventID], j.HookID)
		}
		for _, hs := range got {
			slices.Sort(hs)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("deliveries by event (-want +got):\n%s", d)
		}
		for _, biz := range []string{a, b} {
			evs, _, err := svc.Events(ctx, hub.EventFilter{BusinessID: biz, Page: hub.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if !e.Dispatched {
					t.Errorf("event %s of %s not marked dispatched", e.ID, biz)
				}
			}
		}
		n := len(q.list)
		if err := svc.DispatchEventKeys(ctx, keys); err != nil {
			t.Fatal(err)
		}
		if len(q.list) != n {
			t.Errorf("a second dispatch scheduled %d more deliveries, want none", len(q.list)-n)
		}
	})
}
