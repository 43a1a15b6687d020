package tasks_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/7loc/hub/hub/tasks"
)

// switchable is a publisher that can be made to fail, as when the process
// dies between the commit and the enqueue.
type switchable struct {
	pub  hub.EventPublisher
	down atomic.Bool
}

func (s *switchable) PublishEvents(ctx context.Context, keys []hub.EventKey) error {
	if s.down.Load() {
		return errors.New("queue unreachable")
	}
	return s.pub.PublishEvents(ctx, keys)
}

type env struct {
	svc    *hub.Service
	pub    *switchable
	queues tasks.Queues
	client *asynq.Client
	biz    *hub.Principal
	tpl    *hub.CardTemplate
}

func newEnv(t *testing.T, st *sqlstore.Store) *env {
	t.Helper()
	return newEnvOn(t, st)
}

// newEnvOn is newEnv on any store (one that can fail, say).
func newEnvOn(t *testing.T, st hub.Store) *env {
	t.Helper()
	rdb, _ := redistest.Client(t)
	e := &env{queues: tasks.NewQueues(redistest.Prefix(t, rdb)), client: asynq.NewClientFromRedisClient(rdb)}
	e.pub = &switchable{pub: tasks.NewPublisher(e.client, e.queues)}
	svc, err := hub.NewService(hub.Config{Store: st, Publisher: e.pub})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	ctx := context.Background()
	k, err := svc.EnsureKey(ctx, "Café", "anna", nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.biz, err = svc.Authenticate(ctx, k.Key); err != nil {
		t.Fatal(err)
	}
	e.tpl, err = svc.CreateCardTemplate(ctx, e.biz.Business.ID, hub.CardTemplateInput{Name: "C", Goals: []hub.GoalInput{{Stamps: 2, Reward: hub.RewardInput{Title: "R"}}}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	h := tasks.NewHandlers(svc, nil)
	h.RelayMinAge = time.Nanosecond
	go func() {
		done <- tasks.Run(runCtx, rdb, h, tasks.WorkerConfig{
			Queues: e.queues, Concurrency: 4, Scheduler: true,
			Periodic: []tasks.Periodic{{Spec: "@every 1s", Type: tasks.TypeRelayOutbox}},
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("workers: %v", err)
		}
	})
	return e
}

// undispatched counts the business's events not yet dispatched.
func (e *env) undispatched(t *testing.T) int {
	t.Helper()
	evs, _, err := e.svc.Events(context.Background(), hub.EventFilter{BusinessID: e.biz.Business.ID, Page: hub.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if !ev.Dispatched {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEventsAreDispatchedByTheWorkers(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		email := "ann@example.com"
		c, _, err := e.svc.IssueCard(ctx, e.biz, hub.IssueCardInput{TemplateID: e.tpl.ID, Customer: hub.CustomerInput{Email: &email}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddStamps(ctx, e.biz, c.ID, hub.AddStampsInput{Count: ptr(2)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "all 4 events dispatched", 15*time.Second, func() bool { return e.undispatched(t) == 0 })
	})
}

func TestRelayDispatchesEventsWhoseEnqueueWasLost(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		e.pub.down.Store(true) // commit succeeds, enqueue is lost
		for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			if _, _, err := e.svc.IssueCard(ctx, e.biz, hub.IssueCardInput{TemplateID: e.tpl.ID, Customer: hub.CustomerInput{Email: &email}}); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.undispatched(t); n != 3 {
			t.Fatalf("undispatched = %d, want 3", n)
		}
		e.pub.down.Store(false) // the relay publishes through the same publisher
		waitFor(t, "the relay to dispatch the 3 events", 20*time.Second, func() bool { return e.undispatched(t) == 0 })
	})
}

func TestPublishingTwiceQueuesOnce(t *testing.T) {
	rdb, _ := redistest.Client(t)
	q := tasks.NewQueues(redistest.Prefix(t, rdb))
	client := asynq.NewClientFromRedisClient(rdb)
	pub := tasks.NewPublisher(client, q)
	keys := []hub.EventKey{{BusinessID: "b_1", ID: hub.NewID(hub.PrefixEvent)}, {BusinessID: "b_1", ID: hub.NewID(hub.PrefixEvent)}}
	for i := 0; i < 3; i++ {
		if err := pub.PublishEvents(context.Background(), keys); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(q.Events)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 1 {
		t.Errorf("pending tasks = %d, want 1 (two events of one business, published three times)", info.Pending)
	}
	// Events of two businesses, more than a task holds: 100 events a task,
	// whatever their businesses.
	var many []hub.EventKey
	for i := 0; i < 150; i++ {
		many = append(many, hub.EventKey{BusinessID: "b_2", ID: hub.NewID(hub.PrefixEvent)})
	}
	many = append(many, hub.EventKey{BusinessID: "b_3", ID: hub.NewID(hub.PrefixEvent)})
	if err := pub.PublishEvents(context.Background(), many); err != nil {
		t.Fatal(err)
	}
	info, err = asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(q.Events)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 3 {
		t.Errorf("pending tasks = %d, want 3 (1, then 100 events of b_2, then 50 of b_2 and 1 of b_3)", info.Pending)
	}
}

func ptr[T any](v T) *T { return &v }

// flakyStore is a database that can be taken away: while down, every read
// and write fails, and the calls are counted.
type flakyStore struct {
	hub.Store
	down   atomic.Bool
	failed atomic.Int64
}

var errDatabaseDown = errors.New("database unreachable")

func (f *flakyStore) Write(ctx context.Context, fn func(hub.Tx) error) error {
	if f.down.Load() {
		f.failed.Add(1)
		return errDatabaseDown
	}
	return f.Store.Write(ctx, fn)
}

func (f *flakyStore) Read(ctx context.Context, fn func(hub.Tx) error) error {
	if f.down.Load() {
		f.failed.Add(1)
		return errDatabaseDown
	}
	return f.Store.Read(ctx, fn)
}

// TestPeriodicTaskSurvivesAnOutage takes the database away across several
// runs of the outbox relay; when it is back, the relay runs again within a
// few periods and dispatches the events whose enqueue was lost.
func TestPeriodicTaskSurvivesAnOutage(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		flaky := &flakyStore{Store: st}
		e := newEnvOn(t, flaky)
		ctx := context.Background()
		e.pub.down.Store(true) // commits succeed, enqueues are lost
		for _, email := range []string{"a@example.com", "b@example.com"} {
			if _, _, err := e.svc.IssueCard(ctx, e.biz, hub.IssueCardInput{TemplateID: e.tpl.ID, Customer: hub.CustomerInput{Email: &email}}); err != nil {
				t.Fatal(err)
			}
		}
		flaky.down.Store(true)
		e.pub.down.Store(false)
		waitFor(t, "two relay runs to fail", 15*time.Second, func() bool { return flaky.failed.Load() >= 2 })
		time.Sleep(1500 * time.Millisecond) // and another period or so
		flaky.down.Store(false)
		// A retry with asynq's backoff would come after 15 s at the earliest;
		// the next period comes within 2.
		waitFor(t, "the relay to run again and dispatch both events", 6*time.Second, func() bool { return e.undispatched(t) == 0 })
	})
}
