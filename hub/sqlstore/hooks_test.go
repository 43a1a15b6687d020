package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// newHook builds an active hook of the business created at t0.
func newHook(businessID, event, url string) *hub.Hook {
	return &hub.Hook{ID: hub.NewID(hub.PrefixHook), BusinessID: businessID, Event: event, TargetURL: url,
		Secret: hub.NewWebhookSecret(), Status: hub.HookActive, CreatedAt: t0, ActiveSince: t0}
}

// newAttempt builds a failed first attempt of the hook for the event at t0.
func newAttempt(h *hub.Hook, eventID string) *hub.DeliveryAttempt {
	return &hub.DeliveryAttempt{ID: hub.NewID(hub.PrefixDelivery), BusinessID: h.BusinessID, HookID: h.ID,
		EventID: eventID, Attempt: 1, DurationMS: 12, Error: ptr("connection refused"), At: t0}
}

func createHooks(t testing.TB, s *sqlstore.Store, hooks ...*hub.Hook) {
	t.Helper()
	write(t, s, func(tx hub.Tx) error {
		for _, h := range hooks {
			if err := tx.CreateHook(context.Background(), h); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertAttempts(t testing.TB, s *sqlstore.Store, as ...*hub.DeliveryAttempt) {
	t.Helper()
	write(t, s, func(tx hub.Tx) error {
		for _, a := range as {
			if err := tx.InsertDeliveryAttempt(context.Background(), a); err != nil {
				return err
			}
		}
		return nil
	})
}

func hookIDs(hs []*hub.Hook) []string { return ids(hs, func(h *hub.Hook) string { return h.ID }) }

func TestHookRoundTrip(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		full := newHook(w.biz.ID, string(hub.StampAdded), "https://example.com/full")
		full.PreviousSecret = ptr(hub.NewWebhookSecret())
		full.PreviousSecretUntil = ptr(t0.Add(hub.SecretOverlap))
		full.Status = hub.HookDisabled
		full.FailingSince = ptr(t0.Add(-time.Hour))
		full.ActiveSince = t0.Add(time.Minute)
		bare := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/bare?x=1")
		createHooks(t, s, full, bare)

		read(t, s, func(tx hub.Tx) error {
			for _, want := range []*hub.Hook{full, bare} {
				got, err := tx.Hook(ctx, w.biz.ID, want.ID)
				if err != nil {
					return err
				}
				diff(t, "hook", want, got)
				got, err = tx.HookByTarget(ctx, w.biz.ID, want.Event, want.TargetURL)
				if err != nil {
					return err
				}
				diff(t, "hook by target", want, got)
			}
			all, err := tx.Hooks(ctx, w.biz.ID, hub.Page{})
			diff(t, "hooks", []*hub.Hook{bare, full}, all)
			return err
		})

		// Every stored field changes, to values and back to NULL.
		t1 := t0.Add(time.Hour)
		upd := *bare
		upd.Secret, upd.PreviousSecret, upd.PreviousSecretUntil = "whsec_new", ptr(bare.Secret), &t1
		upd.Status, upd.FailingSince, upd.ActiveSince = hub.HookDisabled, &t1, t1
		upd2 := *full
		upd2.PreviousSecret, upd2.PreviousSecretUntil, upd2.FailingSince = nil, nil, nil
		upd2.Status, upd2.ActiveSince = hub.HookActive, t1
		write(t, s, func(tx hub.Tx) error { return errors.Join(tx.UpdateHook(ctx, &upd), tx.UpdateHook(ctx, &upd2)) })
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.Hook(ctx, w.biz.ID, upd.ID)
			if err != nil {
				return err
			}
			diff(t, "updated hook", &upd, got)
			got, err = tx.Hook(ctx, w.biz.ID, upd2.ID)
			diff(t, "updated hook back to NULLs", &upd2, got)
			return err
		})
		// Only the listed fields are stored.
		other := upd
		other.Event, other.TargetURL, other.CreatedAt = "card_issued", "https://elsewhere.example", t1
		write(t, s, func(tx hub.Tx) error { return tx.UpdateHook(ctx, &other) })
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.Hook(ctx, w.biz.ID, upd.ID)
			diff(t, "hook after update of unstored fields", &upd, got)
			return err
		})
		wantCode(t, s.Write(ctx, func(tx hub.Tx) error {
			h := *bare
			h.ID = hub.NewID(hub.PrefixHook)
			return tx.UpdateHook(ctx, &h)
		}), hub.ENotFound)
	})
}

