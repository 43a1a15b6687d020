package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/7loc/hub/hub"
)

// Group commit on SQLite. Writers do not each run BEGIN IMMEDIATE ... COMMIT:
// they queue their function, and whoever holds the writer (the leader) runs
// every queued function in one transaction, each under its own SAVEPOINT, and
// commits once. A function that fails is rolled back to its savepoint and
// leaves the others alone; every caller returns only after the COMMIT that
// holds its writes, so nothing is acknowledged before it is durable. Pages that
// several transactions touch (the right edge of each id index) go to the WAL
// once per group instead of once per transaction.

// maxGroup bounds how many transactions share one commit.
const maxGroup = 64

// MaxQueuedWrites bounds the write transactions waiting for SQLite's one
// writer (about half a second of its work): past it a write is refused at
// once as unavailable (the API answers 503 with Retry-After) instead of
// queueing without end and holding its request's memory.
const MaxQueuedWrites = 1024

// Request states.
const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
)

type writeReq struct {
	ctx   context.Context
	fn    func(querier) error
	state atomic.Int32
	done  chan writeResult
}

type writeResult struct {
	err      error
	panicked bool
	panicVal any
}

// groupQueue is the writer's queue of functions waiting for a transaction.
type groupQueue struct {
	mu    sync.Mutex
	queue []*writeReq
}

// submit runs fn in a transaction of the single writer and returns once the
// transaction is committed (or fn's own error, or the commit's). A panic in
// fn is re-raised in the caller's goroutine after fn's writes are undone.
func (w *sqliteWriter) submit(ctx context.Context, fn func(querier) error) error {
	if err := ctx.Err(); err != nil {
		return mapErr(err, "transaction")
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	w.group.mu.Lock()
	if len(w.group.queue) >= MaxQueuedWrites {
		w.group.mu.Unlock()
		return hub.Errorf(hub.EUnavailable, "the database is busy: too many writes wait; try again shortly")
	}
	w.group.queue = append(w.group.queue, req)
	w.group.mu.Unlock()
	for {
		select {
		case res := <-req.done:
			return res.unwrap()
		case w.sem <- struct{}{}:
			w.lead()
			<-w.sem
		case <-ctx.Done():
			if req.state.CompareAndSwap(reqQueued, reqAbandoned) {
				return mapErr(ctx.Err(), "transaction")
			}
			return (<-req.done).unwrap() // already running: wait for its commit
		}
	}
}

func (r writeResult) unwrap() error {
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// lead runs groups until the queue is empty or the checkpointer asks for
// the writer; the caller holds w.sem. Requests still queued are run by the
// next holder of w.sem.
func (w *sqliteWriter) lead() {
	for first := true; first || !w.yield.Load(); first = false {
		w.group.mu.Lock()
		n := min(len(w.group.queue), maxGroup)
		batch := make([]*writeReq, 0, n)
		for _, r := range w.group.queue[:n] {
			if r.state.CompareAndSwap(reqQueued, reqTaken) {
				batch = append(batch, r)
			}
		}
		w.group.queue = append(w.group.queue[:0:0], w.group.queue[n:]...)
		w.group.mu.Unlock()
		if n == 0 {
			return
		}
		if len(batch) > 0 {
			w.runGroup(batch)
		}
	}
}

// runGroup runs the batch in one transaction and answers every request.
func (w *sqliteWriter) runGroup(batch []*writeReq) {
	results := make([]writeResult, len(batch))
	fail := func(err error) {
		for i := range batch {
			batch[i].done <- writeResult{err: mapErr(err, "transaction")}
		}
	}
	bg := context.Background()
	if err := w.open(bg); err != nil {
		fail(err)
		return
	}
	if err := w.begin(bg); err != nil {
		fail(err)
		return
	}
	solo := len(batch) == 1
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = writeResult{err: mapErr(err, "transaction")}
			continue
		}
		if solo {
			results[i] = runFn(r.fn, w)
			continue
		}
		if _, err := w.conn.ExecContext(bg, "SAVEPOINT sqlstore_group"); err != nil {
			w.rollback()
			fail(err)
			return
		}
		results[i] = runFn(r.fn, w)
		if results[i].err != nil || results[i].panicked {
			if _, err := w.conn.ExecContext(bg, "ROLLBACK TO sqlstore_group"); err != nil {
				w.rollback()
				fail(fmt.Errorf("undo one transaction of a group: %w", err))
				return
			}
		}
		if _, err := w.conn.ExecContext(bg, "RELEASE sqlstore_group"); err != nil {
			w.rollback()
			fail(err)
			return
		}
	}
	allFailed := true
	for _, res := range results {
		if res.err == nil && !res.panicked {
			allFailed = false
		}
	}
	var commitErr error
	if allFailed {
		w.rollback()
	} else if err := w.commit(); err != nil {
		commitErr = mapErr(err, "transaction")
	}
	for i, r := range batch {
		res := results[i]
		if commitErr != nil && res.err == nil && !res.panicked {
			res.err = commitErr
		}
		r.done <- res
	}
}

// runFn runs fn, turning a panic into a result.
func runFn(fn func(querier) error, q querier) (res writeResult) {
	defer func() {
		if p := recover(); p != nil {
			res = writeResult{panicked: true, panicVal: p}
		}
	}()
	return writeResult{err: fn(q)}
}
