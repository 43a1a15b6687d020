package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// The tests of this file cover the writes that PostgreSQL defers to the
// transaction's next statement or COMMIT (pg.go); on SQLite the same calls
// run at once, and the outcome of Write must be the same on both.

// cardOf reads a card outside any transaction.
func cardOf(t *testing.T, s *sqlstore.Store, businessID, id string) *hub.Card {
	t.Helper()
	var c *hub.Card
	read(t, s, func(tx hub.Tx) error {
		var err error
		c, err = tx.Card(context.Background(), businessID, id, false)
		return err
	})
	return c
}

// eventCount counts the business's events.
func eventCount(t *testing.T, s *sqlstore.Store, businessID string) int {
	t.Helper()
	var n int
	read(t, s, func(tx hub.Tx) error {
		evs, err := tx.Events(context.Background(), hub.EventFilter{BusinessID: businessID, Page: hub.Page{Limit: 100}})
		n = len(evs)
		return err
	})
	return n
}

func TestDeferredWritesCommit(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		write(t, s, func(tx hub.Tx) error {
			c, err := tx.Card(ctx, w.biz.ID, w.card.ID, true)
			if err != nil {
				return err
			}
			c.Stamps, c.StampsTotal = 4, 14
			if err := tx.UpdateCard(ctx, c); err != nil {
				return err
			}
			// The transaction reads its own deferred write.
			again, err := tx.Card(ctx, w.biz.ID, w.card.ID, false)
			if err != nil {
				return err
			}
			if again.Stamps != 4 {
				t.Errorf("read after UpdateCard: stamps = %d, want 4", again.Stamps)
			}
			c.Stamps = 5
			if err := tx.UpdateCard(ctx, c); err != nil {
				return err
			}
			return tx.InsertEvents(ctx, []hub.EventRecord{w.event(hub.StampAdded, t0, &c.CustomerID, &c.ID, nil)})
		})
		if got := cardOf(t, s, w.biz.ID, w.card.ID); got.Stamps != 5 || got.StampsTotal != 14 {
			t.Errorf("card after commit: stamps %d/%d, want 5/14", got.Stamps, got.StampsTotal)
		}
		if n := eventCount(t, s, w.biz.ID); n != 1 {
			t.Errorf("events = %d, want 1", n)
		}
		// A transaction that runs nothing commits nothing and fails not.
		write(t, s, func(hub.Tx) error { return nil })
	})
}

func TestDeferredWriteNotFound(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		gone := *w.card
		gone.ID = hub.NewID(hub.PrefixCard)
		// Alone: the update goes out with COMMIT on PostgreSQL.
		err := s.Write(ctx, func(tx hub.Tx) error {
			if err := tx.InsertEvents(ctx, []hub.EventRecord{w.event(hub.StampAdded, t0, nil, nil, nil)}); err != nil {
				return err
			}
			return tx.UpdateCard(ctx, &gone)
		})
		wantCode(t, err, hub.ENotFound)
		if n := eventCount(t, s, w.biz.ID); n != 0 {
			t.Errorf("events after a failed transaction = %d, want 0", n)
		}
		// Followed by a read: that read fails, and so does the transaction,
		// even when fn ignores the error.
		var readErr error
		err = s.Write(ctx, func(tx hub.Tx) error {
			if err := tx.UpdateCard(ctx, &gone); err != nil {
				return err
			}
			_, readErr = tx.Business(ctx, w.biz.ID)
			return nil
		})
		wantCode(t, err, hub.ENotFound)
		if s.Dialect() == sqlstore.DialectPostgres {
			wantCode(t, readErr, hub.ENotFound)
		}
		// The store goes on working.
		write(t, s, func(tx hub.Tx) error { _, err := tx.Business(ctx, w.biz.ID); return err })
	})
}

