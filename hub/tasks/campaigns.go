package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub"
)

// Task types of campaigns.
const (
	// TypeRunCampaign drives one campaign: it walks the audience in batches
	// and hands the deliveries to send tasks, as the lease holder.
	TypeRunCampaign = "campaign:run"
	// TypeSendCampaign sends a chunk of a campaign's deliveries.
	TypeSendCampaign = "campaign:send"
	// TypeCampaignTick starts runners for due scheduled campaigns and for
	// sending ones whose runner died.
	TypeCampaignTick = "campaigns:tick"
)

// Campaign engine tuning.
const (
	// CampaignChunk is how many deliveries one send task carries.
	CampaignChunk = 64
	// campaignRunBudget is how long one run task works before it hands over
	// to a fresh task (so a long campaign never holds one task for hours).
	campaignRunBudget = 20 * time.Second
	// CampaignSendParallel is how many deliveries of one chunk go out at once:
	// a group claimed, sent and recorded together, and so the most a killed
	// worker can leave unknown per send task. 16 rather than 8 costs a
	// campaign 11 % less CPU per message (BENCHMARKS.md).
	CampaignSendParallel = 16
)

type campaignPayload struct {
	BusinessID string `json:"business_id"`
	CampaignID string `json:"campaign_id"`
	// Handover marks a runner started by the previous one at the end of its
	// budget: the pending deliveries are already in the queue.
	Handover bool `json:"handover,omitempty"`
}

type chunkPayload struct {
	BusinessID  string   `json:"business_id"`
	CampaignID  string   `json:"campaign_id"`
	DeliveryIDs []string `json:"delivery_ids"`
}

// CampaignEngine is the service side of campaigns (hub.Service).
type CampaignEngine interface {
	CampaignStep(ctx context.Context, businessID, id, owner string) (hub.Step, error)
	ReleaseCampaign(ctx context.Context, businessID, id, owner string) error
	RequeueCampaign(ctx context.Context, businessID, id string) ([]hub.DeliveryKey, error)
	CampaignsToRun(ctx context.Context, limit int) ([]hub.CampaignRef, error)
}

// ChunkDeliverer sends many queued deliveries at once (channels.Router):
// results[i] is the answer for keys[i], as Deliverer's.
type ChunkDeliverer interface {
	DeliverBatch(ctx context.Context, keys []hub.DeliveryKey, final bool, parallel int) (results []error, err error)
}

// Campaigns enqueues and runs campaign tasks; it implements
// hub.CampaignQueue. Runners and chunks go to the Campaigns queue, which
// has a lower priority than Messages, so one business's large campaign does
// not hold up another's one-off messages.
type Campaigns struct {
	engine    CampaignEngine
	deliverer ChunkDeliverer
	messages  *MessageQueue
	client    *asynq.Client
	queue     string
	log       *slog.Logger
}

// NewCampaigns returns the campaign tasks. engine and deliverer may be nil
// in a process that only enqueues (the API).
func NewCampaigns(client *asynq.Client, q Queues, engine CampaignEngine, deliverer ChunkDeliverer, log *slog.Logger) *Campaigns {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Campaigns{engine: engine, deliverer: deliverer, client: client, queue: q.Campaigns,
		messages: NewMessageQueue(client, q), log: log}
}

// Register adds the handlers to the mux.
func (c *Campaigns) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeRunCampaign, c.run)
	mux.HandleFunc(TypeSendCampaign, c.send)
	mux.HandleFunc(TypeCampaignTick, c.tick)
}

// RunCampaign implements hub.CampaignQueue. Runners are not deduplicated
// by the queue: the campaign's lease in the database lets one run and the
// others exit at once.
func (c *Campaigns) RunCampaign(ctx context.Context, businessID, id string, at time.Time) error {
	return c.enqueueRun(ctx, campaignPayload{BusinessID: businessID, CampaignID: id}, at)
}

func (c *Campaigns) enqueueRun(ctx context.Context, p campaignPayload, at time.Time) error {
	payload, err := json.Marshal(p)
	if err != nil {
		return err
	}
	opts := []asynq.Option{asynq.Queue(c.queue), asynq.MaxRetry(3), asynq.Timeout(campaignRunBudget + time.Minute)}
	if !at.IsZero() {
		opts = append(opts, asynq.ProcessAt(at))
	}
	_, err = c.client.EnqueueContext(ctx, asynq.NewTask(TypeRunCampaign, payload), opts...)
	return err
}

