package tasks_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
	"github.com/7loc/hub/hub/tasks"
)

// dequeueCounter counts asynq's dequeue script calls on a client.
type dequeueCounter struct{ n atomic.Int64 }

func (c *dequeueCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *dequeueCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (c *dequeueCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if a := cmd.Args(); len(a) > 3 && (a[0] == "evalsha" || a[0] == "eval") && a[2] == 4 {
			if k, _ := a[3].(string); len(k) > 8 && k[len(k)-8:] == ":pending" {
				c.n.Add(1)
			}
		}
		return next(ctx, cmd)
	}
}

// TestWakerHook: an idle worker asks Redis about once per poll interval
// (1 s), not every few milliseconds, yet picks up an event another process
// (another Redis client, with its own Waker) enqueues within milliseconds
// (issue 11, item 8). It also holds the hook's reading of asynq's scripts:
// if an asynq upgrade changes their keys, the worker either polls hard or
// dispatches late, and this test fails.
func TestWakerHook(t *testing.T) {
	rdb, _ := redistest.Client(t)
	queues := tasks.NewQueues(redistest.Prefix(t, rdb))
	count := &dequeueCounter{}
	rdb.AddHook(count)
	st := sqltest.Open(t, sqlstore.DialectSQLite)

	// The API process: its own client, its own Waker.
	api := redis.NewClient(rdb.Options())
	t.Cleanup(func() { _ = api.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tasks.NewWaker(api, queues, 0, nil).Run(ctx)
	client := asynq.NewClientFromRedisClient(api)
	svc, err := hub.NewService(hub.Config{Store: st, Publisher: tasks.NewPublisher(client, queues)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.EnsureKey(ctx, "Café", "anna", nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := svc.Authenticate(ctx, k.Key)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := svc.CreateCardTemplate(ctx, pr.Business.ID, hub.CardTemplateInput{Name: "C",
		Goals: []hub.GoalInput{{Stamps: 100, Reward: hub.RewardInput{Title: "R"}}}})
	if err != nil {
		t.Fatal(err)
	}
	card, _, err := svc.IssueCard(ctx, pr, hub.IssueCardInput{TemplateID: tpl.ID,
		Customer: hub.CustomerInput{Email: ptr("w@example.com")}})
	if err != nil {
		t.Fatal(err)
	}

	// The worker process, with the default poll interval.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- tasks.Run(runCtx, rdb, tasks.NewHandlers(svc, nil), tasks.WorkerConfig{Queues: queues, Concurrency: 4})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("workers: %v", err)
		}
	}()
	time.Sleep(500 * time.Millisecond) // the card's event is dispatched; the worker goes idle

	before := count.n.Load()
	time.Sleep(2 * time.Second)
	if n := count.n.Load() - before; n > 4*7 {
		t.Errorf("an idle worker ran asynq's dequeue %d times in 2 s, want at most 28 (7 queues, about once a second)", n)
	}

	for i := 0; i < 5; i++ {
		res, err := svc.AddStamps(ctx, pr, card.ID, hub.AddStampsInput{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		id := res.Events[0].ID
		for {
			ev, err := svc.Event(ctx, pr.Business.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Dispatched {
				break
			}
			if time.Since(start) > 250*time.Millisecond {
				t.Fatalf("event %d not dispatched 250 ms after its enqueue by another process", i)
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Logf("event %d dispatched within %v", i, time.Since(start).Round(time.Millisecond))
		time.Sleep(300 * time.Millisecond)
	}
}
