package hub

import (
	"context"
	"time"
)

// Event returns one of a business's events.
func (s *Service) Event(ctx context.Context, businessID, id string) (*EventRecord, error) {
	var e *EventRecord
	err := s.read(ctx, func(tx Tx) error {
		var err error
		e, err = tx.Event(ctx, businessID, id)
		return err
	})
	return e, err
}

// Events reads a business's event log, newest first: the polling feed.
func (s *Service) Events(ctx context.Context, f EventFilter) ([]*EventRecord, *string, error) {
	p := Problems{}
	if f.Type != "" && !ValidEventType(string(f.Type)) {
		p.Add("type", "must be one of the event names")
	}
	if f.SinceID != "" && !ValidID(PrefixEvent, f.SinceID) {
		p.Add("since_id", "must be an event id")
	}
	if f.CustomerID != "" && !ValidID(PrefixCustomer, f.CustomerID) {
		p.Add("customer_id", "must be a customer id")
	}
	if f.CardID != "" && !ValidID(PrefixCard, f.CardID) {
		p.Add("card_id", "must be a card id")
	}
	if err := p.Err(); err != nil {
		return nil, nil, err
	}
	if err := CheckPage(f.Page, PrefixEvent); err != nil {
		return nil, nil, err
	}
	var evs []*EventRecord
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		evs, err = tx.Events(ctx, f)
		return err
	}); err != nil {
		return nil, nil, err
	}
	items, next := page(evs, f.Page, func(e *EventRecord) string { return e.ID })
	return items, next, nil
}

// DispatchEventKeys hands committed events, of any businesses, to their
// consumers — one delivery job per event and subscribed hook, the
// automations they start — and then marks them dispatched: one read and one
// write transaction for the whole batch. Events already dispatched are
// skipped and unknown keys (an id of another business too) ignored
// (logged). A crash between the two steps dispatches again; deliveries skip
// what was delivered, so running it again is harmless.
func (s *Service) DispatchEventKeys(ctx context.Context, keys []EventKey) error {
	if len(keys) == 0 {
		return nil
	}
	var todo []*EventRecord
	var jobs []DeliveryJob
	tillCustomers := map[string][]string{}
	err := s.read(ctx, func(tx Tx) error {
		todo, jobs = nil, nil
		clear(tillCustomers)
		event, hooksFor, err := s.dispatchSource(ctx, tx, keys)
		if err != nil {
			return err
		}
		for _, k := range keys {
			e, ok := event(k)
			if !ok {
				s.log.WarnContext(ctx, "dispatch of an unknown event skipped", "event_id", k.ID, "business_id", k.BusinessID)
				continue
			}
			if e.Dispatched {
				continue
			}
			todo = append(todo, e)
			for _, h := range hooksFor(e) {
				if h.ActiveSince.After(e.CreatedAt) {
					continue // subscribed or re-enabled after the event
				}
				jobs = append(jobs, DeliveryJob{BusinessID: e.BusinessID, HookID: h.ID, EventID: e.ID, Attempt: 1})
			}
		}
		for _, g := range eventsByBusiness(todo) {
			cs, err := s.tillCustomersOf(ctx, tx, g.businessID, g.events)
			if err != nil {
				return err
			}
			if len(cs) > 0 {
				tillCustomers[g.businessID] = cs
			}
		}
		return nil
	})
	if err != nil || len(todo) == 0 {
		return err
	}
	if len(jobs) > 0 {
		if err := s.webhooks.EnqueueDeliveries(ctx, jobs); err != nil {
			return err
		}
	}
	for biz, cs := range tillCustomers {
		if err := s.enqueueTillCustomers(ctx, biz, cs); err != nil {
			return err
		}
	}
	// Automation runs are recorded in the transaction that marks the events
	// dispatched: an event starts its automations exactly once.
	var runs []AutomationKey
	err = s.store.Write(ctx, func(tx Tx) error {
		runs = nil
		now := s.clock()
		for _, g := range eventsByBusiness(todo) {
			r, err := s.startAutomations(ctx, tx, g.businessID, g.events, now)
			if err != nil {
				return err
			}
			runs = append(runs, r...)
		}
		return tx.MarkEventsDispatched(ctx, todo)
	})
	if err != nil {
		return err
	}
	s.scheduleAutomations(ctx, runs)
	return nil
}

// businessEvents are one business's events of a batch.
type businessEvents struct {
	businessID string
	events     []*EventRecord
}

// eventsByBusiness groups events by business, the groups in the order of their
// first event and each in the events' order (so that two dispatches of
// overlapping batches write in one order).
func eventsByBusiness(evs []*EventRecord) []businessEvents {
	var out []businessEvents
	at := map[string]int{}
	for _, e := range evs {
		i, ok := at[e.BusinessID]
		if !ok {
			i = len(out)
			at[e.BusinessID] = i
			out = append(out, businessEvents{businessID: e.BusinessID})
		}
		out[i].events = append(out[i].events, e)
	}
	return out
}

