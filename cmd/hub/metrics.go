package main

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/7loc/hub/channels"
	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/tasks"
)

// queueCollector exports, at each scrape, the depth and latency of every
// asynq queue of the hub, the tasks processed and failed, and the outbox lag.
type queueCollector struct {
	insp   *asynq.Inspector
	queues tasks.Queues
	svc    *hub.Service

	size, latency, processed, failed, lag, up *prometheus.Desc
}

func newQueueCollector(insp *asynq.Inspector, q tasks.Queues, svc *hub.Service) *queueCollector {
	return &queueCollector{insp: insp, queues: q, svc: svc,
		size: prometheus.NewDesc("hub_queue_tasks", "Tasks in an asynq queue by state (pending, active, scheduled, retry, archived).",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("hub_queue_latency_seconds", "Age of the oldest pending task of the queue.",
			[]string{"queue"}, nil),
		processed: prometheus.NewDesc("hub_queue_processed_total", "Tasks of the queue processed, succeeded or failed (asynq's cumulative count).",
			[]string{"queue"}, nil),
		failed: prometheus.NewDesc("hub_queue_failed_total", "Tasks of the queue that failed (asynq's cumulative count; a retried task counts each time).",
			[]string{"queue"}, nil),
		lag: prometheus.NewDesc("hub_outbox_lag_seconds", "Age of the oldest committed event not yet dispatched (0 when none waits).",
			nil, nil),
		up: prometheus.NewDesc("hub_queue_scrape_ok", "1 when Redis and the database answered this scrape, else 0.",
			nil, nil),
	}
}

func (c *queueCollector) names() []string {
	q := c.queues
	return []string{q.Events, q.Webhooks, q.WebhookRetries, q.Maintenance, q.Messages, q.Campaigns, q.Tills}
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.size, c.latency, c.processed, c.failed, c.lag, c.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A queue no task ever reached is
// reported empty.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ok := 1.0
	known := map[string]bool{}
	if names, err := c.insp.Queues(); err == nil {
		for _, n := range names {
			known[n] = true
		}
	} else {
		ok = 0
	}
	for _, name := range c.names() {
		info := &asynq.QueueInfo{Queue: name}
		if known[name] {
			got, err := c.insp.GetQueueInfo(name)
			if err != nil {
				ok = 0
			} else {
				info = got
			}
		}
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived} {
			ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(n), name, state)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.CounterValue, float64(info.ProcessedTotal), name)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(info.FailedTotal), name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lag, err := c.svc.OutboxLag(ctx)
	if err != nil {
		ok = 0
	}
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, lag.Seconds())
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, ok)
}

// workerMetrics counts what this process's workers did: task runs by type
// and result, webhook attempts and message sends by outcome, and the last
// success of each periodic task. The counters are per process; Prometheus
// sums them over replicas (and takes the max of the last-success times).
type workerMetrics struct {
	runs     *prometheus.CounterVec
	webhooks *prometheus.CounterVec
	sends    *prometheus.CounterVec
	periodic *prometheus.GaugeVec
	// isPeriodic names the periodic task types.
	isPeriodic map[string]bool
}

func newWorkerMetrics(reg prometheus.Registerer, periodic []tasks.Periodic) (*workerMetrics, error) {
	m := &workerMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_task_runs_total",
			Help: "Task handler runs in this process by task type and result (ok or error)."}, []string{"type", "result"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_webhook_attempts_total",
			Help: "Webhook delivery attempts recorded by this process, by outcome (delivered, retry, gone, given_up)."}, []string{"outcome"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_message_sends_total",
			Help: "Message sends to a provider answered in this process, by channel and outcome (sent, retry, rate_limited, failed)."}, []string{"channel", "outcome"}),
		periodic: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "hub_periodic_last_success_timestamp_seconds",
			Help: "Unix time at which this process last ran the periodic task without error (absent until it has)."}, []string{"task"}),
		isPeriodic: map[string]bool{},
	}
	for _, p := range periodic {
		m.isPeriodic[p.Type] = true
	}
	for _, c := range []prometheus.Collector{m.runs, m.webhooks, m.sends, m.periodic} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// TaskDone implements tasks.Observer.
func (m *workerMetrics) TaskDone(taskType string, err error) {
	if err != nil {
		m.runs.WithLabelValues(taskType, "error").Inc()
		return
	}
	m.runs.WithLabelValues(taskType, "ok").Inc()
	if m.isPeriodic[taskType] {
		m.periodic.WithLabelValues(taskType).SetToCurrentTime()
	}
}

// webhookAttempted counts a recorded webhook attempt.
func (m *workerMetrics) webhookAttempted(o hub.AttemptOutcome) {
	m.webhooks.WithLabelValues(o.String()).Inc()
}

// countingLedger is the channel router's ledger that counts every provider
// answer it records.
type countingLedger struct {
	channels.Ledger
	sends *prometheus.CounterVec
}

// FinishSend implements channels.Ledger.
func (l countingLedger) FinishSend(ctx context.Context, o *hub.Outgoing, r hub.Receipt, sendErr error, final bool) (hub.SendOutcome, error) {
	out, err := l.Ledger.FinishSend(ctx, o, r, sendErr, final)
	if err == nil {
		l.count(o, sendErr, out)
	}
	return out, err
}

// FinishSends implements channels.Ledger.
func (l countingLedger) FinishSends(ctx context.Context, sent []hub.Sent, final bool) ([]hub.SendOutcome, error) {
	outs, err := l.Ledger.FinishSends(ctx, sent, final)
	if err == nil {
		for i := range min(len(sent), len(outs)) {
			l.count(sent[i].Out, sent[i].Err, outs[i])
		}
	}
	return outs, err
}

// FinishAndClaim implements channels.Ledger.
func (l countingLedger) FinishAndClaim(ctx context.Context, sent []hub.Sent, final bool, next []hub.DeliveryKey) ([]hub.SendOutcome, []hub.Claim, error) {
	outs, claims, err := l.Ledger.FinishAndClaim(ctx, sent, final, next)
	if err == nil {
		for i := range min(len(sent), len(outs)) {
			l.count(sent[i].Out, sent[i].Err, outs[i])
		}
	}
	return outs, claims, err
}

func (l countingLedger) count(o *hub.Outgoing, sendErr error, out hub.SendOutcome) {
	outcome := "failed"
	switch {
	case sendErr == nil:
		outcome = "sent"
	case out.RateLimited:
		outcome = "rate_limited"
	case out.Retry:
		outcome = "retry"
	}
	channel := ""
	if o != nil && o.Delivery != nil {
		channel = o.Delivery.Channel
	}
	l.sends.WithLabelValues(channel, outcome).Inc()
}
