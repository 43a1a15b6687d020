package sqlstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
)

// eventInsertCols are the columns an event is written with (xid, on
// PostgreSQL, comes from its default).
const eventInsertCols = "id, business_id, type, customer_id, card_id, voucher_id, created_at, payload"

// eventCols reads an event of "events e"; whether it was dispatched is
// whether it has left the outbox (0015_event_outbox.sql).
const eventCols = "e.id, e.business_id, e.type, e.customer_id, e.card_id, e.voucher_id, e.created_at, " +
	"NOT EXISTS (SELECT 1 FROM event_outbox o WHERE o.created_at = e.created_at AND o.id = e.id), e.payload"

// eventBatch is how many events one INSERT carries (8 arguments each).
const eventBatch = 100

// idBatch is how many ids one UPDATE ... WHERE id IN (...) carries.
const idBatch = 500

func scanEvent(r scanner) (*hub.EventRecord, error) {
	var e hub.EventRecord
	var typ string
	var payload []byte
	err := r.Scan(&e.ID, &e.BusinessID, &typ, &e.CustomerID, &e.CardID, &e.VoucherID,
		timeDest{&e.CreatedAt}, &e.Dispatched, &payload)
	e.Type = hub.EventType(typ)
	e.Payload = payload
	return &e, err
}

// InsertEvents implements hub.Tx: the events go in with one INSERT per 100,
// on PostgreSQL with the next statement or COMMIT (see deferExec), and each
// event not yet dispatched gets its row in the outbox. On PostgreSQL the two
// inserts are one statement when every event of the batch is undispatched
// (as those of a use case are).
func (t *tx) InsertEvents(ctx context.Context, events []hub.EventRecord) error {
	for len(events) > 0 {
		n := min(len(events), eventBatch)
		batch := events[:n]
		events = events[n:]
		args := make([]any, 0, n*8)
		var outbox []any
		for i := range batch {
			e := &batch[i]
			args = append(args, e.ID, e.BusinessID, string(e.Type), e.CustomerID, e.CardID, e.VoucherID,
				t.tm(e.CreatedAt), string(e.Payload))
			if !e.Dispatched {
				outbox = append(outbox, t.tm(e.CreatedAt), e.ID)
			}
		}
		insert := "INSERT INTO events (" + eventInsertCols + ") VALUES " + placeholders(n, 8)
		if t.s.pg && len(outbox) == 2*n {
			if err := t.deferExec(ctx, "event", "WITH e AS ("+insert+" RETURNING created_at, id)"+
				" INSERT INTO event_outbox (created_at, id) SELECT created_at, id FROM e", args...); err != nil {
				return err
			}
			continue
		}
		if err := t.deferExec(ctx, "event", insert, args...); err != nil {
			return err
		}
		if len(outbox) > 0 {
			if err := t.deferExec(ctx, "event", "INSERT INTO event_outbox (created_at, id) VALUES "+placeholders(len(outbox)/2, 2),
				outbox...); err != nil {
				return err
			}
		}
	}
	return nil
}

// Event implements hub.Tx.
func (t *tx) Event(ctx context.Context, businessID, id string) (*hub.EventRecord, error) {
	return one(ctx, t, "event", "SELECT "+eventCols+" FROM events e WHERE id = ? AND business_id = ?",
		[]any{id, businessID}, scanEvent)
}