func newOwner() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// run steps the campaign for a while, handing deliveries to chunk tasks,
// then hands over to a new run task.
func (c *Campaigns) run(ctx context.Context, t *asynq.Task) error {
	var p campaignPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.CampaignID == "" {
		return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	owner := newOwner()
	deadline := time.Now().Add(campaignRunBudget)
	first := true
	for {
		step, err := c.engine.CampaignStep(ctx, p.BusinessID, p.CampaignID, owner)
		if hub.ErrorCode(err) == hub.ENotFound {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		if err != nil {
			return err
		}
		if first && !p.Handover && step.Action != hub.StepStop {
			// A resume or a takeover: pending deliveries go out again (a copy
			// of a task still queued is harmless: the ledger lets one send).
			keys, err := c.engine.RequeueCampaign(ctx, p.BusinessID, p.CampaignID)
			if err != nil {
				return err
			}
			if err := c.enqueueChunks(ctx, p, keys); err != nil {
				return err
			}
		}
		first = false
		switch step.Action {
		case hub.StepStop:
			return nil
		case hub.StepHold:
			return c.RunCampaign(ctx, p.BusinessID, p.CampaignID, step.Until)
		case hub.StepSend:
			if err := c.enqueueChunks(ctx, p, step.Deliveries); err != nil {
				return err
			}
		case hub.StepWait:
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err := c.engine.ReleaseCampaign(context.WithoutCancel(ctx), p.BusinessID, p.CampaignID, owner); err != nil {
				return err
			}
			next := p
			next.Handover = true
			return c.enqueueRun(context.WithoutCancel(ctx), next, time.Time{})
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// enqueueChunks hands deliveries to send tasks, CampaignChunk each. The
// task id is the chunk's first delivery, so a repeated step does not queue
// a chunk twice while it waits.
func (c *Campaigns) enqueueChunks(ctx context.Context, p campaignPayload, keys []hub.DeliveryKey) error {
	var errs []error
	for start := 0; start < len(keys); start += CampaignChunk {
		chunk := keys[start:min(start+CampaignChunk, len(keys))]
		ids := make([]string, len(chunk))
		for i, k := range chunk {
			ids[i] = k.ID
		}
		payload, err := json.Marshal(chunkPayload{BusinessID: p.BusinessID, CampaignID: p.CampaignID, DeliveryIDs: ids})
		if err != nil {
			return err
		}
		_, err = c.client.EnqueueContext(ctx, asynq.NewTask(TypeSendCampaign, payload), asynq.TaskID("chunk:"+ids[0]),
			asynq.Queue(c.queue), asynq.MaxRetry(3), asynq.Timeout(5*time.Minute))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// send delivers a chunk, several at once, with one ledger transaction for
// the claims and one for the answers. A delivery that must wait (rate
// limit, quiet hours, paused campaign) or failed for now goes on as a send
// task of its own, at the time it asks for.
func (c *Campaigns) send(ctx context.Context, t *asynq.Task) error {
	var p chunkPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || len(p.DeliveryIDs) == 0 {
		return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	keys := make([]hub.DeliveryKey, len(p.DeliveryIDs))
	for i, id := range p.DeliveryIDs {
		keys[i] = hub.DeliveryKey{BusinessID: p.BusinessID, ID: id}
	}
	results, err := c.deliverer.DeliverBatch(ctx, keys, false, CampaignSendParallel)
	if err != nil {
		// Nothing claimed, or answers not recorded: the chunk runs again
		// (the ledger sends each delivery at most once).
		return err
	}
	var errs []error
	for i, err := range results {
		if err == nil || hub.ErrorCode(err) == hub.ENotFound {
			continue
		}
		after := time.Second
		var h retryHint
		if errors.As(err, &h) && h.RetryIn() > 0 {
			after = h.RetryIn()
		}
		if qerr := c.messages.enqueueAfter(context.WithoutCancel(ctx), keys[i], after); qerr != nil {
			errs = append(errs, qerr)
		}
	}
	// Deliveries that could not be handed on stay pending; the delivery
	// relay finds them.
	return errors.Join(errs...)
}

// tick starts runners for campaigns that need one.
func (c *Campaigns) tick(ctx context.Context, _ *asynq.Task) error {
	refs, err := c.engine.CampaignsToRun(ctx, 100)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range refs {
		if err := c.RunCampaign(ctx, r.BusinessID, r.ID, time.Time{}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(refs) > 0 {
		c.log.InfoContext(ctx, "campaign tick started runners", "count", len(refs))
	}
	return errors.Join(errs...)
}
