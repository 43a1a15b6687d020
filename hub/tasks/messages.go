package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub"
)

// Task types of messaging.
const (
	TypeSendMessage     = "message:send"
	TypeRelayDeliveries = "deliveries:relay"
)

// MessageMaxRetry is how often a transient send failure is retried (asynq's
// backoff spreads eight retries over about three hours). Rate-limited
// retries do not count.
const MessageMaxRetry = 8

// MessageQueue enqueues deliveries; it implements hub.MessageQueue.
type MessageQueue struct {
	client *asynq.Client
	queue  string
}

// NewMessageQueue returns a MessageQueue on the queues' Messages queue.
func NewMessageQueue(client *asynq.Client, q Queues) *MessageQueue {
	return &MessageQueue{client: client, queue: q.Messages}
}

// EnqueueDeliveries enqueues one send task per delivery with the delivery id
// as task id, so a delivery waiting in the queue (or for a retry) is not
// queued twice.
func (q *MessageQueue) EnqueueDeliveries(ctx context.Context, keys []hub.DeliveryKey) error {
	var errs []error
	for _, k := range keys {
		payload, err := json.Marshal(k)
		if err != nil {
			return err
		}
		_, err = q.client.EnqueueContext(ctx, asynq.NewTask(TypeSendMessage, payload), asynq.TaskID(k.ID),
			asynq.Queue(q.queue), asynq.MaxRetry(MessageMaxRetry), asynq.Timeout(2*time.Minute))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			errs = append(errs, fmt.Errorf("enqueue %s: %w", k.ID, err))
		}
	}
	return errors.Join(errs...)
}

// enqueueAfter enqueues one delivery's send task to run after a pause.
func (q *MessageQueue) enqueueAfter(ctx context.Context, k hub.DeliveryKey, after time.Duration) error {
	payload, err := json.Marshal(k)
	if err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, asynq.NewTask(TypeSendMessage, payload), asynq.TaskID(k.ID),
		asynq.Queue(q.queue), asynq.MaxRetry(MessageMaxRetry), asynq.Timeout(2*time.Minute), asynq.ProcessIn(after))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// Deliverer sends one queued delivery (channels.Router).
type Deliverer interface {
	Deliver(ctx context.Context, k hub.DeliveryKey, final bool) error
}

// retryHint is what a Deliverer's error may say about the next run.
type retryHint interface {
	RetryIn() time.Duration
	NotFailure() bool
}

// Messages runs send tasks.
type Messages struct {
	deliverer Deliverer
}

// NewMessages returns the send-task handlers.
func NewMessages(d Deliverer) *Messages {
	return &Messages{deliverer: d}
}

// Register adds the handlers to the mux.
func (m *Messages) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeSendMessage, m.send)
}

func (m *Messages) send(ctx context.Context, t *asynq.Task) error {
	var k hub.DeliveryKey
	if err := json.Unmarshal(t.Payload(), &k); err != nil || k.ID == "" || k.BusinessID == "" {
		return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	err := m.deliverer.Deliver(ctx, k, retried >= maxRetry)
	if hub.ErrorCode(err) == hub.ENotFound {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

// isFailure keeps rate-limited retries from using up attempts.
func isFailure(err error) bool {
	var h retryHint
	return !(errors.As(err, &h) && h.NotFailure())
}