// EventsByKey implements hub.DispatchTx: the events among keys, each of the
// business its key names, in any order, with one query per 500 keys. The
// query names the ids alone (the primary key finds them); an event of
// another business than its key's is left out here.
func (t *tx) EventsByKey(ctx context.Context, keys []hub.EventKey) ([]*hub.EventRecord, error) {
	var out []*hub.EventRecord
	for len(keys) > 0 {
		n := min(len(keys), idBatch)
		args, want := keyArgs(keys[:n], nil)
		keys = keys[n:]
		evs, err := list(ctx, t, "event", "SELECT "+eventCols+" FROM events e WHERE id IN ("+inList(n)+")", args, scanEvent)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if want[hub.EventKey{BusinessID: e.BusinessID, ID: e.ID}] {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// keyArgs returns the ids of keys as arguments after head, and the set of
// keys.
func keyArgs(keys []hub.EventKey, head []any) ([]any, map[hub.EventKey]bool) {
	args := append(make([]any, 0, len(head)+len(keys)), head...)
	want := make(map[hub.EventKey]bool, len(keys))
	for _, k := range keys {
		args = append(args, k.ID)
		want[k] = true
	}
	return args, want
}

// eventsWithHooksQuery reads a batch of events and the active hooks of
// their businesses subscribed to each one's type: one row per event and
// hook, or per event without a hook. (Hooks of dispatched events are dropped
// while reading: an outbox join or an EXISTS in the join's condition is
// planned, when the outbox's statistics say it is small, as a walk over its
// whole index per event, dead entries included; the EXISTS of eventCols is
// always a lookup of its key.)
var eventsWithHooksQuery = "SELECT " + eventCols + ", " + prefixed("h", hookCols) +
	" FROM events e LEFT JOIN hooks h ON h.business_id = e.business_id AND h.status = ? AND h.event IN (e.type, ?)" +
	" WHERE e.id IN ("

// EventsWithHooks implements hub.DispatchTx: EventsByKey and the hooks of
// HooksForEvents (of the undispatched events' businesses and types). On
// PostgreSQL they are one query per 500 keys, where they were two round
// trips. SQLite, in process, has no round trip to save, and there the joined
// query made the dispatch of the API bench three times slower (not
// understood yet): it runs EventsByKey and one HooksForEvents per business.
func (t *tx) EventsWithHooks(ctx context.Context, keys []hub.EventKey) ([]*hub.EventRecord, []*hub.Hook, error) {
	if !t.s.pg {
		evs, err := t.EventsByKey(ctx, keys)
		if err != nil {
			return nil, nil, err
		}
		types := map[string][]hub.EventType{}
		var businesses []string
		for _, e := range evs {
			if e.Dispatched {
				continue
			}
			if _, ok := types[e.BusinessID]; !ok {
				businesses = append(businesses, e.BusinessID)
			}
			if !slices.Contains(types[e.BusinessID], e.Type) {
				types[e.BusinessID] = append(types[e.BusinessID], e.Type)
			}
		}
		var hooks []*hub.Hook
		for _, b := range businesses {
			hs, err := t.HooksForEvents(ctx, b, types[b])
			if err != nil {
				return nil, nil, err
			}
			hooks = append(hooks, hs...)
		}
		slices.SortFunc(hooks, func(a, b *hub.Hook) int { return strings.Compare(a.ID, b.ID) })
		return evs, hooks, nil
	}
	var evs []*hub.EventRecord
	var hooks []*hub.Hook
	seenEvent := map[string]bool{}
	seenHook := map[string]bool{}
	for len(keys) > 0 {
		n := min(len(keys), idBatch)
		args, want := keyArgs(keys[:n], []any{hub.HookActive, hub.HookAllEvents})
		keys = keys[n:]
		rows, err := t.query(ctx, eventsWithHooksQuery+inList(n)+")", args...)
		if err != nil {
			return nil, nil, mapErr(err, "event")
		}
		for rows.Next() {
			var (
				e                                      hub.EventRecord
				typ                                    string
				payload                                []byte
				hid, hbiz, hevent, htarget, hsec, hsts *string
				h                                      hub.Hook
				hactive, hcreated                      *time.Time
			)
			if err := rows.Scan(&e.ID, &e.BusinessID, &typ, &e.CustomerID, &e.CardID, &e.VoucherID,
				timeDest{&e.CreatedAt}, &e.Dispatched, &payload,
				&hid, &hbiz, &hevent, &htarget, &hsec, &h.PreviousSecret,
				nullTimeDest{&h.PreviousSecretUntil}, &hsts, nullTimeDest{&h.FailingSince}, nullTimeDest{&hactive},
				nullTimeDest{&hcreated}); err != nil {
				rows.Close()
				return nil, nil, mapErr(err, "event")
			}
			if !want[hub.EventKey{BusinessID: e.BusinessID, ID: e.ID}] {
				continue // not the key's business
			}
			if !seenEvent[e.ID] {
				seenEvent[e.ID] = true
				e.Type, e.Payload = hub.EventType(typ), payload
				evs = append(evs, &e)
			}
			if hid != nil && !e.Dispatched && !seenHook[*hid] {
				seenHook[*hid] = true
				h.ID, h.BusinessID, h.Event, h.TargetURL, h.Secret, h.Status = *hid, *hbiz, *hevent, *htarget, *hsec, *hsts
				h.ActiveSince, h.CreatedAt = *hactive, *hcreated
				hooks = append(hooks, &h)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, mapErr(err, "event")
		}
	}
	slices.SortFunc(hooks, func(a, b *hub.Hook) int { return strings.Compare(a.ID, b.ID) })
	return evs, hooks, nil
}

// Events implements hub.Tx: newest first, at most page.Size()+1, newer than
// SinceID when it is set; empty fields are ignored.
//
// The feed never skips an event: an event a poller has not seen yet never
// sorts before one it has seen (SinceID, the cursor).
//
// On SQLite the order is the id's. The one writer runs write transactions
// one after the other and commits them in that order, and every event id is
// drawn inside the transaction's function (while it holds the writer) from
// a clock that only moves forward within the process, so ids grow in commit
// order. (Several processes on one SQLite file could draw ids out of order
// inside one millisecond; the hub runs one process per SQLite file.)
//
// On PostgreSQL transactions commit in any order after drawing their ids, so
// the feed (EventFilter.Feed; other reads list by id) is ordered by (xid, id), xid being the id of the writing transaction
// (0009_feed_idempotency.sql), and only events with xid below the xmin of
// the statement's snapshot are returned: every transaction below xmin has
// ended, and every event not returned yet (in flight, or held back) has an
// xid at or above xmin, so it sorts after all that was returned. The price:
// the feed lags behind the oldest write transaction still open (on any
// database of the server), usually a few milliseconds; a read first waits
// for that (awaitFeed, at most feedWait) so that a client sees its own
// events. SinceID and the
// cursor name an event; its (xid, id) is looked up (an unknown SinceID
// counts as an event of xid 0, written before the migration).
func (t *tx) Events(ctx context.Context, ef hub.EventFilter) ([]*hub.EventRecord, error) {
	var f filter
	f.add("business_id = ?", ef.BusinessID)
	if ef.Type != "" {
		f.add("type = ?", string(ef.Type))
	}
	if ef.CustomerID != "" {
		f.add("customer_id = ?", ef.CustomerID)
	}
	if ef.CardID != "" {
		f.add("card_id = ?", ef.CardID)
	}
	if !t.s.pg || !ef.Feed {
		if ef.SinceID != "" {
			f.add("id > ?", ef.SinceID)
		}
		tail := f.page("id", ef.Page)
		return list(ctx, t, "event", "SELECT "+eventCols+" FROM events e"+f.sql()+tail, f.args, scanEvent)
	}
	if err := t.awaitFeed(ctx, ef.BusinessID); err != nil {
		return nil, err
	}
	f.add("xid < pg_snapshot_xmin(pg_current_snapshot())")
	const pos = "(COALESCE((SELECT xid FROM events WHERE id = ? AND business_id = ?), '0'), ?)"
	if ef.SinceID != "" {
		f.add("(xid, id) > "+pos, ef.SinceID, ef.BusinessID, ef.SinceID)
	}
	if ef.Page.Cursor != "" {
		f.add("(xid, id) < "+pos, ef.Page.Cursor, ef.BusinessID, ef.Page.Cursor)
	}
	f.args = append(f.args, ef.Page.Size()+1)
	return list(ctx, t, "event", "SELECT "+eventCols+" FROM events e"+f.sql()+" ORDER BY xid DESC, id DESC LIMIT ?",
		f.args, scanEvent)
}

// feedWait bounds how long a feed read on PostgreSQL waits for the
// transactions that hold back the business's committed events.
const feedWait = 2 * time.Second

// awaitFeed waits (at most feedWait, or until ctx ends) until no event of
// the business committed so far is held back by an older transaction still
// open, so that a client reads its own writes in the feed. xmin is the
// server's: any open write transaction, even of another database, holds
// the feed back. Only the transactions open now are waited for; events
// committed meanwhile may stay held back, so that a busy business does not
// make its readers wait.
func (t *tx) awaitFeed(ctx context.Context, businessID string) error {
	var newest *string
	if err := t.queryRow(ctx, "SELECT max(xid)::text FROM events WHERE business_id = ?", businessID).Scan(&newest); err != nil {
		return mapErr(err, "event")
	}
	if newest == nil {
		return nil
	}
	deadline := time.Now().Add(feedWait)
	for pause := 500 * time.Microsecond; ; pause = min(2*pause, 20*time.Millisecond) {
		var clear bool
		if err := t.queryRow(ctx, "SELECT pg_snapshot_xmin(pg_current_snapshot()) > CAST(? AS xid8)", *newest).Scan(&clear); err != nil {
			return mapErr(err, "event")
		}
		if clear || time.Now().Add(pause).After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
	}
}

// UndispatchedEvents implements hub.Tx: events of every business created at
// or before at and not yet dispatched (still in the outbox), oldest first.
func (t *tx) UndispatchedEvents(ctx context.Context, at time.Time, after *hub.EventRecord, limit int) ([]*hub.EventRecord, error) {
	if limit <= 0 {
		return nil, nil
	}
	const q = "SELECT " + eventCols + " FROM event_outbox ob JOIN events e ON e.id = ob.id WHERE ob.created_at <= ?"
	if after == nil {
		return list(ctx, t, "event", q+" ORDER BY ob.created_at, ob.id LIMIT ?",
			[]any{t.tm(at), limit}, scanEvent)
	}
	return list(ctx, t, "event", q+" AND (ob.created_at, ob.id) > (?, ?) ORDER BY ob.created_at, ob.id LIMIT ?",
		[]any{t.tm(at), t.tm(after.CreatedAt), after.ID, limit}, scanEvent)
}

// MarkEventsDispatched implements hub.Tx: the events leave the outbox;
// unknown events and events dispatched before are skipped. On PostgreSQL the
// delete goes out with the next statement or COMMIT. Each event is named by
// the outbox's key, (created_at, id), one OR'ed term each, so that both
// databases look each one up in the key: a join with events or a list of
// pairs can be planned as a walk over the whole outbox, which grows with
// every event not yet dispatched.
func (t *tx) MarkEventsDispatched(ctx context.Context, events []*hub.EventRecord) error {
	for len(events) > 0 {
		n := min(len(events), eventBatch)
		args := make([]any, 0, 2*n)
		var q strings.Builder
		q.WriteString("DELETE FROM event_outbox WHERE ")
		for i, e := range events[:n] {
			if i > 0 {
				q.WriteString(" OR ")
			}
			q.WriteString("(created_at = ? AND id = ?)")
			args = append(args, t.tm(e.CreatedAt), e.ID)
		}
		events = events[n:]
		if err := t.deferExec(ctx, "event", q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
