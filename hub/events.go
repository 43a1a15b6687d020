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
	var jobs []DeliveryJob
	err := s.read(ctx, func(tx Tx) error {
		for _, id := range ids {
			e, err := tx.Event(ctx, businessID, id)
			if ErrorCode(err) == ENotFound {
				s.log.WarnContext(ctx, "dispatch of an unknown event skipped", "event_id", id)
				continue
			}
			if err != nil {
				return err
			}
			if e.DispatchedAt != nil {
				continue
			}
			todo = append(todo, id)
			if s.webhooks == nil {
				continue
			}
			hooks, err := tx.HooksForEvent(ctx, businessID, e.Type)
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
	return s.store.Write(ctx, func(tx Tx) error { return tx.MarkEventsDispatched(ctx, todo, s.clock()) })
}

// RelayUndispatched re-publishes events committed at least minAge ago and not
// yet dispatched (the process died between commit and enqueue, or the queue
// was down). It returns how many it published.
func (s *Service) RelayUndispatched(ctx context.Context, minAge time.Duration, batch int) (int, error) {
	if s.publisher == nil {
		return 0, nil
	}
	if batch <= 0 {
		batch = 500
	}
	var evs []*EventRecord
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		evs, err = tx.UndispatchedEvents(ctx, s.clock().Add(-minAge), batch)
		return err
	}); err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		return 0, nil
	}
	keys := make([]EventKey, len(evs))
	for i, e := range evs {
		keys[i] = EventKey{BusinessID: e.BusinessID, ID: e.ID}
	}
	if err := s.publisher.PublishEvents(ctx, keys); err != nil {
		return 0, err
	}
	return len(keys), nil
}

// PurgeIdempotencyKeys deletes idempotency records older than maxAge.
func (s *Service) PurgeIdempotencyKeys(ctx context.Context, maxAge time.Duration) (int64, error) {
	var n int64
	err := s.store.Write(ctx, func(tx Tx) error {
		var err error
		n, err = tx.PurgeIdempotencyKeys(ctx, s.clock().Add(-maxAge))
		return err
	})
	return n, err
}
