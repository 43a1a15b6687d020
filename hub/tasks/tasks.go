package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/7loc/hub/hub"
)

// Task types.
const (
	TypeDispatchEvent    = "event:dispatch"
	TypeRelayOutbox      = "outbox:relay"
	TypeExpireVouchers   = "vouchers:expire"
	TypePurgeIdempotency = "idempotency:purge"
)

// Queues names the asynq queues the hub uses.
type Queues struct {
	// Events carries event dispatch.
	Events string
	// Webhooks carries first webhook delivery attempts.
	Webhooks string
	// WebhookRetries carries later attempts, apart from the first ones.
	WebhookRetries string
	// Maintenance carries the periodic tasks.
	Maintenance string
	// Messages carries message sends to customers: one-off messages,
	// automations, and retries.
	Messages string
	// Campaigns carries campaign runners and first sends, behind Messages
	// in priority.
	Campaigns string
	// Tills carries fetches of closed orders that tills' webhooks report.
	Tills string
}

// NewQueues returns the queue names under a prefix; an empty prefix means "hub".
// Deployments sharing one Redis, and tests, use distinct prefixes.
func NewQueues(prefix string) Queues {
	if prefix == "" {
		prefix = "hub"
	}
	return Queues{Events: prefix + ":events", Webhooks: prefix + ":webhooks",
		WebhookRetries: prefix + ":webhook-retries", Maintenance: prefix + ":maintenance",
		Messages: prefix + ":messages", Campaigns: prefix + ":campaigns", Tills: prefix + ":tills"}
}

// eventPayload is the id-only payload of a dispatch task: up to 100 events
// of any businesses that transactions (or a relay pass) wrote, each
// business's oldest first. Tasks queued before dispatch spanned businesses
// name one business and its ids.
type eventPayload struct {
	Events     []eventRef `json:"events,omitempty"`
	BusinessID string     `json:"business_id,omitempty"`
	EventIDs   []string   `json:"event_ids,omitempty"`
}

// eventRef names one event of a dispatch task.
type eventRef struct {
	BusinessID string `json:"b"`
	ID         string `json:"id"`
}

// keys returns the payload's events.
func (p eventPayload) keys() []hub.EventKey {
	keys := make([]hub.EventKey, 0, len(p.Events)+len(p.EventIDs))
	for _, e := range p.Events {
		keys = append(keys, hub.EventKey{BusinessID: e.BusinessID, ID: e.ID})
	}
	for _, id := range p.EventIDs {
		keys = append(keys, hub.EventKey{BusinessID: p.BusinessID, ID: id})
	}
	return keys
}

// DispatchMaxRetry is how often a failed dispatch is retried (asynq backs off exponentially).
const DispatchMaxRetry = 25

// maxEventsPerTask bounds the events one dispatch task carries.
const maxEventsPerTask = 100

// Publisher enqueues the dispatch of events; it implements hub.EventPublisher.
type Publisher struct {
	client *asynq.Client
	queue  string
	queues Queues
}

// NewPublisher returns a Publisher enqueueing on the queues.
func NewPublisher(client *asynq.Client, q Queues) *Publisher {
	return &Publisher{client: client, queue: q.Events, queues: q}
}

// PublishEvents enqueues one dispatch task per 100 events, of any
// businesses, with "<first id>:<last id>" as the task id: the same batch is
// not queued twice while it waits. A batch that overlaps another (the
// relay's and a transaction's) may dispatch an event twice; dispatch is
// idempotent.
func (p *Publisher) PublishEvents(ctx context.Context, events []hub.EventKey) error {
	var errs []error
	for start := 0; start < len(events); start += maxEventsPerTask {
		batch := events[start:min(start+maxEventsPerTask, len(events))]
		refs := make([]eventRef, len(batch))
		for i, e := range batch {
			refs[i] = eventRef{BusinessID: e.BusinessID, ID: e.ID}
		}
		payload, err := json.Marshal(eventPayload{Events: refs})
		if err != nil {
			return err
		}
		taskID := batch[0].ID + ":" + batch[len(batch)-1].ID
		task := asynq.NewTask(TypeDispatchEvent, payload)
		_, err = p.client.EnqueueContext(ctx, task, asynq.TaskID(taskID), asynq.Queue(p.queue), asynq.MaxRetry(DispatchMaxRetry))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			errs = append(errs, fmt.Errorf("enqueue %s: %w", taskID, err))
		}
	}
	return errors.Join(errs...)
}

