package tasks

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/7loc/hub/hub"
)

// Batcher gathers the events that concurrent requests publish and hands them
// on together after at most its window: one asynq task per 100 events of any
// businesses instead of one per request. A request does not wait for the enqueue: its events are in
// the database already, and if the process dies before the batch is enqueued
// the outbox relay enqueues them.
type Batcher struct {
	next   hub.EventPublisher
	in     chan []hub.EventKey
	window time.Duration
	log    *slog.Logger
	done   chan struct{}
}

// DispatchWindow is how long the Batcher gathers events before it enqueues
// them: at 1,000 stamps/s of a hundred businesses a 5 ms window carries
// about five events per dispatch task (one read and one write transaction,
// and one task, for all of them), where 1 ms carried one or two; it adds up
// to 5 ms to an event's way to its webhook.
const DispatchWindow = 5 * time.Millisecond

// NewBatcher returns a Batcher in front of next; Run must be running.
func NewBatcher(next hub.EventPublisher, window time.Duration, log *slog.Logger) *Batcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Batcher{next: next, in: make(chan []hub.EventKey, 4096), window: window, log: log, done: make(chan struct{})}
}

// PublishEvents queues the events for the next batch; when the queue is full
// it publishes them at once.
func (b *Batcher) PublishEvents(ctx context.Context, events []hub.EventKey) error {
	select {
	case b.in <- events:
		return nil
	default:
		return b.next.PublishEvents(ctx, events)
	}
}

// Run publishes batches until ctx ends, then publishes what is queued.
func (b *Batcher) Run(ctx context.Context) {
	defer close(b.done)
	for {
		var batch []hub.EventKey
		select {
		case <-ctx.Done():
			b.flush(b.drain(nil))
			return
		case first := <-b.in:
			batch = append(batch, first...)
		}
		timer := time.NewTimer(b.window)
	collect:
		for len(batch) < maxEventsPerTask {
			select {
			case more := <-b.in:
				batch = append(batch, more...)
			case <-timer.C:
				break collect
			case <-ctx.Done():
				break collect
			}
		}
		timer.Stop()
		b.flush(batch)
	}
}

// Done is closed when Run has returned.
func (b *Batcher) Done() <-chan struct{} { return b.done }

func (b *Batcher) drain(batch []hub.EventKey) []hub.EventKey {
	for {
		select {
		case more := <-b.in:
			batch = append(batch, more...)
		default:
			return batch
		}
	}
}

// flush publishes a batch grouped by business, each business's events in
// order (a task's events of one business are read and marked together).
func (b *Batcher) flush(batch []hub.EventKey) {
	if len(batch) == 0 {
		return
	}
	slices.SortStableFunc(batch, func(x, y hub.EventKey) int {
		switch {
		case x.BusinessID < y.BusinessID:
			return -1
		case x.BusinessID > y.BusinessID:
			return 1
		}
		return 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.next.PublishEvents(ctx, batch); err != nil {
		b.log.Warn("events committed but not enqueued; the relay will enqueue them", "events", len(batch), "err", err)
	}
}
