package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub"
)

// TypeDeliverWebhook is the task that delivers one event to one hook.
const TypeDeliverWebhook = "webhook:deliver"

// deliveryPayload is the id-only payload of a delivery task.
type deliveryPayload struct {
	BusinessID string `json:"business_id"`
	HookID     string `json:"hook_id"`
	EventID    string `json:"event_id"`
	Attempt    int    `json:"attempt"`
	Force      bool   `json:"force,omitempty"`
}

// EnqueueDeliveries implements hub.WebhookQueue: first attempts go to the
// webhooks queue, retries to the retry queue, so that endpoints that fail do
// not hold up the first delivery to healthy ones. The task id names event,
// hook and attempt, so a job is queued once.
func (p *Publisher) EnqueueDeliveries(ctx context.Context, jobs []hub.DeliveryJob) error {
	return p.enqueueDeliveries(ctx, jobs, "")
}

// HubFailureRetries is how often asynq runs one delivery attempt again when
// the hub failed to make or record it (not when the receiver failed).
const HubFailureRetries = 5

// enqueueDeliveries enqueues jobs; a non-empty suffix makes the task ids new
// (a job put back because its hook is busy).
func (p *Publisher) enqueueDeliveries(ctx context.Context, jobs []hub.DeliveryJob, suffix string) error {
	var errs []error
	for _, j := range jobs {
		payload, err := json.Marshal(deliveryPayload{BusinessID: j.BusinessID, HookID: j.HookID, EventID: j.EventID, Attempt: j.Attempt, Force: j.Force})
		if err != nil {
			return err
		}
		id := fmt.Sprintf("whk:%s:%s:%d", j.EventID, j.HookID, j.Attempt)
		queue := p.queues.Webhooks
		if j.Attempt > 1 {
			queue = p.queues.WebhookRetries
		}
		if j.Force {
			id += ":" + hub.NewID("re") // every redelivery is its own task
		}
		id += suffix
		// The receiver's answers are counted by the policy's attempt number
		// alone: each attempt is its own task, which returns nil once the
		// attempt is recorded (a failure enqueues the next attempt). asynq's
		// retries run only when the hub itself failed before recording (the
		// database away) and re-run the same attempt; the receiver dedups on
		// webhook-id.
		opts := []asynq.Option{asynq.TaskID(id), asynq.Queue(queue), asynq.MaxRetry(HubFailureRetries)}
		if j.Delay > 0 {
			// asynq keeps whole seconds; round up so that no retry comes
			// sooner than the policy (or the receiver's Retry-After) allows.
			at := time.Now().Add(j.Delay)
			if at.Truncate(time.Second) != at {
				at = at.Truncate(time.Second).Add(time.Second)
			}
			opts = append(opts, asynq.ProcessAt(at))
		}
		_, err = p.client.EnqueueContext(ctx, asynq.NewTask(TypeDeliverWebhook, payload), opts...)
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			errs = append(errs, fmt.Errorf("enqueue %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// SendResult is one delivery attempt as the Sender made it.
type SendResult struct {
	Attempt hub.DeliveryAttempt
	Outcome hub.AttemptOutcome
	// RetryIn is the delay before the next attempt, when Outcome is RetryLater.
	RetryIn time.Duration
}

// Sender delivers an event to a hook over HTTP and judges the answer.
type Sender interface {
	Send(ctx context.Context, h *hub.Hook, e *hub.EventRecord, attempt int) SendResult
}

// Webhooks runs delivery tasks. At most PerHook deliveries to one hook run
// at once in a process: a job beyond that waits briefly for a slot and then
// goes back to the queue instead of holding a worker, so that a slow endpoint
// cannot take every worker from the healthy ones.
type Webhooks struct {
	svc    *hub.Service
	sender Sender
	queue  *Publisher
	log    *slog.Logger
	// PerHook bounds concurrent deliveries to one hook. Zero means 4.
	PerHook int
	// BusyDelay is how long a job waits when its hook is busy. Zero means 250 ms.
	BusyDelay time.Duration
	// Attempted, when set, learns the outcome of every recorded attempt
	// (for metrics); a give-up or a retry the hook's policy ends counts
	// as it was judged.
	Attempted func(hub.AttemptOutcome)

	mu   sync.Mutex
	busy map[string]int
}

// NewWebhooks returns the delivery handler; next attempts go to queue.
func NewWebhooks(svc *hub.Service, sender Sender, queue *Publisher, log *slog.Logger) *Webhooks {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Webhooks{svc: svc, sender: sender, queue: queue, log: log, busy: map[string]int{}}
}

// take claims a delivery slot of the hook; release gives it back.
func (w *Webhooks) take(hookID string) bool {
	limit := w.PerHook
	if limit <= 0 {
		limit = 4
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy[hookID] >= limit {
		return false
	}
	w.busy[hookID]++
	return true
}

// takeWithin waits up to d for a slot: a fast endpoint frees one within
// milliseconds, so only a slow one sends jobs back to the queue.
func (w *Webhooks) takeWithin(ctx context.Context, hookID string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !w.take(hookID) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

func (w *Webhooks) release(hookID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy[hookID]--; w.busy[hookID] <= 0 {
		delete(w.busy, hookID)
	}
}

// Register adds the delivery handler to the mux.
func (w *Webhooks) Register(mux *asynq.ServeMux) { mux.HandleFunc(TypeDeliverWebhook, w.deliver) }

func (w *Webhooks) deliver(ctx context.Context, t *asynq.Task) error {
	var p deliveryPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.HookID == "" || p.EventID == "" {
		return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	job := hub.DeliveryJob{BusinessID: p.BusinessID, HookID: p.HookID, EventID: p.EventID, Attempt: max(p.Attempt, 1), Force: p.Force}
	if !w.takeWithin(ctx, job.HookID, 100*time.Millisecond) {
		later := job
		later.Delay = w.BusyDelay
		if later.Delay <= 0 {
			later.Delay = 250 * time.Millisecond
		}
		return w.queue.enqueueDeliveries(ctx, []hub.DeliveryJob{later}, ":"+hub.NewID("busy"))
	}
	defer w.release(job.HookID)
	h, e, skip, err := w.svc.PrepareDelivery(ctx, job)
	if err != nil || skip {
		return err
	}
	res := w.sender.Send(ctx, h, e, job.Attempt)
	a := res.Attempt
	a.BusinessID, a.HookID, a.EventID, a.Attempt = job.BusinessID, job.HookID, job.EventID, job.Attempt
	retryable, err := w.svc.RecordDelivery(ctx, &a, res.Outcome == hub.AttemptGone)
	if err != nil {
		return err // the attempt is retried as a task; the receiver dedups on webhook-id
	}
	if w.Attempted != nil {
		w.Attempted(res.Outcome)
	}
	if res.Outcome != hub.AttemptRetry || !retryable {
		if res.Outcome == hub.AttemptGiveUp {
			w.log.WarnContext(ctx, "webhook delivery given up", "hook_id", h.ID, "event_id", e.ID, "attempts", job.Attempt)
		}
		return nil
	}
	next := job
	next.Attempt, next.Delay = job.Attempt+1, res.RetryIn
	return w.queue.EnqueueDeliveries(ctx, []hub.DeliveryJob{next})
}