// DispatchTx reads what dispatching a batch of events needs in one round
// trip, whatever the batch's size and however many businesses it spans.
type DispatchTx interface {
	// EventsWithHooks returns EventsByKey's events and the active hooks of
	// their businesses subscribed to the types of the undispatched ones
	// among them or to "*", in one round trip.
	EventsWithHooks(ctx context.Context, keys []EventKey) ([]*EventRecord, []*Hook, error)
	// EventsByKey returns the events among keys, each of the business its
	// key names, in any order; unknown keys are left out.
	EventsByKey(ctx context.Context, keys []EventKey) ([]*EventRecord, error)
	// HooksForEvents lists the business's active hooks subscribed to any of
	// the event types or to "*", oldest first.
	HooksForEvents(ctx context.Context, businessID string, types []EventType) ([]*Hook, error)
}

// dispatchSource returns how DispatchEventKeys finds the events of a batch
// and the hooks subscribed to an event, from one read made here (without
// webhooks, the events alone).
func (s *Service) dispatchSource(ctx context.Context, tx Tx, keys []EventKey) (
	event func(EventKey) (*EventRecord, bool), hooksFor func(*EventRecord) []*Hook, err error) {
	var evs []*EventRecord
	var hooks []*Hook
	if s.webhooks != nil {
		evs, hooks, err = tx.EventsWithHooks(ctx, keys)
	} else {
		evs, err = tx.EventsByKey(ctx, keys)
	}
	if err != nil {
		return nil, nil, err
	}
	byKey := make(map[EventKey]*EventRecord, len(evs))
	for _, e := range evs {
		byKey[EventKey{BusinessID: e.BusinessID, ID: e.ID}] = e
	}
	return func(k EventKey) (*EventRecord, bool) {
			e, ok := byKey[k]
			return e, ok
		}, func(e *EventRecord) []*Hook {
			var out []*Hook
			for _, h := range hooks {
				if h.BusinessID == e.BusinessID && (h.Event == string(e.Type) || h.Event == HookAllEvents) {
					out = append(out, h)
				}
			}
			return out
		}, nil
}

// RelayUndispatched re-publishes events committed at least minAge ago and not
// yet dispatched (the process died between commit and enqueue, or the queue
// was down), batch at a time, until none is left or budget has passed: a
// backlog after an outage drains in one run, not one batch per period. It
// returns how many it published.
func (s *Service) RelayUndispatched(ctx context.Context, minAge time.Duration, batch int, budget time.Duration) (int, error) {
	if s.publisher == nil {
		return 0, nil
	}
	if batch <= 0 {
		batch = 500
	}
	at := s.clock().Add(-minAge)
	return drain(ctx, s, time.Now(), budget, batch,
		func(tx Tx, after *EventRecord) ([]*EventRecord, error) {
			return tx.UndispatchedEvents(ctx, at, after, batch)
		},
		func(evs []*EventRecord) error {
			keys := make([]EventKey, len(evs))
			for i, e := range evs {
				keys[i] = EventKey{BusinessID: e.BusinessID, ID: e.ID}
			}
			return s.publisher.PublishEvents(ctx, keys)
		})
}

// drain is the loop of the relays: it reads rows batch at a time, each
// batch after the last row of the one before, and hands them on, until a
// batch comes back short, budget has passed since start or ctx ends. It
// returns how many rows it handed on.
func drain[T any](ctx context.Context, s *Service, start time.Time, budget time.Duration, batch int,
	next func(tx Tx, after *T) ([]*T, error), hand func(rows []*T) error) (int, error) {
	var after *T
	total := 0
	for {
		var rows []*T
		if err := s.read(ctx, func(tx Tx) error {
			var err error
			rows, err = next(tx, after)
			return err
		}); err != nil {
			return total, err
		}
		if len(rows) == 0 {
			return total, nil
		}
		if err := hand(rows); err != nil {
			return total, err
		}
		total += len(rows)
		after = rows[len(rows)-1]
		if len(rows) < batch || time.Since(start) >= budget || ctx.Err() != nil {
			return total, nil
		}
	}
}

// PurgeIdempotencyKeys deletes idempotency records older than maxAge, in
// batches (see purge).
func (s *Service) PurgeIdempotencyKeys(ctx context.Context, maxAge time.Duration) (int64, error) {
	before := s.clock().Add(-maxAge)
	return s.purge(ctx, func(tx Tx, limit int) (int64, error) {
		return tx.PurgeIdempotencyKeys(ctx, before, limit)
	})
}

// OutboxLag is the age of the oldest event not yet dispatched (zero when
// every event is): how far the workers are behind what was committed.
func (s *Service) OutboxLag(ctx context.Context) (time.Duration, error) {
	var lag time.Duration
	err := s.read(ctx, func(tx Tx) error {
		now := s.clock()
		evs, err := tx.UndispatchedEvents(ctx, now, nil, 1)
		if err != nil || len(evs) == 0 {
			return err
		}
		lag = max(0, now.Sub(evs[0].CreatedAt))
		return nil
	})
	return lag, err
}