func TestDeliveryAttemptRoundTrip(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		h := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/h")
		createHooks(t, s, h)
		failed := newAttempt(h, "evt_1") // no status code, an error, empty body
		ok := &hub.DeliveryAttempt{ID: hub.NewID(hub.PrefixDelivery), BusinessID: w.biz.ID, HookID: h.ID, EventID: "evt_1",
			Attempt: 2, StatusCode: ptr(204), DurationMS: 1 << 40, ResponseBody: `{"ok":true} ✓`, Delivered: true,
			At: t0.Add(time.Minute)}
		// Bytes PostgreSQL text refuses are stored as U+FFFD on both databases.
		bad := &hub.DeliveryAttempt{ID: hub.NewID(hub.PrefixDelivery), BusinessID: w.biz.ID, HookID: h.ID, EventID: "evt_2",
			Attempt: 1, StatusCode: ptr(500), Error: ptr("bad\x00byte"), ResponseBody: "a\x00b\xff\xfec" + "\xe2\x9c", At: t0}
		insertAttempts(t, s, failed, ok, bad)
		wantBad := *bad
		wantBad.Error, wantBad.ResponseBody = ptr("bad\uFFFDbyte"), "a\uFFFDb\uFFFDc\uFFFD"
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.DeliveryAttempts(ctx, w.biz.ID, h.ID, hub.Page{})
			diff(t, "attempts", []*hub.DeliveryAttempt{&wantBad, ok, failed}, got)
			return err
		})
		if bad.ResponseBody != "a\x00b\xff\xfec\xe2\x9c" {
			t.Error("InsertDeliveryAttempt changed its argument")
		}
		// A known id is a conflict that leaves the transaction usable.
		var inner error
		write(t, s, func(tx hub.Tx) error {
			inner = tx.InsertDeliveryAttempt(ctx, failed)
			return tx.InsertDeliveryAttempt(ctx, newAttempt(h, "evt_3"))
		})
		wantCode(t, inner, hub.EConflict)
	})
}

func TestHookConflict(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w, w2 := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		h := newHook(w.biz.ID, string(hub.StampAdded), "https://example.com/h")
		createHooks(t, s, h)
		dup := newHook(w.biz.ID, h.Event, h.TargetURL)
		var inner error
		later := newHook(w.biz.ID, string(hub.CardIssued), h.TargetURL)
		write(t, s, func(tx hub.Tx) error {
			inner = tx.CreateHook(ctx, dup)
			// The transaction goes on: a lookup and a write after the conflict.
			got, err := tx.HookByTarget(ctx, w.biz.ID, h.Event, h.TargetURL)
			if err != nil {
				return err
			}
			if got.ID != h.ID {
				t.Errorf("existing hook = %s, want %s", got.ID, h.ID)
			}
			return tx.CreateHook(ctx, later)
		})
		wantCode(t, inner, hub.EConflict)
		if got, want := hub.ErrorMessage(inner), "a hook for this event and URL exists"; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
		read(t, s, func(tx hub.Tx) error { _, err := tx.Hook(ctx, w.biz.ID, later.ID); return err })
		// Returned from Write, the conflict rolls back.
		wantCode(t, s.Write(ctx, func(tx hub.Tx) error { return tx.CreateHook(ctx, dup) }), hub.EConflict)
		// Another event, URL or business is no conflict.
		createHooks(t, s, newHook(w.biz.ID, hub.HookAllEvents, h.TargetURL), newHook(w.biz.ID, h.Event, h.TargetURL+"/2"),
			newHook(w2.biz.ID, h.Event, h.TargetURL))
		read(t, s, func(tx hub.Tx) error {
			n, err := tx.CountHooks(ctx, w.biz.ID)
			if n != 4 {
				t.Errorf("CountHooks = %d, want 4", n)
			}
			return err
		})
	})
}

