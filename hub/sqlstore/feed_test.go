package sqlstore_test

import (
	"context"
	"testing"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// heldTx is a write transaction run in its own goroutine in two steps: it
// runs first, reports that it did, waits for release, runs second and
// commits.
type heldTx struct {
	ready   chan struct{}
	release chan struct{}
	done    chan error
}

func hold(s *sqlstore.Store, first, second func(hub.Tx) error) *heldTx {
	h := &heldTx{ready: make(chan struct{}), release: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		once := false
		h.done <- s.Write(context.Background(), func(tx hub.Tx) error {
			if once {
				return nil // not retried: the test would block; the error below says so
			}
			once = true
			if err := first(tx); err != nil {
				return err
			}
			close(h.ready)
			<-h.release
			return second(tx)
		})
	}()
	return h
}

// commit releases the transaction and waits for its commit.
func (h *heldTx) commit(t *testing.T) {
	t.Helper()
	close(h.release)
	if err := <-h.done; err != nil {
		t.Fatalf("held transaction: %v", err)
	}
}

// TestFeedNeverSkips runs two transactions on PostgreSQL that commit in the
// other order than their event ids (A draws the smaller id, B commits first)
// while a poller reads the feed between the two commits with since_id, as
// the Zapier and Make polling triggers do. Whichever of the two got its
// transaction id first, the poller must not move past A before A is
// visible, and must see both events in the end. With the feed ordered by id
// alone, the poller's since_id passes A and A is never seen.
func TestFeedNeverSkips(t *testing.T) {
	s := sqltest.Open(t, sqlstore.DialectPostgres)
	w := newWorld(t, s)
	other := newWorld(t, s)
	ctx := context.Background()

	// insert writes the events and sends them at once (a read flushes the
	// deferred INSERT), so that the transaction holds its transaction id.
	insert := func(evs ...hub.EventRecord) func(hub.Tx) error {
		return func(tx hub.Tx) error {
			if err := tx.InsertEvents(ctx, evs); err != nil {
				return err
			}
			_, err := tx.Event(ctx, evs[0].BusinessID, evs[0].ID)
			return err
		}
	}
	nothing := func(hub.Tx) error { return nil }

	tests := []struct {
		name string
		// bFirst: B takes its transaction id before A does (it writes
		// something of another business first).
		bFirst bool
	}{
		{"A takes its transaction id first", false},
		{"B takes its transaction id first", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := w.event(hub.StampAdded, t0, nil, nil, nil)
			write(t, s, insert(start))
			since := start.ID
			// poll reads the feed since the last id seen, newest first,
			// and moves since to the newest event returned.
			var polls [][]string
			poll := func() {
				t.Helper()
				var got []*hub.EventRecord
				read(t, s, func(tx hub.Tx) error {
					var err error
					got, err = tx.Events(ctx, hub.EventFilter{BusinessID: w.biz.ID, SinceID: since, Page: hub.Page{Limit: 100}, Feed: true})
					return err
				})
				evIDs := ids(got, func(e *hub.EventRecord) string { return e.ID })
				polls = append(polls, evIDs)
				if len(evIDs) > 0 {
					since = evIDs[0]
				}
			}

			a := w.event(hub.StampAdded, t0, nil, nil, nil)
			b := w.event(hub.StampAdded, t0, nil, nil, nil) // drawn after a: b.ID > a.ID
			var txA, txB *heldTx
			if tc.bFirst {
				txB = hold(s, insert(other.event(hub.StampAdded, t0, nil, nil, nil)), insert(b))
				<-txB.ready
				txA = hold(s, insert(a), nothing)
				<-txA.ready
			} else {
				txA = hold(s, insert(a), nothing)
				<-txA.ready
				txB = hold(s, nothing, insert(b))
				<-txB.ready
			}
			txB.commit(t)
			poll() // B committed, A still in flight
			txA.commit(t)
			poll()
			poll() // nothing more

			var want [][]string
			if tc.bFirst {
				// B's transaction is older: B shows at once, A after it.
				want = [][]string{{b.ID}, {a.ID}, {}}
			} else {
				// A's transaction is older and still open: B waits for it.
				want = [][]string{{}, {b.ID, a.ID}, {}}
			}
			diff(t, "polls", want, polls)
		})
	}
}
