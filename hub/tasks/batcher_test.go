package tasks_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/tasks"
)

type collector struct {
	mu      sync.Mutex
	batches [][]hub.EventKey
}

func (c *collector) PublishEvents(_ context.Context, keys []hub.EventKey) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, append([]hub.EventKey(nil), keys...))
	return nil
}

func (c *collector) all() [][]hub.EventKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]hub.EventKey(nil), c.batches...)
}

func TestBatcherGroupsConcurrentPublishes(t *testing.T) {
	next := &collector{}
	b := tasks.NewBatcher(next, 50*time.Millisecond, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go b.Run(ctx)
	k := func(biz, id string) hub.EventKey { return hub.EventKey{BusinessID: biz, ID: id} }
	for _, keys := range [][]hub.EventKey{{k("b2", "e1"), k("b2", "e2")}, {k("b1", "e3")}, {k("b2", "e4")}} {
		if err := b.PublishEvents(ctx, keys); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(next.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// One batch, grouped by business, each business's events in their order.
	want := [][]hub.EventKey{{k("b1", "e3"), k("b2", "e1"), k("b2", "e2"), k("b2", "e4")}}
	if diff := cmp.Diff(want, next.all()); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
	// What is queued when the batcher stops is still published.
	if err := b.PublishEvents(ctx, []hub.EventKey{k("b3", "e5")}); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-b.Done()
	got := next.all()
	if last := got[len(got)-1]; len(last) != 1 || last[0].ID != "e5" {
		t.Errorf("events queued at shutdown: batches %v", got)
	}
}

func TestOrphanedTasksRunAgainAtOnce(t *testing.T) {
	if d := tasks.RetryDelay(0, asynq.ErrLeaseExpired, nil); d > time.Second {
		t.Errorf("retry after a dead worker = %s, want at most 1 s", d)
	}
	if d := tasks.RetryDelay(0, errors.New("boom"), nil); d < 10*time.Second {
		t.Errorf("retry after an ordinary failure = %s, want asynq's backoff (≥ 15 s)", d)
	}
}