func TestHookTenantScoping(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		a, b := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		h := newHook(a.biz.ID, string(hub.StampAdded), "https://example.com/a")
		createHooks(t, s, h)
		insertAttempts(t, s, newAttempt(h, "evt_1"))
		other := b.biz.ID

		for name, call := range map[string]func(tx hub.Tx) error{
			"hook":           func(tx hub.Tx) error { _, err := tx.Hook(ctx, other, h.ID); return err },
			"hook by target": func(tx hub.Tx) error { _, err := tx.HookByTarget(ctx, other, h.Event, h.TargetURL); return err },
			"unknown hook":   func(tx hub.Tx) error { _, err := tx.Hook(ctx, a.biz.ID, hub.NewID(hub.PrefixHook)); return err },
			"other event":    func(tx hub.Tx) error { _, err := tx.HookByTarget(ctx, a.biz.ID, "*", h.TargetURL); return err },
		} {
			t.Run(name, func(t *testing.T) {
				err := s.Read(ctx, call)
				wantCode(t, err, hub.ENotFound)
				if got := hub.ErrorMessage(err); got != "hook not found" {
					t.Errorf("message = %q, want %q", got, "hook not found")
				}
			})
		}
		wantCode(t, s.Write(ctx, func(tx hub.Tx) error {
			u := *h
			u.BusinessID, u.Status = other, hub.HookDisabled
			return tx.UpdateHook(ctx, &u)
		}), hub.ENotFound)

		var deleted int64
		write(t, s, func(tx hub.Tx) error {
			var err error
			if err = tx.DeleteHook(ctx, other, h.ID); err != nil {
				return err
			}
			deleted, err = tx.DeleteHooksByTarget(ctx, other, h.TargetURL)
			return err
		})
		if deleted != 0 {
			t.Errorf("DeleteHooksByTarget of another business deleted %d", deleted)
		}
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.Hook(ctx, a.biz.ID, h.ID)
			if err != nil {
				return err
			}
			diff(t, "hook after another business's writes", h, got)
			hs, err := tx.Hooks(ctx, other, hub.Page{})
			if err != nil {
				return err
			}
			forEvent, err := tx.HooksForEvents(ctx, other, []hub.EventType{hub.StampAdded})
			if err != nil {
				return err
			}
			n, err := tx.CountHooks(ctx, other)
			if err != nil {
				return err
			}
			as, err := tx.DeliveryAttempts(ctx, other, h.ID, hub.Page{})
			if err != nil {
				return err
			}
			if len(hs) != 0 || len(forEvent) != 0 || n != 0 || len(as) != 0 {
				t.Errorf("another business sees %d hooks, %d for the event, count %d, %d attempts", len(hs), len(forEvent), n, len(as))
			}
			return nil
		})
	})
}