func TestDeferredWriteRollback(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		boom := errors.New("boom")
		err := s.Write(ctx, func(tx hub.Tx) error {
			c := *w.card
			c.Stamps = 9
			if err := tx.UpdateCard(ctx, &c); err != nil {
				return err
			}
			if err := tx.InsertEvents(ctx, []hub.EventRecord{w.event(hub.StampAdded, t0, nil, nil, nil)}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Write = %v, want boom", err)
		}
		func() {
			defer func() {
				if p := recover(); p != "panic" {
					t.Errorf("recovered %v", p)
				}
			}()
			_ = s.Write(ctx, func(tx hub.Tx) error {
				if _, err := tx.Card(ctx, w.biz.ID, w.card.ID, true); err != nil {
					return err
				}
				c := *w.card
				c.Stamps = 8
				if err := tx.UpdateCard(ctx, &c); err != nil {
					return err
				}
				panic("panic")
			})
		}()
		if got := cardOf(t, s, w.biz.ID, w.card.ID); got.Stamps != w.card.Stamps {
			t.Errorf("stamps after rollbacks = %d, want %d", got.Stamps, w.card.Stamps)
		}
		if n := eventCount(t, s, w.biz.ID); n != 0 {
			t.Errorf("events after rollbacks = %d, want 0", n)
		}
		// The card is not left locked.
		write(t, s, func(tx hub.Tx) error { _, err := tx.Card(ctx, w.biz.ID, w.card.ID, true); return err })
	})
}

func TestDeferredInsertConflict(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		e := w.event(hub.StampAdded, t0, nil, nil, nil)
		write(t, s, func(tx hub.Tx) error { return tx.InsertEvents(ctx, []hub.EventRecord{e}) })
		err := s.Write(ctx, func(tx hub.Tx) error {
			c := *w.card
			c.Stamps = 1
			if err := tx.UpdateCard(ctx, &c); err != nil {
				return err
			}
			return tx.InsertEvents(ctx, []hub.EventRecord{e})
		})
		wantCode(t, err, hub.EConflict)
		if got := cardOf(t, s, w.biz.ID, w.card.ID); got.Stamps != w.card.Stamps {
			t.Errorf("stamps after a failed transaction = %d, want %d", got.Stamps, w.card.Stamps)
		}
	})
}

func TestMarkEventsDispatchedTwice(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		e := w.event(hub.StampAdded, t0, nil, nil, nil)
		write(t, s, func(tx hub.Tx) error { return tx.InsertEvents(ctx, []hub.EventRecord{e}) })
		write(t, s, func(tx hub.Tx) error { return tx.MarkEventsDispatched(ctx, []*hub.EventRecord{&e}) })
		write(t, s, func(tx hub.Tx) error {
			return tx.MarkEventsDispatched(ctx, []*hub.EventRecord{&e, {ID: "evt_unknown", CreatedAt: t0}})
		})
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.Event(ctx, w.biz.ID, e.ID)
			if err == nil && !got.Dispatched {
				t.Error("not dispatched after two marks")
			}
			return err
		})
	})
}

func TestDeliveryState(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w, other := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		h := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/h")
		h.FailingSince = ptr(t0)
		createHooks(t, s, h)
		e := w.event(hub.StampAdded, t0, &w.customer.ID, &w.card.ID, nil)
		write(t, s, func(tx hub.Tx) error { return tx.InsertEvents(ctx, []hub.EventRecord{e}) })
		state := func(businessID, hookID, eventID string) (*hub.Hook, *hub.EventRecord, bool, error) {
			var (
				gh        *hub.Hook
				ge        *hub.EventRecord
				delivered bool
			)
			err := s.Read(ctx, func(tx hub.Tx) error {
				var err error
				gh, ge, delivered, err = tx.DeliveryState(ctx, businessID, hookID, eventID)
				return err
			})
			return gh, ge, delivered, err
		}
		gh, ge, delivered, err := state(w.biz.ID, h.ID, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "hook", h, gh)
		want := e
		diff(t, "event", &want, ge)
		if delivered {
			t.Error("delivered before any attempt")
		}
		// A failed attempt is no delivery.
		insertAttempts(t, s, newAttempt(h, e.ID))
		if _, _, delivered, _ := state(w.biz.ID, h.ID, e.ID); delivered {
			t.Error("delivered after a failed attempt")
		}
		ok := &hub.DeliveryAttempt{ID: hub.NewID(hub.PrefixDelivery), BusinessID: w.biz.ID, HookID: h.ID, EventID: e.ID,
			Attempt: 2, StatusCode: ptr(204), DurationMS: 3, ResponseBody: "ok", Delivered: true, At: t0.Add(time.Minute)}
		write(t, s, func(tx hub.Tx) error { return tx.RecordDelivered(ctx, ok) })
		gh, _, delivered, err = state(w.biz.ID, h.ID, e.ID)
		if err != nil || !delivered || gh.FailingSince != nil {
			t.Errorf("after RecordDelivered: delivered %v, failing since %v, err %v", delivered, gh.FailingSince, err)
		}
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.DeliveryAttempts(ctx, w.biz.ID, h.ID, hub.Page{})
			if len(got) != 2 {
				t.Errorf("attempts = %d, want 2", len(got))
			} else {
				diff(t, "recorded attempt", ok, got[0])
			}
			return err
		})
		for _, c := range []struct{ biz, hook, event string }{
			{w.biz.ID, hub.NewID(hub.PrefixHook), e.ID},
			{w.biz.ID, h.ID, hub.NewID(hub.PrefixEvent)},
			{other.biz.ID, h.ID, e.ID},
		} {
			_, _, _, err := state(c.biz, c.hook, c.event)
			wantCode(t, err, hub.ENotFound)
		}
		// An attempt of a hook that is gone is recorded all the same.
		orphan := &hub.DeliveryAttempt{ID: hub.NewID(hub.PrefixDelivery), BusinessID: w.biz.ID, HookID: hub.NewID(hub.PrefixHook),
			EventID: e.ID, Attempt: 1, StatusCode: ptr(200), Delivered: true, At: t0}
		write(t, s, func(tx hub.Tx) error { return tx.RecordDelivered(ctx, orphan) })
	})
}