// relayBudget is how long one run of the outbox relay keeps draining a
// backlog (it runs every 10 s).
const relayBudget = 8 * time.Second

// deliveryRelayBudget is how long one run of the delivery relay keeps
// draining a backlog (it runs every 30 s).
const deliveryRelayBudget = 20 * time.Second

// Handlers runs the hub's tasks.
type Handlers struct {
	svc *hub.Service
	log *slog.Logger
	// RelayMinAge is how old an undispatched event must be before the relay
	// enqueues it again. Zero means 30 s.
	RelayMinAge time.Duration
	// DeliveryLogRetention is how long delivery attempts are kept. Zero means 30 days.
	DeliveryLogRetention time.Duration
}

// NewHandlers returns the handlers for the service.
func NewHandlers(svc *hub.Service, log *slog.Logger) *Handlers {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handlers{svc: svc, log: log}
}

// Register adds every handler to the mux.
func (h *Handlers) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeDispatchEvent, h.dispatch)
	mux.HandleFunc(TypeRelayOutbox, h.relay)
	mux.HandleFunc(TypeExpireVouchers, h.expire)
	mux.HandleFunc(TypePurgeIdempotency, h.purge)
	mux.HandleFunc(TypeRelayDeliveries, h.relayDeliveries)
	mux.HandleFunc(TypeTillSale, h.tillSale)
	mux.HandleFunc(TypeTillCustomer, h.tillCustomer)
	mux.HandleFunc(TypeReconcileTills, h.reconcileTills)
}

func (h *Handlers) relayDeliveries(ctx context.Context, _ *asynq.Task) error {
	n, err := h.svc.RelayStalledDeliveries(ctx, time.Minute, 1000, deliveryRelayBudget)
	if n > 0 {
		h.log.InfoContext(ctx, "delivery relay enqueued stalled deliveries", "count", n)
	}
	return err
}

