package main

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

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