func TestDispatchQueries(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w, other := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		all := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/all")
		stamps := newHook(w.biz.ID, string(hub.StampAdded), "https://example.com/stamps")
		goals := newHook(w.biz.ID, string(hub.GoalReached), "https://example.com/goals")
		goals.Status = hub.HookDisabled
		vouchers := newHook(w.biz.ID, string(hub.VoucherIssuedEv), "https://example.com/vouchers")
		elsewhere := newHook(other.biz.ID, hub.HookAllEvents, "https://example.com/all")
		createHooks(t, s, all, stamps, goals, vouchers, elsewhere)
		e1, e2, e3 := w.event(hub.StampAdded, t0, nil, nil, nil), w.event(hub.GoalReached, t0, nil, nil, nil),
			w.event(hub.StampAdded, t0, nil, nil, nil)
		e4 := other.event(hub.StampAdded, t0, nil, nil, nil)
		write(t, s, func(tx hub.Tx) error { return tx.InsertEvents(ctx, []hub.EventRecord{e1, e2, e3, e4}) })
		read(t, s, func(tx hub.Tx) error {
			dtx := tx
			evs, err := dtx.EventsByKey(ctx, keysOf(w.biz.ID, e3.ID, e1.ID, "evt_unknown", e4.ID))
			if err != nil {
				return err
			}
			got := ids(evs, func(e *hub.EventRecord) string { return e.ID })
			slices.Sort(got)
			want := []string{e1.ID, e3.ID}
			slices.Sort(want)
			diff(t, "events by id", want, got)
			for types, want := range map[string][]*hub.Hook{
				"":                            {all},
				"stamp_added":                 {all, stamps},
				"goal_reached":                {all},
				"stamp_added voucher_issued":  {all, stamps, vouchers},
				"voucher_issued stamp_added":  {all, stamps, vouchers},
				"goal_reached voucher_issued": {all, vouchers},
			} {
				var ts []hub.EventType
				for _, f := range strings.Fields(types) {
					ts = append(ts, hub.EventType(f))
				}
				hs, err := dtx.HooksForEvents(ctx, w.biz.ID, ts)
				if err != nil {
					return err
				}
				slices.SortFunc(want, func(a, b *hub.Hook) int { return strings.Compare(a.ID, b.ID) })
				diff(t, "hooks for "+types, hookIDs(want), hookIDs(hs))
			}
			return nil
		})
	})
}