func TestHooksForEvent(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w, w2 := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		stamp := newHook(w.biz.ID, string(hub.StampAdded), "https://example.com/1")
		all := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/2")
		issued := newHook(w.biz.ID, string(hub.CardIssued), "https://example.com/3")
		disabled := newHook(w.biz.ID, string(hub.StampAdded), "https://example.com/4")
		disabled.Status = hub.HookDisabled
		disabledAll := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/5")
		disabledAll.Status = hub.HookDisabled
		stamp2 := newHook(w.biz.ID, string(hub.StampAdded), "https://example.com/6")
		elsewhere := newHook(w2.biz.ID, string(hub.StampAdded), "https://example.com/1")
		createHooks(t, s, stamp, all, issued, disabled, disabledAll, stamp2, elsewhere)

		tests := []struct {
			event hub.EventType
			want  []*hub.Hook
		}{
			{hub.StampAdded, []*hub.Hook{stamp, all, stamp2}},
			{hub.CardIssued, []*hub.Hook{all, issued}},
			{hub.GoalReached, []*hub.Hook{all}},
		}
		for _, tc := range tests {
			read(t, s, func(tx hub.Tx) error {
				got, err := tx.HooksForEvents(ctx, w.biz.ID, []hub.EventType{tc.event})
				diff(t, "hooks for "+string(tc.event), tc.want, got)
				return err
			})
		}
		// Disabling takes a hook out; re-enabling puts it back.
		u := *all
		u.Status = hub.HookDisabled
		write(t, s, func(tx hub.Tx) error { return tx.UpdateHook(ctx, &u) })
		read(t, s, func(tx hub.Tx) error {
			got, err := tx.HooksForEvents(ctx, w.biz.ID, []hub.EventType{hub.StampAdded})
			diff(t, "after disable", hookIDs([]*hub.Hook{stamp, stamp2}), hookIDs(got))
			return err
		})
	})
}

func TestHookAndAttemptPagination(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w, w2 := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		var hooks []*hub.Hook
		for i := 0; i < 8; i++ {
			hooks = append(hooks, newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/"+string(rune('a'+i))))
		}
		createHooks(t, s, hooks...)
		createHooks(t, s, newHook(w2.biz.ID, hub.HookAllEvents, "https://example.com/a"))
		h, other := hooks[0], hooks[1]
		var attempts []*hub.DeliveryAttempt
		for i := 0; i < 8; i++ {
			attempts = append(attempts, newAttempt(h, "evt_x"))
		}
		insertAttempts(t, s, attempts...)
		insertAttempts(t, s, newAttempt(other, "evt_x"))

		lists := []struct {
			name string
			all  []string
			list func(tx hub.Tx, p hub.Page) ([]string, error)
		}{
			{"hooks", hookIDs(hooks), func(tx hub.Tx, p hub.Page) ([]string, error) {
				r, err := tx.Hooks(ctx, w.biz.ID, p)
				return hookIDs(r), err
			}},
			{"delivery attempts", ids(attempts, func(a *hub.DeliveryAttempt) string { return a.ID }),
				func(tx hub.Tx, p hub.Page) ([]string, error) {
					r, err := tx.DeliveryAttempts(ctx, w.biz.ID, h.ID, p)
					return ids(r, func(a *hub.DeliveryAttempt) string { return a.ID }), err
				}},
		}
		for _, l := range lists {
			t.Run(l.name, func(t *testing.T) {
				checkPaging(t, s, l.all, l.list)
			})
		}
	})
}

func TestDelivered(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w := newWorld(t, s)
		ctx := context.Background()
		h := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/h")
		h2 := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/h2")
		createHooks(t, s, h, h2)
		var evs []hub.EventRecord
		for range 3 {
			evs = append(evs, w.event(hub.StampAdded, t0, &w.customer.ID, &w.card.ID, nil))
		}
		write(t, s, func(tx hub.Tx) error { return tx.InsertEvents(ctx, evs) })
		evt1, evt2, evt3 := evs[0].ID, evs[1].ID, evs[2].ID
		delivered := func(hookID, eventID string) bool {
			t.Helper()
			var ok bool
			read(t, s, func(tx hub.Tx) error {
				var err error
				_, _, ok, err = tx.DeliveryState(ctx, w.biz.ID, hookID, eventID)
				return err
			})
			return ok
		}
		if delivered(h.ID, evt1) {
			t.Error("delivered without attempts")
		}
		insertAttempts(t, s, newAttempt(h, evt1))
		if delivered(h.ID, evt1) {
			t.Error("delivered after a failed attempt")
		}
		// A success for another event, or to another hook, is not this one.
		okOther := newAttempt(h, evt2)
		okOther.Delivered, okOther.StatusCode, okOther.Error = true, ptr(200), nil
		okHook2 := newAttempt(h2, evt1)
		okHook2.Delivered, okHook2.StatusCode, okHook2.Error = true, ptr(200), nil
		insertAttempts(t, s, okOther, okHook2)
		if delivered(h.ID, evt1) {
			t.Error("delivered by another event's or hook's success")
		}
		ok := newAttempt(h, evt1)
		ok.Attempt, ok.Delivered, ok.StatusCode, ok.Error = 2, true, ptr(201), nil
		insertAttempts(t, s, ok, newAttempt(h, evt1))
		if !delivered(h.ID, evt1) {
			t.Error("not delivered after a successful attempt")
		}
		// Inside a write, before commit, too.
		write(t, s, func(tx hub.Tx) error {
			a := newAttempt(h, evt3)
			a.Delivered = true
			if err := tx.InsertDeliveryAttempt(ctx, a); err != nil {
				return err
			}
			_, _, got, err := tx.DeliveryState(ctx, w.biz.ID, h.ID, evt3)
			if !got {
				t.Error("own write not seen")
			}
			return err
		})
	})
}

