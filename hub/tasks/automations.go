package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/7loc/hub/hub"
)

// Task types of automations and sweeps.
const (
	// TypeRunAutomation runs one automation run.
	TypeRunAutomation = "automation:run"
	// TypeRelayAutomations enqueues due runs whose task was lost.
	TypeRelayAutomations = "automations:relay"
	// TypeSweeps runs the birthday, inactivity and voucher-expiring sweeps
	// that are due in each business's time zone.
	TypeSweeps = "sweeps:tick"
)

// AutomationEngine is the service side of automations and sweeps (hub.Service).
type AutomationEngine interface {
	RunAutomation(ctx context.Context, k hub.AutomationKey) (hub.RunOutcome, error)
	RelayDueAutomations(ctx context.Context, minAge time.Duration, batch int) (int, error)
	SweepDue(ctx context.Context) (int, error)
}

// Automations enqueues and runs automation runs and the sweeps; it
// implements hub.AutomationQueue. Runs go to the Messages queue, ahead of
// campaigns.
type Automations struct {
	engine AutomationEngine
	client *asynq.Client
	queue  string
	log    *slog.Logger
}

// NewAutomations returns the automation tasks; engine may be nil in a
// process that only enqueues.
func NewAutomations(client *asynq.Client, q Queues, engine AutomationEngine, log *slog.Logger) *Automations {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Automations{engine: engine, client: client, queue: q.Messages, log: log}
}

// Register adds the handlers to the mux.
func (a *Automations) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeRunAutomation, a.run)
	mux.HandleFunc(TypeRelayAutomations, a.relay)
	mux.HandleFunc(TypeSweeps, a.sweeps)
}

// EnqueueAutomations implements hub.AutomationQueue: one task per run, at
// its time, with the run as task id so a run waits in the queue once.
func (a *Automations) EnqueueAutomations(ctx context.Context, keys []hub.AutomationKey) error {
	var errs []error
	for _, k := range keys {
		payload, err := json.Marshal(k)
		if err != nil {
			return err
		}
		opts := []asynq.Option{asynq.TaskID("au:" + k.AutomationID + ":" + k.TriggerKey), asynq.Queue(a.queue),
			asynq.MaxRetry(10), asynq.Timeout(time.Minute)}
		if !k.RunAt.IsZero() {
			opts = append(opts, asynq.ProcessAt(k.RunAt))
		}
		_, err = a.client.EnqueueContext(ctx, asynq.NewTask(TypeRunAutomation, payload), opts...)
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			errs = append(errs, fmt.Errorf("enqueue run %s/%s: %w", k.AutomationID, k.TriggerKey, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Automations) run(ctx context.Context, t *asynq.Task) error {
	var k hub.AutomationKey
	if err := json.Unmarshal(t.Payload(), &k); err != nil || k.AutomationID == "" || k.TriggerKey == "" {
		return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	out, err := a.engine.RunAutomation(ctx, k)
	if err != nil {
		return err
	}
	if out.Status == hub.RunPending {
		// Early (a clock skew between processes): the relay runs it when due.
		a.log.DebugContext(ctx, "automation run not due yet", "automation", k.AutomationID, "run_at", out.RunAt)
	}
	return nil
}

func (a *Automations) relay(ctx context.Context, _ *asynq.Task) error {
	n, err := a.engine.RelayDueAutomations(ctx, time.Minute, 1000)
	if n > 0 {
		a.log.InfoContext(ctx, "automation relay enqueued due runs", "count", n)
	}
	return err
}

func (a *Automations) sweeps(ctx context.Context, _ *asynq.Task) error {
	n, err := a.engine.SweepDue(ctx)
	if n > 0 {
		a.log.InfoContext(ctx, "sweeps fired", "count", n)
	}
	return err
}