// TestEventsWithHooks holds the dispatch's one query to what its two
// (EventsByKey, then HooksForEvents of each business's undispatched events'
// types) return, for keys of one business or several.
func TestEventsWithHooks(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w, other := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		all := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/all")
		stamps := newHook(w.biz.ID, string(hub.StampAdded), "https://example.com/stamps")
		stamps2 := newHook(w.biz.ID, string(hub.StampAdded), "https://example.com/stamps2")
		goals := newHook(w.biz.ID, string(hub.GoalReached), "https://example.com/goals")
		goals.Status = hub.HookDisabled
		vouchers := newHook(w.biz.ID, string(hub.VoucherIssuedEv), "https://example.com/vouchers")
		elsewhere := newHook(other.biz.ID, hub.HookAllEvents, "https://example.com/all")
		createHooks(t, s, all, stamps, stamps2, goals, vouchers, elsewhere)
		stamp1, stamp2 := w.event(hub.StampAdded, t0, nil, nil, nil), w.event(hub.StampAdded, t0, nil, nil, nil)
		goal := w.event(hub.GoalReached, t0, nil, nil, nil)
		voucher := w.event(hub.VoucherIssuedEv, t0, nil, nil, nil)
		voucher.Dispatched = true
		opened := w.event(hub.CardOpened, t0, nil, nil, nil)
		foreign := other.event(hub.StampAdded, t0, nil, nil, nil)
		write(t, s, func(tx hub.Tx) error {
			return tx.InsertEvents(ctx, []hub.EventRecord{stamp1, stamp2, goal, voucher, opened, foreign})
		})
		mine := func(ids ...string) []hub.EventKey { return keysOf(w.biz.ID, ids...) }
		tests := []struct {
			name       string
			keys       []hub.EventKey
			events     []string
			dispatched []string
			hooks      []*hub.Hook
		}{
			{"none", nil, nil, nil, nil},
			{"unknown, and another business's event named as ours", mine("evt_unknown", foreign.ID), nil, nil, nil},
			{"two stamps: each hook once", mine(stamp1.ID, stamp2.ID), []string{stamp1.ID, stamp2.ID}, nil,
				[]*hub.Hook{all, stamps, stamps2}},
			{"a disabled hook's type", mine(goal.ID), []string{goal.ID}, nil, []*hub.Hook{all}},
			{"a dispatched event brings no hooks", mine(voucher.ID), []string{voucher.ID}, []string{voucher.ID}, nil},
			{"a type without its own hooks", mine(opened.ID, voucher.ID), []string{opened.ID, voucher.ID}, []string{voucher.ID},
				[]*hub.Hook{all}},
			{"everything", mine(opened.ID, goal.ID, voucher.ID, stamp2.ID, foreign.ID, "evt_unknown"),
				[]string{opened.ID, goal.ID, voucher.ID, stamp2.ID}, []string{voucher.ID}, []*hub.Hook{all, stamps, stamps2}},
			{"two businesses: each event with its own business's hooks",
				append(mine(goal.ID), keysOf(other.biz.ID, foreign.ID)...), []string{goal.ID, foreign.ID}, nil,
				[]*hub.Hook{all, elsewhere}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				read(t, s, func(tx hub.Tx) error {
					evs, hooks, err := tx.EventsWithHooks(ctx, tc.keys)
					if err != nil {
						return err
					}
					var got, gotDispatched []string
					for _, e := range evs {
						got = append(got, e.ID)
						if e.Dispatched {
							gotDispatched = append(gotDispatched, e.ID)
						}
					}
					slices.Sort(got)
					slices.Sort(gotDispatched)
					want, wantDispatched := slices.Clone(tc.events), slices.Clone(tc.dispatched)
					slices.Sort(want)
					slices.Sort(wantDispatched)
					diff(t, "events", want, got, cmpopts.EquateEmpty())
					diff(t, "dispatched", wantDispatched, gotDispatched, cmpopts.EquateEmpty())
					wantHooks := slices.Clone(tc.hooks)
					slices.SortFunc(wantHooks, func(a, b *hub.Hook) int { return strings.Compare(a.ID, b.ID) })
					diff(t, "hooks", wantHooks, hooks, cmpopts.EquateEmpty())
					// The same as the two queries it replaces, per business.
					byKey, err := tx.EventsByKey(ctx, tc.keys)
					if err != nil {
						return err
					}
					types := map[string][]hub.EventType{}
					for _, e := range byKey {
						if !e.Dispatched && !slices.Contains(types[e.BusinessID], e.Type) {
							types[e.BusinessID] = append(types[e.BusinessID], e.Type)
						}
					}
					var twoQueries []*hub.Hook
					for biz, ts := range types {
						hs, err := tx.HooksForEvents(ctx, biz, ts)
						if err != nil {
							return err
						}
						twoQueries = append(twoQueries, hs...)
					}
					slices.SortFunc(twoQueries, func(a, b *hub.Hook) int { return strings.Compare(a.ID, b.ID) })
					diff(t, "hooks against HooksForEvents", twoQueries, hooks, cmpopts.EquateEmpty())
					return nil
				})
			})
		}
	})
}
