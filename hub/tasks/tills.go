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

// Task types of the till integrations.
const (
	// TypeTillSale fetches a closed order a till's webhook reported and
	// records its sale.
	TypeTillSale = "till:sale"
	// TypeReconcileTills reads every Syrve connection's closed orders of the
	// last day and applies those no webhook brought (every 15 minutes).
	TypeReconcileTills = "tills:reconcile"
)

// TillSaleMaxRetry is how often a fetch the provider could not answer is
// retried: asynq's backoff spreads twelve retries over about a day, within
// Poster's own two days of webhook retries.
const TillSaleMaxRetry = 12

// tillPayload is the payload of a till fetch.
type tillPayload struct {
	BusinessID string `json:"business_id"`
	Provider   string `json:"provider"`
	OrderID    string `json:"order_id"`
}

// TillQueue enqueues till fetches; it implements hub.TillQueue.
type TillQueue struct {
	client *asynq.Client
	queue  string
}

// NewTillQueue returns a TillQueue on the queues' Tills queue.
func NewTillQueue(client *asynq.Client, q Queues) *TillQueue {
	return &TillQueue{client: client, queue: q.Tills}
}

// EnqueueTillSale enqueues one fetch, with the order as task id: a webhook
// repeated while the fetch waits (Poster retries, "changed" after "closed")
// is not queued twice. Once done, a new webhook fetches again, and the sale
// intake answers the first result.
func (q *TillQueue) EnqueueTillSale(ctx context.Context, businessID, provider, orderID string) error {
	payload, err := json.Marshal(tillPayload{BusinessID: businessID, Provider: provider, OrderID: orderID})
	if err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, asynq.NewTask(TypeTillSale, payload),
		asynq.TaskID("till:"+businessID+":"+provider+":"+orderID), asynq.Queue(q.queue),
		asynq.MaxRetry(TillSaleMaxRetry), asynq.Timeout(time.Minute))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue till fetch: %w", err)
	}
	return nil
}

func (h *Handlers) tillSale(ctx context.Context, t *asynq.Task) error {
	var p tillPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.OrderID == "" {
		return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	sale, err := h.svc.FetchTillSale(ctx, p.BusinessID, p.Provider, p.OrderID)
	switch {
	case errors.Is(err, hub.ErrTillRetry):
		return err
	case err != nil:
		h.log.WarnContext(ctx, "till order not recorded", "business_id", p.BusinessID, "provider", p.Provider,
			"order_id", p.OrderID, "err", err)
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	case sale != nil:
		h.log.DebugContext(ctx, "till sale recorded", "business_id", p.BusinessID, "provider", p.Provider,
			"order_id", p.OrderID, "status", sale.Status, "stamps", sale.StampsAdded)
	}
	return nil
}

func (h *Handlers) reconcileTills(ctx context.Context, _ *asynq.Task) error {
	n, err := h.svc.ReconcileAll(ctx, hub.SourceSyrve)
	if n > 0 {
		h.log.InfoContext(ctx, "till reconciliation applied missed sales", "provider", hub.SourceSyrve, "count", n)
	}
	return err
}

// TypeTillCustomer creates a customer whose card was just issued in the
// business's till (Poster's clients).
const TypeTillCustomer = "till:customer"

// EnqueueTillCustomer enqueues one customer sync, with the customer as task
// id (a repeated dispatch of card_issued queues it once while it waits).
func (q *TillQueue) EnqueueTillCustomer(ctx context.Context, businessID, provider, customerID string) error {
	payload, err := json.Marshal(tillPayload{BusinessID: businessID, Provider: provider, OrderID: customerID})
	if err != nil {
		return err
	}
	_, err = q.client.EnqueueContext(ctx, asynq.NewTask(TypeTillCustomer, payload),
		asynq.TaskID("tillcustomer:"+businessID+":"+provider+":"+customerID), asynq.Queue(q.queue),
		asynq.MaxRetry(TillSaleMaxRetry), asynq.Timeout(time.Minute))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue till customer: %w", err)
	}
	return nil
}

func (h *Handlers) tillCustomer(ctx context.Context, t *asynq.Task) error {
	var p tillPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.OrderID == "" {
		return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	err := h.svc.SyncTillCustomer(ctx, p.BusinessID, p.Provider, p.OrderID)
	if err != nil && !errors.Is(err, hub.ErrTillRetry) {
		h.log.WarnContext(ctx, "customer not created in the till", "business_id", p.BusinessID, "provider", p.Provider,
			"customer_id", p.OrderID, "err", err)
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}
