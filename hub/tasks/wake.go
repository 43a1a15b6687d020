package tasks

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// An idle asynq worker looks for tasks by running its dequeue script once
// per queue, every TaskCheckInterval: asynq v0.26 has no blocking dequeue.
// At the 10 ms that webhook latency needs, an idle process made about 700
// Redis script calls a second, which cost it 4-9 % of a core, Redis 2-4 %,
// and `hub dev` (whose embedded Redis runs the scripts in Go) 10-16 %.
//
// A Waker makes idle workers wait instead. It is a go-redis hook on the
// client that asynq uses:
//
//   - when a script that puts tasks into a pending list succeeds (an
//     enqueue, and asynq's forwarder moving due retries and scheduled tasks),
//     it wakes the workers of this process at once and, through one PUBLISH
//     on a Redis channel, those of every other process;
//   - when every queue came back empty, asynq's processor sleeps
//     TaskCheckInterval and then runs its dequeue script again: the hook
//     holds that call until a wake-up arrives, or Idle passes, whichever is
//     first.
//
// So an idle worker asks Redis once per Idle, and a task is picked up a
// Redis round trip after it was enqueued. A wake-up lost with a broken
// subscription, or a task enqueued by a program without the hook, waits at
// most Idle. The hook recognises asynq's scripts by their keys (the dequeue
// script's four keys end in :pending, :paused, :active and :lease);
// TestWakerHook keeps that true across asynq upgrades.
type Waker struct {
	rdb     redis.UniversalClient
	channel string
	idle    time.Duration
	queues  int32
	log     *slog.Logger

	// notify asks the publisher loop for one PUBLISH (coalesced).
	notify chan struct{}
	// wake is a latched wake-up for the waiting dequeue.
	wake chan struct{}
	// misses counts dequeue calls that found nothing since the last task or
	// the last wait; at queues the processor has seen every queue empty.
	misses atomic.Int32
	// listening is closed when Listen returns; nil while no Listen runs,
	// and then a dequeue never waits.
	listening atomic.Pointer[chan struct{}]
	// published is when the last PUBLISH went out.
	published time.Time
}

// minPublishGap bounds the PUBLISHes of a busy process to 500 a second; an
// enqueue right after one waits this long for the next at most.
const minPublishGap = 2 * time.Millisecond

// NewWaker returns a Waker for the queues and adds its hook to rdb, which
// must be the client asynq's client, server and scheduler use. Idle is the
// longest an idle worker waits between looks into Redis; zero or less means
// one second. Run must be running for other processes to be woken; Listen
// (tasks.Run calls it) makes this process's workers wait.
func NewWaker(rdb redis.UniversalClient, q Queues, idle time.Duration, log *slog.Logger) *Waker {
	if idle <= 0 {
		idle = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Waker{rdb: rdb, channel: strings.TrimSuffix(q.Events, ":events") + ":wake", idle: idle,
		queues: int32(len(q.all())), log: log, notify: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
	rdb.AddHook(w)
	return w
}

// all lists the queue names.
func (q Queues) all() []string {
	return []string{q.Events, q.Webhooks, q.WebhookRetries, q.Maintenance, q.Messages, q.Campaigns, q.Tills}
}

// Run publishes the wake-ups of this process's enqueues until ctx ends. One
// PUBLISH stands for every enqueue that happened while the previous one was
// under way.
func (w *Waker) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.notify:
		}
		if gap := time.Until(w.published.Add(minPublishGap)); gap > 0 {
			time.Sleep(gap)
		}
		w.published = time.Now()
		if err := w.rdb.Publish(ctx, w.channel, "1").Err(); err != nil && ctx.Err() == nil {
			// Redis is away: workers elsewhere find the task within Idle.
			w.log.Debug("wake-up not published", "err", err)
		}
	}
}

// Listen receives the wake-ups of other processes until ctx ends, and lets
// this process's idle workers wait for them. When it returns, workers no
// longer wait.
func (w *Waker) Listen(ctx context.Context) {
	ps := w.rdb.Subscribe(ctx, w.channel)
	defer ps.Close()
	done := make(chan struct{})
	w.listening.Store(&done)
	defer func() {
		w.listening.Store(nil)
		close(done)
	}()
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			w.signal()
		}
	}
}

// Wake wakes the idle workers of this process and, through Run, of every
// other process.
func (w *Waker) Wake() {
	w.signal()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// signal latches a wake-up for this process's waiting dequeue.
func (w *Waker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// wait holds an idle worker's next look into Redis until a wake-up, Idle,
// or the end of Listen.
func (w *Waker) wait() {
	done := w.listening.Load()
	if done == nil {
		return
	}
	t := time.NewTimer(w.idle)
	defer t.Stop()
	select {
	case <-w.wake:
	case <-t.C:
	case <-*done:
	}
}

// DialHook implements redis.Hook.
func (w *Waker) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessPipelineHook implements redis.Hook; asynq runs its scripts one by one.
func (w *Waker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// ProcessHook implements redis.Hook: it holds the dequeue of an idle worker
// and wakes workers after a script that filled a pending list.
func (w *Waker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		keys := scriptKeys(cmd)
		if keys == nil {
			return next(ctx, cmd)
		}
		if isDequeue(keys) {
			if w.misses.Load() >= w.queues {
				w.wait()
				w.misses.Store(0)
			}
			err := next(ctx, cmd)
			switch err {
			case redis.Nil:
				w.misses.Add(1)
			case nil:
				w.misses.Store(0)
			}
			return err
		}
		err := next(ctx, cmd)
		if err == nil && fillsPending(keys) {
			if n, ok := cmd.(*redis.Cmd); ok {
				if v, _ := n.Int64(); v > 0 {
					w.Wake()
				}
			}
		}
		return err
	}
}

// scriptKeys returns the keys of an EVAL or EVALSHA, or nil for any other
// command.
func scriptKeys(cmd redis.Cmder) []string {
	args := cmd.Args()
	if len(args) < 3 {
		return nil
	}
	name, _ := args[0].(string)
	if !strings.EqualFold(name, "evalsha") && !strings.EqualFold(name, "eval") {
		return nil
	}
	var n int
	switch v := args[2].(type) {
	case int:
		n = v
	case int64:
		n = int(v)
	default:
		return nil
	}
	if n <= 0 || len(args) < 3+n {
		return nil
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i], _ = args[3+i].(string)
	}
	return keys
}

// isDequeue: asynq's dequeue script (pending, paused, active, lease).
func isDequeue(keys []string) bool {
	return len(keys) == 4 && strings.HasSuffix(keys[0], ":pending") && strings.HasSuffix(keys[1], ":paused") &&
		strings.HasSuffix(keys[2], ":active") && strings.HasSuffix(keys[3], ":lease")
}

// fillsPending: a script that may add to a pending list (enqueue, forward,
// requeue); it did when it answers a positive number.
func fillsPending(keys []string) bool {
	for _, k := range keys {
		if strings.HasSuffix(k, ":pending") {
			return true
		}
	}
	return false
}
