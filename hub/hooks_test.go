package hub_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

type jobs struct {
	mu   sync.Mutex
	list []hub.DeliveryJob
}

func (j *jobs) EnqueueDeliveries(_ context.Context, js []hub.DeliveryJob) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.list = append(j.list, js...)
	return nil
}

func TestHookDisabledAfterFiveDaysOfFailuresAndReEnabled(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		f := newFixture(t, st)
		q := &jobs{}
		svc, err := hub.NewService(hub.Config{Store: st, Publisher: f.pub, Now: f.clock, Webhooks: q})
		if err != nil {
			t.Fatal(err)
		}
		ctx, biz := context.Background(), f.pr.Business.ID
		url := "https://example.com/hook"
		h, _, err := svc.CreateHook(ctx, biz, hub.HookInput{Event: "*", TargetURL: &url})
		if err != nil {
			t.Fatal(err)
		}
		fail := func() bool {
			t.Helper()
			code := 500
			retry, err := svc.RecordDelivery(ctx, &hub.DeliveryAttempt{BusinessID: biz, HookID: h.ID, EventID: "evt_01JTZ6W1Q9M3N4R5S6T7V8W9XY", Attempt: 1, StatusCode: &code, At: f.clock()}, false)
			if err != nil {
				t.Fatal(err)
			}
			return retry
		}
		if !fail() {
			t.Fatal("a first failure should be retried")
		}
		f.advance(4 * 24 * time.Hour)
		if !fail() {
			t.Fatal("failures for 4 days: still retried")
		}
		f.advance(24 * time.Hour)
		if fail() {
			t.Fatal("failures for 5 days: the hook should be disabled and not retried")
		}
		got, _ := svc.Hook(ctx, biz, h.ID)
		if got.Status != hub.HookDisabled {
			t.Fatalf("status = %q, want disabled", got.Status)
		}
		// Events while disabled are not dispatched to it, nor after re-enabling.
		before := f.card("before@example.com")
		f.advance(time.Minute)
		if _, err := svc.EnableHook(ctx, biz, h.ID); err != nil {
			t.Fatal(err)
		}
		f.advance(time.Minute)
		after := f.card("after@example.com")
		for _, c := range []*hub.Card{before, after} {
			evs, _, _ := svc.Events(ctx, hub.EventFilter{BusinessID: biz, CardID: c.ID})
			if err := svc.DispatchEventKeys(ctx, eventKeys(biz, evs[0].ID)); err != nil {
				t.Fatal(err)
			}
		}
		if len(q.list) != 1 {
			t.Fatalf("deliveries scheduled = %+v, want one, for the event after re-enabling", q.list)
		}
		afterEvs, _, _ := svc.Events(ctx, hub.EventFilter{BusinessID: biz, CardID: after.ID})
		if q.list[0].EventID != afterEvs[0].ID {
			t.Errorf("scheduled %s, want the event after re-enabling %s", q.list[0].EventID, afterEvs[0].ID)
		}
		// A success clears the failure streak.
		code := 200
		if _, err := svc.RecordDelivery(ctx, &hub.DeliveryAttempt{BusinessID: biz, HookID: h.ID, EventID: afterEvs[0].ID, Attempt: 1, StatusCode: &code, Delivered: true, At: f.clock()}, false); err != nil {
			t.Fatal(err)
		}
		_, _, skip, err := svc.PrepareDelivery(ctx, q.list[0])
		if err != nil || !skip {
			t.Errorf("a delivered event prepared again: skip=%v err=%v, want skip", skip, err)
		}
	})
}