func TestDeleteHooks(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w, w2 := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		const url = "https://example.com/zap"
		zap1 := newHook(w.biz.ID, string(hub.StampAdded), url)
		zap2 := newHook(w.biz.ID, string(hub.CardIssued), url)
		zap3 := newHook(w.biz.ID, hub.HookAllEvents, url)
		keep := newHook(w.biz.ID, string(hub.StampAdded), url+"/other")
		keep2 := newHook(w2.biz.ID, string(hub.StampAdded), url)
		createHooks(t, s, zap1, zap2, zap3, keep, keep2)
		a := newAttempt(keep, "evt_1")
		insertAttempts(t, s, a)

		var n int64
		write(t, s, func(tx hub.Tx) error {
			var err error
			n, err = tx.DeleteHooksByTarget(ctx, w.biz.ID, url)
			return err
		})
		if n != 3 {
			t.Errorf("DeleteHooksByTarget = %d, want 3", n)
		}
		write(t, s, func(tx hub.Tx) error {
			var err error
			n, err = tx.DeleteHooksByTarget(ctx, w.biz.ID, url)
			return err
		})
		if n != 0 {
			t.Errorf("DeleteHooksByTarget again = %d, want 0", n)
		}
		read(t, s, func(tx hub.Tx) error {
			hs, err := tx.Hooks(ctx, w.biz.ID, hub.Page{})
			diff(t, "hooks left", []*hub.Hook{keep}, hs)
			return err
		})

		// DeleteHook twice, and of an id never seen: no error.
		for i := 0; i < 2; i++ {
			write(t, s, func(tx hub.Tx) error { return tx.DeleteHook(ctx, w.biz.ID, keep.ID) })
		}
		write(t, s, func(tx hub.Tx) error { return tx.DeleteHook(ctx, w.biz.ID, hub.NewID(hub.PrefixHook)) })
		read(t, s, func(tx hub.Tx) error {
			_, err := tx.Hook(ctx, w.biz.ID, keep.ID)
			wantCode(t, err, hub.ENotFound)
			n, err := tx.CountHooks(ctx, w.biz.ID)
			if n != 0 {
				t.Errorf("CountHooks = %d, want 0", n)
			}
			if err != nil {
				return err
			}
			n, err = tx.CountHooks(ctx, w2.biz.ID)
			if n != 1 {
				t.Errorf("other business's CountHooks = %d, want 1", n)
			}
			if err != nil {
				return err
			}
			// The attempts outlive the hook.
			as, err := tx.DeliveryAttempts(ctx, w.biz.ID, keep.ID, hub.Page{})
			diff(t, "attempts of a deleted hook", []*hub.DeliveryAttempt{a}, as)
			return err
		})
		// A new hook may take the place of a deleted one.
		createHooks(t, s, newHook(w.biz.ID, zap1.Event, url))
	})
}