func (h *Handlers) dispatch(ctx context.Context, t *asynq.Task) error {
	var p eventPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || len(p.keys()) == 0 {
		return fmt.Errorf("bad payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	return h.svc.DispatchEventKeys(ctx, p.keys())
}

func (h *Handlers) relay(ctx context.Context, _ *asynq.Task) error {
	age := h.RelayMinAge
	if age <= 0 {
		age = 30 * time.Second
	}
	n, err := h.svc.RelayUndispatched(ctx, age, 1000, relayBudget)
	if n > 0 {
		h.log.InfoContext(ctx, "outbox relay enqueued undispatched events", "count", n)
	}
	return err
}

func (h *Handlers) expire(ctx context.Context, _ *asynq.Task) error {
	n, err := h.svc.ExpireDueVouchers(ctx, 200)
	if n > 0 {
		h.log.InfoContext(ctx, "vouchers expired", "count", n)
	}
	return err
}

func (h *Handlers) purge(ctx context.Context, _ *asynq.Task) error {
	_, err := h.svc.PurgeIdempotencyKeys(ctx, hub.IdempotencyTTL)
	if err != nil {
		return err
	}
	keep := h.DeliveryLogRetention
	if keep <= 0 {
		keep = 30 * 24 * time.Hour
	}
	_, err = h.svc.PurgeDeliveryAttempts(ctx, keep)
	return err
}

// Periodic is one task the scheduler enqueues on a cron spec.
type Periodic struct {
	Spec string
	Type string
}

// DefaultPeriodic is the maintenance schedule.
var DefaultPeriodic = []Periodic{
	{"@every 10s", TypeRelayOutbox},
	{"@every 30s", TypeExpireVouchers},
	{"@every 1h", TypePurgeIdempotency},
	{"@every 30s", TypeRelayDeliveries},
	{"@every 10s", TypeCampaignTick},
	{"@every 30s", TypeRelayAutomations},
	{"@every 1m", TypeSweeps},
	{"@every 15m", TypeReconcileTills},
}

// WorkerConfig configures Run. Zero values are documented per field.
type WorkerConfig struct {
	// Queues names the queues. Zero means NewQueues("").
	Queues Queues
	// Concurrency is the number of tasks run at once. Zero means 20.
	Concurrency int
	// Scheduler also runs the periodic maintenance in this process. Several
	// processes may do so: a periodic task is unique for its period, so the
	// queue holds at most one of each per period.
	Scheduler bool
	// Periodic overrides DefaultPeriodic when not nil.
	Periodic []Periodic
	// Webhooks delivers webhooks. Nil leaves delivery tasks waiting.
	Webhooks *Webhooks
	// Messages sends messages to customers. Nil leaves send tasks waiting.
	Messages *Messages
	// Campaigns runs campaigns. Nil leaves campaign tasks waiting.
	Campaigns *Campaigns
	// Automations runs automations and the sweeps. Nil leaves their tasks waiting.
	Automations *Automations
	// PollInterval is how long an idle worker waits for a wake-up (see
	// Waker) before it looks for tasks in Redis anyway. Zero means one
	// second: an idle process asks Redis once a second, and a task enqueued
	// with the hook is picked up a round trip later.
	PollInterval time.Duration
	// Waker wakes the idle workers. Nil means a new one on rdb (whose hook
	// then also wakes the workers of other processes, while Run runs).
	Waker *Waker
	// Logger receives logs. Nil discards them.
	Logger *slog.Logger
	// Observer learns of every task run, for metrics. Nil means none.
	Observer Observer
}

// Observer learns what the workers do. Its methods must be fast and safe
// for concurrent use.
type Observer interface {
	// TaskDone is called after each run of a task handler with its error
	// (nil when it succeeded).
	TaskDone(taskType string, err error)
}

// observe reports every handler run of the mux to o.
func observe(o Observer) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			err := next.ProcessTask(ctx, t)
			o.TaskDone(t.Type(), err)
			return err
		})
	}
}

// taskCheckInterval is asynq's pause after finding every queue empty,
// before the Waker's wait: the latency it adds to a task that arrives in
// that pause.
const taskCheckInterval = 2 * time.Millisecond

