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

// DispatchEvents hands committed events to their consumers — one delivery
// job per event and subscribed hook — and then marks them dispatched. Events
// already dispatched are skipped and unknown ids ignored (logged). A crash
// between the two steps dispatches again; deliveries skip what was delivered,
// so running it again is harmless.
func (s *Service) DispatchEvents(ctx context.Context, businessID string, ids []string) error {
	var todo []string
	var todoEvents []*EventRecord
	var jobs []DeliveryJob
	var tillCustomers []string
	err := s.read(ctx, func(tx Tx) error {
		event, hooksFor, err := s.dispatchSource(ctx, tx, businessID, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			e, err := event(id)
			if ErrorCode(err) == ENotFound {
				s.log.WarnContext(ctx, "dispatch of an unknown event skipped", "event_id", id)
				continue
			}
			if err != nil {
				return err
			}
			if e.Dispatched {
				continue
			}
			todo = append(todo, id)
			todoEvents = append(todoEvents, e)
			if s.webhooks == nil {
				continue
			}
			hooks, err := hooksFor(e.Type)
			if err != nil {
				return err
			}
			for _, h := range hooks {
				if h.ActiveSince.After(e.CreatedAt) {
					continue // subscribed or re-enabled after the event
				}
				jobs = append(jobs, DeliveryJob{BusinessID: businessID, HookID: h.ID, EventID: id, Attempt: 1})
			}
		}
		tillCustomers, err = s.tillCustomersOf(ctx, tx, businessID, todoEvents)
		return err
	})
	if err != nil || len(todo) == 0 {
		return err
	}
	if len(jobs) > 0 {
		if err := s.webhooks.EnqueueDeliveries(ctx, jobs); err != nil {
			return err
		}
	}
	if err := s.enqueueTillCustomers(ctx, businessID, tillCustomers); err != nil {
		return err
	}
	// Automation runs are recorded in the transaction that marks the events
	// dispatched: an event starts its automations exactly once.
	var runs []AutomationKey
	err = s.store.Write(ctx, func(tx Tx) error {
		now := s.clock()
		var err error
		if runs, err = s.startAutomations(ctx, tx, businessID, todoEvents, now); err != nil {
			return err
		}
		return tx.MarkEventsDispatched(ctx, todoEvents)
	})
	if err != nil {
		return err
	}
	s.scheduleAutomations(ctx, runs)
	return nil
}

// DispatchTx reads what dispatching a batch of events needs in one round
// trip, whatever the batch's size.
type DispatchTx interface {
	// EventsWithHooks returns EventsByID's events and HooksForEvents' hooks
	// for the types of the undispatched ones among them, in one round trip.
	EventsWithHooks(ctx context.Context, businessID string, ids []string) ([]*EventRecord, []*Hook, error)
	// EventsByID returns the business's events among ids, in any order;
	// unknown ids are left out.
	EventsByID(ctx context.Context, businessID string, ids []string) ([]*EventRecord, error)
	// HooksForEvents lists the business's active hooks subscribed to any of
	// the event types or to "*", oldest first.
	HooksForEvents(ctx context.Context, businessID string, types []EventType) ([]*Hook, error)
}

// dispatchSource returns how DispatchEvents reads the events of a batch and
// the hooks of an event type, from one read made here (without webhooks,
// the events alone).
func (s *Service) dispatchSource(ctx context.Context, tx Tx, businessID string, ids []string) (
	event func(id string) (*EventRecord, error), hooksFor func(EventType) ([]*Hook, error), err error) {
	var evs []*EventRecord
	var hooks []*Hook
	if s.webhooks != nil {
		evs, hooks, err = tx.EventsWithHooks(ctx, businessID, ids)
	} else {
		evs, err = tx.EventsByID(ctx, businessID, ids)
	}
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]*EventRecord, len(evs))
	for _, e := range evs {
		byID[e.ID] = e
	}
	return func(id string) (*EventRecord, error) {
			if e, ok := byID[id]; ok {
				return e, nil
			}
			return nil, NotFound("event")
		}, func(t EventType) ([]*Hook, error) {
			var out []*Hook
			for _, h := range hooks {
				if h.Event == string(t) || h.Event == HookAllEvents {
					out = append(out, h)
				}
			}
			return out, nil
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
