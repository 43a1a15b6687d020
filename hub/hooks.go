package hub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"time"
)

// Hook statuses and the wildcard event.
const (
	HookActive   = "active"
	HookDisabled = "disabled"
	// HookAllEvents subscribes a hook to every event type.
	HookAllEvents = "*"
)

// Webhook rules.
const (
	// SecretOverlap is how long the previous secret keeps signing after a rotation.
	SecretOverlap = 24 * time.Hour
	// HookDisableAfter disables a hook whose deliveries have all failed this long.
	HookDisableAfter = 5 * 24 * time.Hour
	// MaxHooksPerBusiness bounds subscriptions.
	MaxHooksPerBusiness = 200
)

// Hook is a REST hook subscription: deliveries of an event type (or all) to a URL.
type Hook struct {
	ID         string    `json:"id"`
	BusinessID string    `json:"-"`
	Event      string    `json:"event"`
	TargetURL  string    `json:"target_url"`
	Secret     string    `json:"secret"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	// PreviousSecret signs too until PreviousSecretUntil, after a rotation.
	PreviousSecret      *string    `json:"-"`
	PreviousSecretUntil *time.Time `json:"-"`
	// FailingSince is when the current run of failed deliveries began; nil
	// when the last delivery succeeded.
	FailingSince *time.Time `json:"-"`
	// ActiveSince is when the hook was created or last re-enabled: it gets
	// the events created from then on.
	ActiveSince time.Time `json:"-"`
}

// DeliveryAttempt is one try to deliver an event to a hook.
type DeliveryAttempt struct {
	ID           string  `json:"-"`
	BusinessID   string  `json:"-"`
	HookID       string  `json:"-"`
	EventID      string  `json:"event_id"`
	Attempt      int     `json:"attempt"`
	StatusCode   *int    `json:"status_code"`
	DurationMS   int64   `json:"duration_ms"`
	Error        *string `json:"error"`
	ResponseBody string  `json:"-"`
	// Delivered is true for a 2xx answer.
	Delivered bool      `json:"-"`
	At        time.Time `json:"at"`
}

// DeliveryJob asks for one event to be delivered to one hook.
type DeliveryJob struct {
	BusinessID string
	HookID     string
	EventID    string
	// Attempt is 1 for the first try.
	Attempt int
	// Delay postpones the try.
	Delay time.Duration
	// Force delivers even when an earlier attempt succeeded (redelivery).
	Force bool
}

// WebhookQueue schedules webhook deliveries.
type WebhookQueue interface {
	EnqueueDeliveries(ctx context.Context, jobs []DeliveryJob) error
}

// NewWebhookSecret returns a Standard Webhooks secret: "whsec_" and base64 of 32 random bytes.
func NewWebhookSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// HookInput subscribes a URL to an event; url is a synonym of target_url.
type HookInput struct {
	Event     string  `json:"event"`
	TargetURL *string `json:"target_url"`
	URL       *string `json:"url"`
}

// MaxURLLength bounds hook URLs.
const MaxURLLength = 2000

// CreateHook subscribes a URL to an event name or "*". The same event and URL
// again returns the existing hook with created=false.
func (s *Service) CreateHook(ctx context.Context, businessID string, in HookInput) (h *Hook, created bool, err error) {
	p := Problems{}
	if in.Event != HookAllEvents && !ValidEventType(in.Event) {
		p.Add("event", "must be one of the event names or *")
	}
	// Blank counts as absent: " " is no URL.
	trimmed := func(v *string) string {
		if v == nil {
			return ""
		}
		return strings.TrimSpace(*v)
	}
	target, alias := trimmed(in.TargetURL), trimmed(in.URL)
	switch {
	case target != "":
		if alias != "" && alias != target {
			p.Add("url", "differs from target_url; send one of them")
		}
	case alias != "":
		target = alias
	default:
		p.Add("target_url", "is required")
	}
	if target != "" {
		if len(target) > MaxURLLength {
			p.Add("target_url", "must be at most 2000 characters")
		} else if err := s.checkHookURL(target); err != nil {
			p.Add("target_url", err.Error())
		}
	}
	if err := p.Err(); err != nil {
		return nil, false, err
	}
	err = s.write(ctx, func(tx Tx, _ *outbox) error {
		existing, err := tx.HookByTarget(ctx, businessID, in.Event, target)
		if err == nil {
			h, created = existing, false
			return nil
		}
		if ErrorCode(err) != ENotFound {
			return err
		}
		n, err := tx.CountHooks(ctx, businessID)
		if err != nil {
			return err
		}
		if n >= MaxHooksPerBusiness {
			return Errorf(EConflict, "a business may have at most %d hooks; delete some first", MaxHooksPerBusiness)
		}
		now := s.clock()
		h = &Hook{ID: NewID(PrefixHook), BusinessID: businessID, Event: in.Event, TargetURL: target,
			Secret: NewWebhookSecret(), Status: HookActive, CreatedAt: now, ActiveSince: now}
		created = true
		return tx.CreateHook(ctx, h)
	})
	if err != nil {
		return nil, false, err
	}
	return h, created, nil
}

func (s *Service) checkHookURL(u string) error {
	if s.hookURLCheck == nil {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return errors.New("must be an http or https URL")
		}
		return nil
	}
	return s.hookURLCheck(u)
}

// Hook returns one of a business's hooks.
func (s *Service) Hook(ctx context.Context, businessID, id string) (*Hook, error) {
	var h *Hook
	err := s.read(ctx, func(tx Tx) error {
		var err error
		h, err = tx.Hook(ctx, businessID, id)
		return err
	})
	return h, err
}

// Hooks lists a business's hooks, newest first.
func (s *Service) Hooks(ctx context.Context, businessID string, pg Page) ([]*Hook, *string, error) {
	if err := CheckPage(pg, PrefixHook); err != nil {
		return nil, nil, err
	}
	var hs []*Hook
	if err := s.read(ctx, func(tx Tx) error {
		var err error
		hs, err = tx.Hooks(ctx, businessID, pg)
		return err
	}); err != nil {
		return nil, nil, err
	}
	items, next := page(hs, pg, func(h *Hook) string { return h.ID })
	return items, next, nil
}

// DeleteHook unsubscribes a hook; one already gone is fine.
func (s *Service) DeleteHook(ctx context.Context, businessID, id string) error {
	return s.write(ctx, func(tx Tx, _ *outbox) error { return tx.DeleteHook(ctx, businessID, id) })
}

// DeleteHooksByTarget unsubscribes every hook of the business for the URL.
func (s *Service) DeleteHooksByTarget(ctx context.Context, businessID, targetURL string) error {
	if strings.TrimSpace(targetURL) == "" {
		return Problems{"target_url": "is required"}.Err()
	}
	return s.write(ctx, func(tx Tx, _ *outbox) error {
		_, err := tx.DeleteHooksByTarget(ctx, businessID, strings.TrimSpace(targetURL))
		return err
	})
}

// RotateHookSecret gives the hook a new secret; for SecretOverlap deliveries
// carry signatures with both.
func (s *Service) RotateHookSecret(ctx context.Context, businessID, id string) (*Hook, error) {
	var h *Hook
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		if h, err = tx.Hook(ctx, businessID, id); err != nil {
			return err
		}
		until := s.clock().Add(SecretOverlap)
		old := h.Secret
		h.PreviousSecret, h.PreviousSecretUntil, h.Secret = &old, &until, NewWebhookSecret()
		return tx.UpdateHook(ctx, h)
	})
	return h, err
}

// EnableHook re-enables a disabled hook; it gets events created from now on.
func (s *Service) EnableHook(ctx context.Context, businessID, id string) (*Hook, error) {
	var h *Hook
	err := s.write(ctx, func(tx Tx, _ *outbox) error {
		var err error
		if h, err = tx.Hook(ctx, businessID, id); err != nil {
			return err
		}
		if h.Status == HookActive {
			return nil
		}
		h.Status, h.FailingSince, h.ActiveSince = HookActive, nil, s.clock()
		return tx.UpdateHook(ctx, h)
	})
	return h, err
}

// HookDeliveries lists a hook's delivery attempts, newest first.
func (s *Service) HookDeliveries(ctx context.Context, businessID, hookID string, pg Page) ([]*DeliveryAttempt, *string, error) {
	if err := CheckPage(pg, PrefixDelivery); err != nil {
		return nil, nil, err
	}
	var as []*DeliveryAttempt
	if err := s.read(ctx, func(tx Tx) error {
		if _, err := tx.Hook(ctx, businessID, hookID); err != nil {
			return err
		}
		var err error
		as, err = tx.DeliveryAttempts(ctx, businessID, hookID, pg)
		return err
	}); err != nil {
		return nil, nil, err
	}
	items, next := page(as, pg, func(a *DeliveryAttempt) string { return a.ID })
	return items, next, nil
}

// Redeliver schedules the event again for one hook or for every active hook
// subscribed to its type, even where it was delivered before.
func (s *Service) Redeliver(ctx context.Context, businessID, eventID string, hookID *string) error {
	if s.webhooks == nil {
		return Unavailable("webhook delivery", errors.New("no webhook queue configured"))
	}
	var jobs []DeliveryJob
	err := s.read(ctx, func(tx Tx) error {
		e, err := tx.Event(ctx, businessID, eventID)
		if err != nil {
			return err
		}
		var hooks []*Hook
		if hookID != nil && *hookID != "" {
			h, err := tx.Hook(ctx, businessID, *hookID)
			if err != nil {
				return err
			}
			hooks = []*Hook{h}
		} else if hooks, err = tx.HooksForEvents(ctx, businessID, []EventType{e.Type}); err != nil {
			return err
		}
		for _, h := range hooks {
			jobs = append(jobs, DeliveryJob{BusinessID: businessID, HookID: h.ID, EventID: e.ID, Attempt: 1, Force: true})
		}
		return nil
	})
	if err != nil || len(jobs) == 0 {
		return err
	}
	return s.webhooks.EnqueueDeliveries(ctx, jobs)
}

// AttemptOutcome is what one webhook delivery attempt means for its
// delivery, as the retry policy (triggers/webhook.Decide) judges the
// receiver's answer.
type AttemptOutcome int

// The outcomes of a delivery attempt. The zero AttemptOutcome is none of them.
const (
	// AttemptDelivered: the receiver answered 2xx; the delivery is done.
	AttemptDelivered AttemptOutcome = iota + 1
	// AttemptGone: the receiver answered 410 Gone; the hook is deleted.
	AttemptGone
	// AttemptRetry: the attempt failed; it is tried again after a delay.
	AttemptRetry
	// AttemptGiveUp: the attempt failed and it was the last one.
	AttemptGiveUp
)

// String names the outcome for logs and metrics: delivered, gone, retry,
// given_up.
func (o AttemptOutcome) String() string {
	switch o {
	case AttemptDelivered:
		return "delivered"
	case AttemptGone:
		return "gone"
	case AttemptRetry:
		return "retry"
	case AttemptGiveUp:
		return "given_up"
	}
	return "unknown"
}

// DeliveryTx reads and records a webhook delivery in one round trip each.
type DeliveryTx interface {
	// DeliveryState returns a delivery job's hook and event, and whether the
	// event was delivered to the hook; either missing is not_found.
	DeliveryState(ctx context.Context, businessID, hookID, eventID string) (*Hook, *EventRecord, bool, error)
	// RecordDelivered logs a successful attempt (a new ID) and clears the
	// hook's failure streak, if it has one; an unknown hook is no error.
	RecordDelivered(ctx context.Context, a *DeliveryAttempt) error
}

// PrepareDelivery loads what a delivery job needs. skip is true when there is
// nothing to do: the hook is gone or disabled, or (unless forced) the event
// was delivered to it already.
func (s *Service) PrepareDelivery(ctx context.Context, job DeliveryJob) (h *Hook, e *EventRecord, skip bool, err error) {
	err = s.read(ctx, func(tx Tx) error {
		var delivered bool
		if h, e, delivered, err = tx.DeliveryState(ctx, job.BusinessID, job.HookID, job.EventID); err != nil {
			return err
		}
		skip = h.Status != HookActive || (delivered && !job.Force)
		return nil
	})
	if ErrorCode(err) == ENotFound {
		return nil, nil, true, nil
	}
	return h, e, skip, err
}

// RecordDelivery logs an attempt and applies its consequences to the hook: a
// success clears its failure streak, gone deletes it, and a failure streak of
// HookDisableAfter disables it. It reports whether the hook may be tried again.
func (s *Service) RecordDelivery(ctx context.Context, a *DeliveryAttempt, gone bool) (retryable bool, err error) {
	err = s.write(ctx, func(tx Tx, _ *outbox) error {
		a.ID = NewID(PrefixDelivery)
		if a.Delivered && !gone {
			return tx.RecordDelivered(ctx, a)
		}
		if err := tx.InsertDeliveryAttempt(ctx, a); err != nil {
			return err
		}
		h, err := tx.Hook(ctx, a.BusinessID, a.HookID)
		if ErrorCode(err) == ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case gone:
			return tx.DeleteHook(ctx, a.BusinessID, a.HookID)
		case a.Delivered:
			if h.FailingSince == nil {
				return nil
			}
			h.FailingSince = nil
		default:
			if h.FailingSince == nil {
				at := a.At
				h.FailingSince = &at
			}
			if a.At.Sub(*h.FailingSince) >= HookDisableAfter {
				h.Status = HookDisabled
				s.log.WarnContext(ctx, "hook disabled after failing deliveries", "hook_id", h.ID, "since", *h.FailingSince)
			}
			retryable = h.Status == HookActive
		}
		return tx.UpdateHook(ctx, h)
	})
	return retryable, err
}

// PurgeDeliveryAttempts deletes delivery attempts older than maxAge, in
// batches (see purge).
func (s *Service) PurgeDeliveryAttempts(ctx context.Context, maxAge time.Duration) (int64, error) {
	before := s.clock().Add(-maxAge)
	return s.purge(ctx, func(tx Tx, limit int) (int64, error) {
		return tx.PurgeDeliveryAttempts(ctx, before, limit)
	})
}