// Run processes tasks from Redis until ctx ends, then shuts down gracefully
// (tasks in progress get asynq's shutdown timeout to finish; the rest go back
// to the queue).
func Run(ctx context.Context, rdb redis.UniversalClient, h *Handlers, cfg WorkerConfig) error {
	if cfg.Queues.Events == "" {
		cfg.Queues = NewQueues("")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 20
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Waker == nil {
		cfg.Waker = NewWaker(rdb, cfg.Queues, cfg.PollInterval, log)
		go cfg.Waker.Run(ctx)
	}
	lctx, stopListening := context.WithCancel(ctx)
	listened := make(chan struct{})
	go func() { cfg.Waker.Listen(lctx); close(listened) }()
	defer func() { stopListening(); <-listened }()
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: cfg.Concurrency,
		Queues: map[string]int{cfg.Queues.Events: 6, cfg.Queues.Webhooks: 6,
			cfg.Queues.WebhookRetries: 2, cfg.Queues.Maintenance: 1, cfg.Queues.Messages: 4, cfg.Queues.Campaigns: 2,
			cfg.Queues.Tills: 3},
		Logger:          slogAdapter{log},
		LogLevel:        asynq.WarnLevel,
		ShutdownTimeout: 10 * time.Second,
		// asynq sleeps 0.5 to 1.5 times this when every queue is empty,
		// then the Waker holds its next look until a task is enqueued (or
		// PollInterval passes).
		TaskCheckInterval: taskCheckInterval,
		// Retries and delayed deliveries move into their queue within a second.
		DelayedTaskCheckInterval: time.Second,
		RetryDelayFunc:           retryDelay,
		IsFailure:                isFailure,
	})
	mux := asynq.NewServeMux()
	if cfg.Observer != nil {
		mux.Use(observe(cfg.Observer))
	}
	h.Register(mux)
	if cfg.Webhooks != nil {
		cfg.Webhooks.Register(mux)
	}
	if cfg.Messages != nil {
		cfg.Messages.Register(mux)
	}
	if cfg.Campaigns != nil {
		cfg.Campaigns.Register(mux)
	}
	if cfg.Automations != nil {
		cfg.Automations.Register(mux)
	}
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	var sch *asynq.Scheduler
	if cfg.Scheduler {
		sch = asynq.NewSchedulerFromRedisClient(rdb, &asynq.SchedulerOpts{Logger: slogAdapter{log}, LogLevel: asynq.WarnLevel,
			// asynq's only hook that names the task of a refused enqueue.
			EnqueueErrorHandler: func(t *asynq.Task, _ []asynq.Option, err error) { logRefusal(log, t.Type(), err) }})
		periodic := cfg.Periodic
		if periodic == nil {
			periodic = DefaultPeriodic
		}
		for _, p := range periodic {
			task := asynq.NewTask(p.Type, nil)
			if _, err := sch.Register(p.Spec, task, periodicOptions(p, cfg.Queues.Maintenance)...); err != nil {
				srv.Shutdown()
				return fmt.Errorf("schedule %s: %w", p.Type, err)
			}
		}
		if err := sch.Start(); err != nil {
			srv.Shutdown()
			return fmt.Errorf("start scheduler: %w", err)
		}
	}
	<-ctx.Done()
	if sch != nil {
		sch.Shutdown()
	}
	srv.Shutdown()
	return nil
}

// periodicOptions are the enqueue options of a periodic task. It is not
// retried: its next period is its retry. It is unique for one period, so
// schedulers on several processes queue it once per period, and a run that
// failed (the database away) never blocks the next: its lock lapses with
// the period. (A fixed task id did block it: the failed task stayed in the
// archive under that id and every later enqueue was refused.)
func periodicOptions(p Periodic, queue string) []asynq.Option {
	return []asynq.Option{asynq.Queue(queue), asynq.MaxRetry(0), asynq.Unique(period(p.Spec))}
}

// period is the interval of an "@every <duration>" spec; other cron specs
// count as a minute, their finest step.
func period(spec string) time.Duration {
	if every, ok := strings.CutPrefix(spec, "@every "); ok {
		if d, err := time.ParseDuration(every); err == nil {
			return max(d, time.Second)
		}
	}
	return time.Minute
}

// logRefusal logs a periodic task the scheduler could not enqueue: still
// queued from its last period (another scheduler was first, or a run is
// slow) is information; anything else (Redis away) is a warning.
func logRefusal(log *slog.Logger, taskType string, err error) {
	if errors.Is(err, asynq.ErrDuplicateTask) || errors.Is(err, asynq.ErrTaskIDConflict) {
		log.Info("periodic task still queued from its last period", "task", taskType)
		return
	}
	log.Warn("cannot enqueue periodic task", "task", taskType, "err", err)
}

// slogAdapter lets asynq log through slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a slogAdapter) Error(args ...any) {
	msg := fmt.Sprint(args...)
	if strings.Contains(msg, "connection is shared") {
		// asynq tries to close the Redis client it was handed; the caller owns it.
		a.l.Debug(msg, "component", "asynq")
		return
	}
	a.l.Error(msg, "component", "asynq")
}
func (a slogAdapter) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}

// retryDelay runs a task orphaned by a dead worker (its lease expired) again
// at once; other failures back off as asynq does by default.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return time.Second
	}
	var h retryHint
	if errors.As(err, &h) && h.RetryIn() > 0 {
		return h.RetryIn()
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}