func TestPurgeDeliveryAttempts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		w, w2 := newWorld(t, s), newWorld(t, s)
		ctx := context.Background()
		h := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/h")
		h2 := newHook(w2.biz.ID, hub.HookAllEvents, "https://example.com/h")
		createHooks(t, s, h, h2)
		e1 := w.event(hub.StampAdded, t0, &w.customer.ID, &w.card.ID, nil)
		write(t, s, func(tx hub.Tx) error { return tx.InsertEvents(ctx, []hub.EventRecord{e1}) })
		old, atT0, recent := newAttempt(h, e1.ID), newAttempt(h, "evt_2"), newAttempt(h, "evt_3")
		old.At, recent.At = t0.Add(-time.Hour), t0.Add(time.Hour)
		old.Delivered = true
		otherOld := newAttempt(h2, "evt_4")
		otherOld.At = t0.Add(-24 * time.Hour)
		insertAttempts(t, s, old, atT0, recent, otherOld)
		purgeAtMost := func(at time.Time, limit int) int64 {
			t.Helper()
			var n int64
			write(t, s, func(tx hub.Tx) error {
				var err error
				n, err = tx.PurgeDeliveryAttempts(ctx, at, limit)
				return err
			})
			return n
		}
		purge := func(at time.Time) int64 { t.Helper(); return purgeAtMost(at, 100) }
		if n := purge(t0.Add(-48 * time.Hour)); n != 0 {
			t.Errorf("purged %d before anything, want 0", n)
		}
		// A limit of 1 takes the oldest: the other business's attempt of t0-24h.
		if n := purgeAtMost(t0, 1); n != 1 {
			t.Errorf("purged %d with a limit of 1, want 1", n)
		}
		read(t, s, func(tx hub.Tx) error {
			as, err := tx.DeliveryAttempts(ctx, w2.biz.ID, h2.ID, hub.Page{})
			if len(as) != 0 {
				t.Errorf("the oldest attempt is still there after purging one: %+v", as)
			}
			return err
		})
		// Strictly before t0: every business's older attempts, not the one at t0.
		if n := purge(t0); n != 1 {
			t.Errorf("purged %d more before t0, want 1", n)
		}
		read(t, s, func(tx hub.Tx) error {
			as, err := tx.DeliveryAttempts(ctx, w.biz.ID, h.ID, hub.Page{})
			diff(t, "attempts left", []*hub.DeliveryAttempt{recent, atT0}, as)
			if err != nil {
				return err
			}
			_, _, ok, err := tx.DeliveryState(ctx, w.biz.ID, h.ID, e1.ID)
			if ok {
				t.Error("a purged success still counts as delivered")
			}
			return err
		})
		if n := purge(t0.Add(time.Millisecond)); n != 1 {
			t.Errorf("purged %d at t0+1ms, want 1", n)
		}
		wantCode(t, s.Read(ctx, func(tx hub.Tx) error { _, err := tx.PurgeDeliveryAttempts(ctx, t0, 100); return err }), hub.EInternal)
	})
}

// TestMigrateHooksOnExisting applies 0002 to a database migrated before it
// existed, keeping the data 0001 holds.
func TestMigrateHooksOnExisting(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, s)
		if err := s.ExecForTest(ctx, "DROP TABLE delivery_attempts; DROP TABLE hooks;"+
			" DELETE FROM schema_migrations WHERE version = 2"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
		}
		h := newHook(w.biz.ID, hub.HookAllEvents, "https://example.com/h")
		createHooks(t, s, h)
		insertAttempts(t, s, newAttempt(h, "evt_1"))
		read(t, s, func(tx hub.Tx) error { _, err := tx.Card(ctx, w.biz.ID, w.card.ID, false); return err })
	})
}

// keysOf names events of one business.
func keysOf(businessID string, ids ...string) []hub.EventKey {
	keys := make([]hub.EventKey, len(ids))
	for i, id := range ids {
		keys[i] = hub.EventKey{BusinessID: businessID, ID: id}
	}
	return keys
}
